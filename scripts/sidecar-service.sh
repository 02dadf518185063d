#!/usr/bin/env bash
# Controls the sidecar service that scripts/install-sidecar.sh installed:
#
#   scripts/sidecar-service.sh status|stop|start|restart [same options as install-sidecar.sh]
#
# status: the supervisor's state, the pid and /health (exit 0 running and ok,
#         1 running but not ok, 3 not running).
# stop:   drains (live calls get SIDECAR_DRAIN_GRACE_SEC, the outbox is
#         flushed) and waits until the process is gone; under pm2 also stops
#         pm2's daemon when no other app is left. Prints the exit status.
# start:  starts it when it is not running; restart: stops and starts it, with
#         the env file as it is now. Both wait until /health is ok.
# shellcheck source=scripts/lib-service.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-service.sh"
action="${1:-}"
[ $# -gt 0 ] && shift
va_service_options "$@"
supervisor="$(va_service_supervisor_installed)"
url="$(va_service_url)"

case "$action" in
  status)
    read -r state pid < <(va_service_process "$supervisor")
    case "$state" in
      online|active) ;;
      *) echo "$VA_SVC_NAME: not running ($supervisor: $state)"; exit 3 ;;
    esac
    health="$(va_service_health || true)"
    echo "$VA_SVC_NAME: running under $supervisor (pid $pid), $url/health: $health"
    echo "  logs: $VA_SVC_LOG_DIR/sidecar.log, sidecar-error.log"
    [ "$health" = ok ] ;;
  stop)
    read -r state pid < <(va_service_process "$supervisor")
    case "$state" in
      online|active|launching|activating|reloading) ;;
      *) echo "$VA_SVC_NAME: not running"; va_service_stop "$supervisor" >/dev/null 2>&1 || true; exit 0 ;;
    esac
    echo "Stopping $VA_SVC_NAME (pid $pid, $supervisor): live calls get SIDECAR_DRAIN_GRACE_SEC to end"
    out="$(va_service_stop "$supervisor" 2>&1)" || { echo "$out" >&2; exit 1; }
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then echo "$VA_SVC_NAME: pid $pid is still running" >&2; exit 1; fi
    code="$(va_service_exit_status "$supervisor")"
    echo "$VA_SVC_NAME: stopped (exit status ${code:-unknown})"
    [ "${code:-0}" = 0 ] ;;
  start|restart)
    [ -f "$VA_SIDECAR_DIR/dist/main.js" ] || { echo "not installed: run scripts/install-sidecar.sh" >&2; exit 1; }
    if [ "$action" = start ]; then
      read -r state _ < <(va_service_process "$supervisor")
      case "$state" in online|active) exec "$0" status "$@" ;; esac
    else
      out="$(va_service_stop "$supervisor" 2>&1)" || { echo "$out" >&2; exit 1; }
    fi
    out="$(va_service_start "$supervisor" 2>&1)" || { echo "$out" >&2; exit 1; }
    va_service_wait_healthy 60 || { echo "$VA_SVC_NAME: $url/health is not ok after 60 s (see $VA_SVC_LOG_DIR/sidecar-error.log)" >&2; exit 1; }
    echo "$VA_SVC_NAME: running under $supervisor, $url/health: ok" ;;
  *)
    echo "usage: scripts/sidecar-service.sh status|stop|start|restart [options]" >&2
    va_service_usage >&2
    exit 2 ;;
esac
