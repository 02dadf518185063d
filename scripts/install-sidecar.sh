#!/usr/bin/env bash
# Installs the mediasoup sidecar as a service on this host and starts it; run
# it again to upgrade (it rebuilds what changed and restarts the service).
#
#   sudo scripts/install-sidecar.sh [--env-file FILE] [--log-dir DIR] [--supervisor auto|systemd|pm2] [--user USER]
#
# Installs what is missing (Debian packages, the pinned Node 24, the mediasoup
# worker: prebuilt when GitHub is reachable, else built offline; npm packages,
# pm2 among them), builds, writes the env file once (a generated SIDECAR_SECRET,
# and SIDECAR_*/FRAPPE_* variables set in this environment), then starts the
# sidecar under systemd (when it runs this host) or pm2, and waits until
# /health says ok. Status, stop, start, restart: scripts/sidecar-service.sh.
# Build and install output goes to <log dir>/install.log.
# shellcheck source=scripts/lib-service.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-service.sh"
va_service_options "$@"
supervisor="$(va_service_supervisor_for_install)"

mkdir -p "$VA_SVC_LOG_DIR"
va_log_to "$VA_SVC_LOG_DIR/install.log"
va_say "Installing the voice_agent sidecar as a service ($supervisor); details in $VA_LOG_FILE"

va_ensure_node
va_ensure_mediasoup_worker
va_npm_ci "$VA_SIDECAR_DIR"
va_build_sidecar
# The service runs without MEDIASOUP_WORKER_BIN: an offline-built worker goes
# where mediasoup looks by default (where its prebuilt download would be).
if [ -n "${MEDIASOUP_WORKER_BIN:-}" ]; then
  release="$VA_SIDECAR_DIR/node_modules/mediasoup/worker/out/Release"
  if ! cmp -s "$MEDIASOUP_WORKER_BIN" "$release/mediasoup-worker"; then
    va_log "Putting the mediasoup worker ($MEDIASOUP_WORKER_BIN) at mediasoup's default path"
    mkdir -p "$release"
    install -m 0755 "$MEDIASOUP_WORKER_BIN" "$release/mediasoup-worker"
  fi
fi

va_service_env_file

if [ "$supervisor" = systemd ]; then
  chown "$VA_SVC_USER" "$VA_SVC_LOG_DIR"
  unit="$(va_systemd_unit)"
  if [ "$(cat "$VA_UNIT_FILE" 2>/dev/null || true)" != "$unit" ]; then
    va_log "Writing $VA_UNIT_FILE"
    printf '%s\n' "$unit" >"$VA_UNIT_FILE"
  fi
fi
if [ "$(id -u)" = 0 ]; then
  va_ensure_debian_packages logrotate
  rotation="$(va_logrotate_config)"
  if [ "$(cat "$VA_LOGROTATE_FILE" 2>/dev/null || true)" != "$rotation" ]; then
    va_log "Writing $VA_LOGROTATE_FILE"
    printf '%s\n' "$rotation" >"$VA_LOGROTATE_FILE"
  fi
fi
va_log "Starting $VA_SVC_NAME under $supervisor"
va_service_start "$supervisor"

url="$(va_service_url)"
if ! va_service_wait_healthy 60; then
  va_say "The sidecar did not answer ok at $url/health within 60 s. Its error log ($VA_SVC_LOG_DIR/sidecar-error.log) ends with:"
  tail -n 20 "$VA_SVC_LOG_DIR/sidecar-error.log" 2>/dev/null | sed 's/^/  | /' >&3 || true
  trap - EXIT
  exit 1
fi
read -r state pid < <(va_service_process "$supervisor")
va_say ""
va_say "The voice_agent sidecar is running ($state under $supervisor, pid $pid)."
va_say "  health    $url/health"
va_say "  settings  $VA_SVC_ENV_FILE (mode 0600; after editing it: $VA_SVC_CTL restart$VA_SVC_CTL_OPTS)"
va_say "  logs      $VA_SVC_LOG_DIR/sidecar.log, sidecar-error.log (install output: install.log)"
if [ "$(id -u)" = 0 ]; then
  va_say "            rotated by logrotate ($VA_LOGROTATE_FILE)"
else
  va_say "            not rotated: run this as root, or rotate them yourself (pm2-logrotate, logrotate)"
fi
va_say "  status    $VA_SVC_CTL status$VA_SVC_CTL_OPTS"
va_say "  stop      $VA_SVC_CTL stop$VA_SVC_CTL_OPTS"
if [ "$supervisor" = pm2 ]; then
  va_say "  pm2 restarts it when it crashes, not after a reboot (systemd does: install as root where systemd runs)."
fi
exit 0
