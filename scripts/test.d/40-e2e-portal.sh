#!/usr/bin/env bash
# Browser e2e of the /voice-agent page and the website widget: Chromium (playwright-core)
# against a Node stand-in for Frappe's endpoints and the python fake Ultravox (join socket).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_debian_packages chromium fonts-liberation
va_ensure_node
va_yarn_install_bundles
va_ensure_python
cd "$VA_ROOT"
yarn --silent build >/dev/null
vitest run --dir tests/e2e portal- --testTimeout=30000 --hookTimeout=60000 --fileParallelism=false \
  --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/40-e2e-portal.xml"
