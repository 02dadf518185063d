#!/usr/bin/env bash
# The operators' command exactly as the README gives it, scripts/install-sidecar.sh,
# with test paths (env file, logs, PM2_HOME in a temp dir) and a free port, under
# pm2 (CI has no systemd): it must come up healthy with a generated secret in a
# 0600 env file that no log contains; a second run keeps that file as it is and
# restarts the service; scripts/sidecar-service.sh status and stop: the process
# drains, exits 0 and is gone, and so is pm2's daemon.
# Reuses the cached worker and the installed packages of the earlier suites.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_ensure_mediasoup_worker
cd "$VA_ROOT"

tmp="$(mktemp -d)"
export PM2_HOME="$tmp/pm2"
env_file="$tmp/etc/sidecar.env"
logs="$tmp/log"
export VA_LOGROTATE_FILE="$tmp/logrotate.d/voice-agent-sidecar"
mkdir -p "$(dirname "$VA_LOGROTATE_FILE")"
opts=(--supervisor pm2 --env-file "$env_file" --log-dir "$logs")
pm2_bin="$VA_ROOT/mediasoup-sidecar/node_modules/.bin/pm2"
cleanup() {
  # Whatever a failed check left running: this PM2_HOME's daemon and its app.
  if [ -f "$PM2_HOME/pm2.pid" ] && kill -0 "$(cat "$PM2_HOME/pm2.pid")" 2>/dev/null; then
    "$pm2_bin" kill >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
url="http://127.0.0.1:$port"

# GET $1 with Bearer $2 ("" = none): prints the HTTP status.
http_status() {
  # shellcheck disable=SC2016 # JavaScript
  node -e '
    const [url, token] = process.argv.slice(1);
    fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })
      .then((r) => console.log(r.status), () => console.log(0));
  ' "$1" "$2"
}
health_ok() { [ "$(node -e 'fetch(process.argv[1]).then((r) => r.json()).then((h) => console.log(h.status), () => console.log("down"))' "$url/health")" = ok ]; }
secret() { sed -n 's/^SIDECAR_SECRET=//p' "$env_file" | tail -n 1; }
# Never pass the secret itself to va_check: its command line lands in the report.
secret_is_generated() { [[ "$(secret)" =~ ^[0-9a-f]{64}$ ]]; }
secret_nowhere_in() { ! grep -rqF -- "$(secret)" "$@"; }
api_takes_the_secret() { [ "$(http_status "$url/api/rooms/no-such-call" "$(secret)")" = 404 ] && [ "$(http_status "$url/api/rooms/no-such-call" "")" = 401 ]; }
status_pid() { scripts/sidecar-service.sh status "${opts[@]}" | sed -n 's/.*(pid \([0-9]*\)).*/\1/p'; }
status_exit() { local rc=0; scripts/sidecar-service.sh status "${opts[@]}" >/dev/null || rc=$?; [ "$rc" = "$1" ]; }
terminal_quiet() { grep -q "details in $logs/install.log" "$1" && ! grep -qF "[PM2]" "$1"; }
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ]; }
last_exit_code_0() { grep 'voice-agent-sidecar' "$PM2_HOME/pm2.log" | grep 'exited with code' | tail -n 1 | grep -qF 'exited with code [0]'; }
# pm2 ran (its log is there) and its daemon is no more.
pm2_daemon_gone() { [ -f "$PM2_HOME/pm2.log" ] && { [ ! -f "$PM2_HOME/pm2.pid" ] || ! kill -0 "$(cat "$PM2_HOME/pm2.pid")" 2>/dev/null; }; }

start=$SECONDS
rc=0
SIDECAR_PORT="$port" SIDECAR_RTC_PORT=0 SIDECAR_NUM_WORKERS=1 SIDECAR_OUTBOX_PATH="$tmp/outbox" \
  scripts/install-sidecar.sh "${opts[@]}" >"$tmp/install-1.out" 2>&1 || rc=$?
sed 's/^/  install | /' "$tmp/install-1.out"
echo "install took $((SECONDS - start)) s"
va_check "install-sidecar.sh exits 0" [ "$rc" = 0 ]
va_check "it ends saying where the service runs and how to stop it" grep -q "stop      PM2_HOME=$PM2_HOME scripts/sidecar-service.sh stop" "$tmp/install-1.out"
va_check "/health answers ok" health_ok
va_check "the env file is created with mode 0600" mode_is "$env_file" 600
va_check "with a generated SIDECAR_SECRET (32 random bytes, hex)" secret_is_generated
va_check "and the settings of the environment it ran in" grep -qx "SIDECAR_PORT=$port" "$env_file"
va_check "the service uses that secret (Bearer accepted, none refused)" api_takes_the_secret
va_check "the sidecar's JSON logs go to the log dir" grep -q '"msg":"sidecar listening"' "$logs/sidecar.log"
va_check "install and pm2 output go to install.log" grep -q "Starting voice-agent-sidecar under pm2" "$logs/install.log"
va_check "not to the terminal" terminal_quiet "$tmp/install-1.out"
va_check "status exits 0 while running and healthy" status_exit 0
pid1="$(status_pid || true)"
va_check "status gives the pid" [ -n "$pid1" ]

# Run again with another port in the environment: the env file keeps its own.
sum="$(sha256sum "$env_file" || true)"
rc=0
t=$SECONDS
SIDECAR_PORT="$(free_port)" scripts/install-sidecar.sh "${opts[@]}" >"$tmp/install-2.out" 2>&1 || rc=$?
sed 's/^/  re-run | /' "$tmp/install-2.out"
echo "re-run took $((SECONDS - t)) s"
va_check "a second run exits 0" [ "$rc" = 0 ]
unchanged() { [ -n "$sum" ] && [ "$(sha256sum "$env_file")" = "$sum" ]; }
va_check "and leaves the env file as it was" unchanged
va_check "saying it kept SIDECAR_PORT from the file" grep -q "Kept SIDECAR_PORT" "$tmp/install-2.out"
va_check "the service was restarted on the same port" health_ok
pid2="$(status_pid || true)"
restarted() { [ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && gone "$pid1"; }
va_check "as a new process, the old one gone" restarted

# As root (CI) the logs get a logrotate rule; rotating them while the sidecar runs
# must leave it writing to the same sidecar.log (checked at the stop below).
rotate_now() {
  logrotate -f -s "$tmp/logrotate.state" "$VA_LOGROTATE_FILE" &&
    grep -q '"msg":"sidecar listening"' "$logs/sidecar.log.1" && ! grep -q '"msg":"sidecar listening"' "$logs/sidecar.log"
}
if [ "$(id -u)" = 0 ]; then
  va_check "as root, it writes a logrotate rule for the three logs" grep -qF "$logs/sidecar.log $logs/sidecar-error.log $logs/install.log {" "$VA_LOGROTATE_FILE"
  va_check "and says so" grep -qF "rotated by logrotate ($VA_LOGROTATE_FILE)" "$tmp/install-2.out"
  va_check "logrotate rotates them while the sidecar runs" rotate_now
fi

rc=0
t=$SECONDS
scripts/sidecar-service.sh stop "${opts[@]}" >"$tmp/stop.out" 2>&1 || rc=$?
sed 's/^/  stop | /' "$tmp/stop.out"
echo "stop took $((SECONDS - t)) s"
va_check "stop exits 0" [ "$rc" = 0 ]
va_check "the sidecar process is gone" gone "$pid2"
va_check "it exited with status 0" last_exit_code_0
va_check "after draining (sidecar closed, written to sidecar.log even after a rotation)" grep -q '"msg":"sidecar closed"' "$logs/sidecar.log"
va_check "pm2's daemon is gone too" pm2_daemon_gone
va_check "status exits 3 once stopped" status_exit 3
health_gone() { [ -n "$pid2" ] && [ "$(http_status "$url/health" "")" = 0 ]; }
va_check "/health no longer answers" health_gone
va_check "the secret is in no log, no pm2 file and no output" secret_nowhere_in "$logs" "$PM2_HOME" "$tmp"/*.out
# Where systemd runs, the same command installs a unit instead of using pm2:
# here (no systemd) at least the unit it writes must pass systemd's own check.
unit_verifies() {
  (source scripts/lib-service.sh && va_service_options "${opts[@]}" && va_systemd_unit) >"$tmp/voice-agent-sidecar.service" &&
    systemd-analyze verify "$tmp/voice-agent-sidecar.service"
}
if command -v systemd-analyze >/dev/null; then
  va_check "the systemd unit it would write passes systemd-analyze verify" unit_verifies
fi
echo "suite took $((SECONDS - start)) s"
va_checks_report 70-sidecar-service
