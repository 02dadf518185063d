#!/usr/bin/env bash
# The README's first command, scripts/start.sh, run as a user would (in the
# background here, on free ports, logs in a temp dir): its terminal output is
# one line per step and, once /health is ok, a closing block saying what runs,
# where (demo page, health, log files) and how to stop it; no build output and
# no JSON logs. Then SIGTERM (what Ctrl-C does): it drains and exits 0.
# Reuses the cached worker and the packages and builds of the earlier suites.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_ensure_mediasoup_worker
cd "$VA_ROOT"

tmp="$(mktemp -d)"
out="$tmp/terminal.out"
logs="$tmp/log"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

start=$SECONDS
VA_LOG_DIR="$logs" SIDECAR_PORT=0 SIDECAR_RTC_PORT=0 SIDECAR_OUTBOX_PATH="$tmp/outbox" \
  scripts/start.sh >"$out" 2>&1 &
pid=$!
# Until the closing block's last line is there, or start.sh is gone (3 min: the
# worker is built above; a cold npm ci and build take about one).
for _ in $(seq 1 360); do
  grep -q '^  stop ' "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
echo "start.sh ready after $((SECONDS - start)) s; its terminal output:"
sed 's/^/  | /' "$out"

block_start="$(grep -n '^The voice_agent sidecar is running' "$out" | head -n 1 | cut -d: -f1 || true)"
demo_url="$(sed -n 's/^  demo page  \(http[^ ]*\).*/\1/p' "$out")"
health_url="$(sed -n 's/^  health     \(http[^ ]*\).*/\1/p' "$out")"
sidecar_pid="$(sed -n 's/^The voice_agent sidecar is running (pid \([0-9]*\),.*/\1/p' "$out")"
http_get() { # url -> status code and body
  node -e 'fetch(process.argv[1]).then(async (r) => console.log(r.status, await r.text()), () => console.log(0))' "$1"
}
ends_with_block() { [ -n "$block_start" ] && [ "$(tail -n 1 "$out" | cut -c1-7)" = "  stop " ]; }
only_steps_before_block() {
  # Every line before the block: blank or a "==> step" headline.
  [ -n "$block_start" ] && ! head -n "$((block_start - 1))" "$out" | grep -v '^$' | grep -qv '^==> '
}
no_noise() {
  # Nothing of npm, tsc, esbuild or the sidecar's JSON logs.
  ! grep -qE '^\{|"level":|added [0-9]+ packages|npm (warn|error)|KiB|kb$|error TS|Demo page:' "$out"
}
block_has() { [ -n "$block_start" ] && sed -n "${block_start},\$p" "$out" | grep -qF -- "$1"; }
demo_ok() { [ -n "$demo_url" ] && http_get "$demo_url" | grep -q '^200 '; }
health_ok() { [ -n "$health_url" ] && http_get "$health_url" | grep -q '"status":"ok"'; }

va_check "start.sh ends with the block saying what runs and how to stop it" ends_with_block
va_check "before it, only one line per step" only_steps_before_block
va_check "no build output and no JSON logs on the terminal" no_noise
va_check "the block gives the demo page, which serves" demo_ok
va_check "the block gives /health, which says ok" health_ok
va_check "the block names the sidecar's log file" block_has "$logs/sidecar.log"
va_check "and the install and build log" block_has "$logs/start.log"
va_check "and how to stop it" block_has "Ctrl-C"
va_check "the sidecar's JSON logs are in its log file" grep -q '"msg":"sidecar listening"' "$logs/sidecar.log"
va_check "start.log has this run's steps" grep -q '^==> Starting the sidecar' "$logs/start.log"

rc=0
kill -TERM "$pid"
wait "$pid" || rc=$?
pid=""
echo "after SIGTERM:"
sed -n "$(( $(wc -l <"$out") )),\$p" "$out" | sed 's/^/  | /'
gone() { [ -n "$sidecar_pid" ] && ! kill -0 "$sidecar_pid" 2>/dev/null; }
va_check "SIGTERM (Ctrl-C) stops it with exit status 0" [ "$rc" = 0 ]
va_check "saying so" grep -q '^Stopped (exit status 0)' "$out"
va_check "the sidecar process is gone" gone
va_check "after draining (sidecar closed)" grep -q '"msg":"sidecar closed"' "$logs/sidecar.log"
echo "suite took $((SECONDS - start)) s"
va_checks_report 80-start
