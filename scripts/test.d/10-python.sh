#!/usr/bin/env bash
# Static checks and pure-logic tests of the Python app and the contracts (no
# Frappe), and shellcheck of the operators' and the project's shell scripts.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_python
cd "$VA_ROOT"
status=0
ruff check voice_agent contracts tests/python tests/fakes || status=1
va_ensure_debian_packages shellcheck
git ls-files -z '*.sh' .ci/run | xargs -0 shellcheck -x || status=1
pytest -q -p no:cacheprovider --junitxml="$VA_RESULTS/10-python.xml" tests/python || status=1
exit $status
