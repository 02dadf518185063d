/*
 * RTP load generator for the sidecar benchmark (not part of the product).
 *
 * Sends Opus-rate RTP (50 packets/s per party, 12-byte header + 160-byte
 * payload) from one UDP socket to every registered party port on loopback and
 * counts what comes back. Written in C with sendmmsg/recvmmsg because a Node
 * generator saturates its own core (~45k packets/s each way) before one
 * mediasoup worker does, which hides the worker's real ceiling.
 *
 * Commands on stdin, one per line:
 *   add PORT SSRC   start sending with SSRC to 127.0.0.1:PORT (a PlainTransport with comedia)
 *   drop PORT       stop sending to PORT (its transport was closed)
 *   stats           print "SENT RECEIVED SHORT" (totals since start) on stdout;
 *                   SHORT counts the received RTP packets smaller than the ones
 *                   sent (a WhatsApp leg's 3-byte Opus silence frames)
 *   pause / resume  stop and restart sending (receiving goes on), so two
 *                   loads can take turns on one machine
 * Parties are spread over SLICES sub-ticks of the 20 ms period, so the worker
 * sees a steady stream rather than one burst per period.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 20000000L /* 50 packets/s per party */
#define SLICES 20
#define PAYLOAD 160
#define PACKET (12 + PAYLOAD)
#define BATCH 64
#define MAX_PARTIES 20000

struct party {
	struct sockaddr_in addr;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t timestamp;
};

static struct party parties[MAX_PARTIES];
static int party_count;
static unsigned long long sent, received, received_short;
static int paused;
static long long next;

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void send_slice(int sock, int slice) {
	static unsigned char packets[BATCH][PACKET];
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	int n = 0;
	for (int i = slice; i < party_count; i += SLICES) {
		struct party *p = &parties[i];
		unsigned char *b = packets[n];
		b[0] = 0x80;
		b[1] = 100; /* Opus payload type of the benchmark's producers */
		b[2] = p->seq >> 8;
		b[3] = p->seq & 0xff;
		b[4] = p->timestamp >> 24;
		b[5] = (p->timestamp >> 16) & 0xff;
		b[6] = (p->timestamp >> 8) & 0xff;
		b[7] = p->timestamp & 0xff;
		b[8] = p->ssrc >> 24;
		b[9] = (p->ssrc >> 16) & 0xff;
		b[10] = (p->ssrc >> 8) & 0xff;
		b[11] = p->ssrc & 0xff;
		p->seq++;
		p->timestamp += 960;
		iovs[n] = (struct iovec){ .iov_base = b, .iov_len = PACKET };
		memset(&msgs[n], 0, sizeof msgs[n]);
		msgs[n].msg_hdr.msg_name = &p->addr;
		msgs[n].msg_hdr.msg_namelen = sizeof p->addr;
		msgs[n].msg_hdr.msg_iov = &iovs[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		if (++n == BATCH || i + SLICES >= party_count) {
			int done = 0;
			while (done < n) {
				int r = sendmmsg(sock, msgs + done, n - done, 0);
				if (r < 0) {
					if (errno == EINTR) continue;
					/* A full socket buffer drops the rest of this batch: it counts as sent and lost. */
					break;
				}
				done += r;
			}
			sent += n;
			n = 0;
		}
	}
}

static void drain(int sock) {
	static unsigned char buffers[BATCH][1500];
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iovs[i] = (struct iovec){ .iov_base = buffers[i], .iov_len = sizeof buffers[i] };
			memset(&msgs[i], 0, sizeof msgs[i]);
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int r = recvmmsg(sock, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (r <= 0) return;
		for (int i = 0; i < r; i++) {
			unsigned char type = buffers[i][1];
			/* RTP only: RTCP shares the port (rtcp-mux) and has 192..223 in that byte (RFC 5761). */
			if (msgs[i].msg_len >= 12 && (type < 192 || type > 223)) {
				received++;
				if (msgs[i].msg_len < PACKET)
					received_short++;
			}
		}
		if (r < BATCH) return;
	}
}

static void command(char *line) {
	int port;
	unsigned int ssrc;
	if (sscanf(line, "add %d %u", &port, &ssrc) == 2 && port > 0 && port < 65536 && party_count < MAX_PARTIES) {
		struct party *p = &parties[party_count];
		p->addr.sin_family = AF_INET;
		p->addr.sin_port = htons((uint16_t)port);
		p->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		p->ssrc = ssrc;
		party_count++;
	} else if (sscanf(line, "drop %d", &port) == 1) {
		for (int i = 0; i < party_count; i++) {
			if (ntohs(parties[i].addr.sin_port) == port)
				parties[i--] = parties[--party_count];
		}
	} else if (strcmp(line, "pause") == 0) {
		paused = 1;
	} else if (strcmp(line, "resume") == 0) {
		/* From now on: no burst to catch up the paused time. */
		if (paused) next = now_ns();
		paused = 0;
	} else if (strncmp(line, "stats", 5) == 0) {
		printf("%llu %llu %llu\n", sent, received, received_short);
		fflush(stdout);
	} else {
		fprintf(stderr, "rtp-load: bad command: %s\n", line);
	}
}

int main(void) {
	int sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0) { perror("socket"); return 1; }
	int size = 64 << 20;
	/* As root the FORCE variants lift net.core.[rw]mem_max; otherwise take what the kernel allows. */
	if (setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(sock, (struct sockaddr *)&local, sizeof local) < 0) { perror("bind"); return 1; }

	char input[4096];
	size_t used = 0;
	next = now_ns();
	int slice = 0;
	for (;;) {
		long long now = now_ns();
		while (now >= next) {
			if (!paused) send_slice(sock, slice);
			slice = (slice + 1) % SLICES;
			next += PERIOD_NS / SLICES;
		}
		/* Received packets wait in the (large) socket buffer until the next sub-tick: draining once per
		 * tick rather than waking on every packet keeps the generator's own CPU low, so it does not
		 * compete with the worker for the machine. */
		drain(sock);
		long long wait = next - now_ns();
		if (wait < 0) wait = 0;
		struct timespec timeout = { .tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL };
		struct pollfd fds[1] = { { .fd = STDIN_FILENO, .events = POLLIN } };
		if (ppoll(fds, 1, &timeout, NULL) < 0 && errno != EINTR) { perror("ppoll"); return 1; }
		if (fds[0].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(STDIN_FILENO, input + used, sizeof input - used - 1);
			if (r <= 0) return 0; /* the benchmark went away */
			used += (size_t)r;
			input[used] = 0;
			char *start = input, *nl;
			while ((nl = strchr(start, '\n'))) {
				*nl = 0;
				command(start);
				start = nl + 1;
			}
			used = strlen(start);
			memmove(input, start, used);
		}
	}
}
