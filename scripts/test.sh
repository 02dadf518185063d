#!/usr/bin/env bash
# Runs every test of the project: installs what it needs (Debian packages,
# the pinned Node 24, npm and PyPI packages, the mediasoup worker), then each
# suite in scripts/test.d/ in order. Every suite writes JUnit XML into
# $VA_RESULTS; the last line printed is the total: "N passed, N failed, N skipped".
#
#   scripts/test.sh            all suites
#   scripts/test.sh sidecar    only suites whose file name contains "sidecar"
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
set +e

export VA_RESULTS="$VA_ROOT/test-results"
rm -rf "$VA_RESULTS"; mkdir -p "$VA_RESULTS"

set -e
va_ensure_debian_packages "${VA_DEB_PACKAGES[@]}"
va_ensure_node
va_ensure_python
va_ensure_mediasoup_worker
set +e

filter="${1:-}"
status=0
for suite in "$VA_ROOT"/scripts/test.d/*.sh; do
  name="$(basename "$suite" .sh)"
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
  va_log "suite $name"
  start=$(date +%s)
  bash "$suite"
  rc=$?
  echo "suite $name exited $rc after $(( $(date +%s) - start ))s" >&2
  if [ $rc -ne 0 ]; then
    status=1
    # A failing step without a report of its own (a typecheck, lint, build, or a
    # crash) still counts as a failure in the total.
    python3 "$VA_ROOT/scripts/junit_summary.py" --record-crash "$VA_RESULTS/$name-exit.xml" "$name" "exited $rc"
  fi
done

python3 "$VA_ROOT/scripts/junit_summary.py" "$VA_RESULTS" || status=1
exit $status
