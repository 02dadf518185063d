#!/usr/bin/env bash
# Browser e2e of the sidecar's demo page: two Chromiums with fake microphones
# call each other through the real sidecar and a real mediasoup worker.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_ensure_mediasoup_worker
va_ensure_test_tooling
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
va_npm_ci "$VA_ROOT/mediasoup-sidecar/demo"
(cd "$VA_ROOT/mediasoup-sidecar" && npm run build --silent) || exit 1
(cd "$VA_ROOT/mediasoup-sidecar/demo" && npm run build --silent) || exit 1
cd "$VA_ROOT"
vitest run tests/e2e/sidecar- --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/50-e2e-sidecar.xml"
