#!/usr/bin/env bash
# Runs the mediasoup sidecar on embedded dev defaults: loopback, one worker, a
# generated secret, the demo page on, call events kept in a local outbox when
# FRAPPE_URL is not set. Installs what is missing first (Debian packages, the
# pinned Node 24, the mediasoup worker, npm packages) and builds.
# Any SIDECAR_* / FRAPPE_* variable set in the environment overrides a default
# (see docs/sidecar.md).
#
# The terminal gets one line per install or build step, then, once /health is
# ok, what is running, its URLs, its log files and how to stop it. Everything
# else goes to log files in $VA_LOG_DIR (default mediasoup-sidecar/var/log/):
# start.log (install and build output of this run) and sidecar.log (the
# sidecar's JSON logs), both started afresh by each run.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log_dir="$(realpath -m "${VA_LOG_DIR:-$VA_ROOT/mediasoup-sidecar/var/log}")"
sidecar_log="$log_dir/sidecar.log"
va_log_to "$log_dir/start.log"

va_ensure_node
va_ensure_mediasoup_worker
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
va_build_sidecar
cd "$VA_ROOT/mediasoup-sidecar"
# The demo page (mediasoup-sidecar/demo/, served from demo/dist/ at /demo/).
if [ -f demo/build.mjs ]; then
  va_log "Building the demo page"
  node demo/build.mjs
elif [ -f demo/package.json ] && grep -q '"build"' demo/package.json; then
  va_log "Building the demo page"
  (cd demo && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build)
fi

export SIDECAR_HOST="${SIDECAR_HOST:-127.0.0.1}"
export SIDECAR_NUM_WORKERS="${SIDECAR_NUM_WORKERS:-1}"
# The demo mints call tokens for anyone: on by default only when no Frappe is configured.
if [ -z "${FRAPPE_URL:-}" ]; then export SIDECAR_DEMO="${SIDECAR_DEMO:-1}"; fi

va_log "Starting the sidecar"
: >"$sidecar_log"
node dist/main.js >>"$sidecar_log" 2>&1 &
pid=$!
# Ctrl-C (or SIGTERM) drains the sidecar: no new calls, live calls end, the outbox is flushed.
stopping=0
stop() { stopping=1; kill -TERM "$pid" 2>/dev/null || true; }
trap stop INT TERM
# Whatever ends this script ends the sidecar too (it never outlives start.sh);
# an unexpected failure still shows the end of start.log.
reported=0
# shellcheck disable=SC2317 # run by the trap
on_exit() {
  local rc=$?
  kill -TERM "$pid" 2>/dev/null || true
  [ "$reported" = 1 ] || va_log_failed "$rc"
}
trap on_exit EXIT

sidecar_failed() { # message
  reported=1
  va_say "$1. Last lines of $sidecar_log:"
  tail -n 20 "$sidecar_log" | sed 's/^/  | /' >&3
}

# Where it listens (SIDECAR_PORT=0 picks a free port): its "sidecar listening" log line says.
url=""
health=""
for _ in $(seq 1 240); do
  kill -0 "$pid" 2>/dev/null || break
  [ -n "$url" ] || url="$(sed -n '/"msg":"sidecar listening"/s/.*"url":"\([^"]*\)".*/\1/p' "$sidecar_log" | head -n 1)"
  if [ -n "$url" ]; then
    health="$(node -e 'fetch(process.argv[1]).then((r) => r.json()).then((h) => console.log(h.status), () => {})' "$url/health" || true)"
    [ "$health" = ok ] && break
  fi
  sleep 0.5
done
if [ "$health" != ok ]; then
  if kill -0 "$pid" 2>/dev/null; then
    sidecar_failed "The sidecar did not report healthy within 120 s (health: ${health:-no answer}); stopping it"
    stop
    wait "$pid" || true
  else
    rc=0; wait "$pid" || rc=$?
    sidecar_failed "The sidecar exited with status $rc while starting"
  fi
  exit 1
fi

workers="$SIDECAR_NUM_WORKERS worker"; [ "$SIDECAR_NUM_WORKERS" = 1 ] || workers+="s"
va_say ""
va_say "The voice_agent sidecar is running (pid $pid, $workers, listening on $url)."
if [ "${SIDECAR_DEMO:-0}" = 1 ]; then
  va_say "  demo page  $url/demo/  (open it in two tabs to call from one to the other)"
fi
va_say "  health     $url/health"
if [ -n "${FRAPPE_URL:-}" ]; then
  va_say "  events     sent to $FRAPPE_URL"
else
  va_say "  events     kept in ${SIDECAR_OUTBOX_PATH:-$VA_ROOT/mediasoup-sidecar/var/outbox} (FRAPPE_URL is not set)"
fi
va_say "  logs       $sidecar_log (the sidecar's JSON logs)"
va_say "             $VA_LOG_FILE (install and build output of this run)"
va_say "  stop       Ctrl-C: live calls end, the outbox is flushed, then it exits"

# Until the sidecar exits (a signal interrupts wait: then wait for the drain).
rc=0
while :; do
  rc=0; wait "$pid" || rc=$?
  kill -0 "$pid" 2>/dev/null || break
done
if [ $rc -gt 128 ]; then
  r=0; wait "$pid" 2>/dev/null || r=$?
  [ $r = 127 ] || rc=$r
fi
[ ! -t 3 ] || va_say ""   # after the terminal's ^C
if [ $stopping = 1 ] && [ $rc = 0 ]; then
  reported=1
  va_say "Stopped (exit status 0)."
else
  sidecar_failed "The sidecar exited with status $rc"
fi
exit $rc
