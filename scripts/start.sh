#!/usr/bin/env bash
# Runs the mediasoup sidecar on embedded dev defaults: loopback, one worker, a
# generated secret, the demo page on, call events kept in a local outbox when
# FRAPPE_URL is not set. Installs what is missing first (Debian packages, the
# pinned Node 24, the mediasoup worker, npm packages) and builds.
# Any SIDECAR_* / FRAPPE_* variable set in the environment overrides a default
# (see docs/sidecar.md).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

va_ensure_debian_packages "${VA_DEB_PACKAGES[@]}"
va_ensure_node
va_ensure_mediasoup_worker
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
cd "$VA_ROOT/mediasoup-sidecar"
va_log "Building the sidecar"
npm run --silent build
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
va_log "Starting the sidecar (Ctrl-C drains and stops it)"
exec node dist/main.js
