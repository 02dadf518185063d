#!/usr/bin/env bash
# Browser e2e of the desk call panel and the invite page against the real
# sidecar CLI (Chromium with fake microphones; no Frappe: the harness fakes
# the calls endpoints).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_ensure_mediasoup_worker
va_yarn_install_bundles
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
(cd "$VA_ROOT/mediasoup-sidecar" && npm run build --silent) || exit 1
cd "$VA_ROOT"
yarn --silent build || exit 1
vitest run tests/e2e/call-panel- --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/60-e2e-call-panel.xml"
