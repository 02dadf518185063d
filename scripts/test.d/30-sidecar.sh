#!/usr/bin/env bash
# mediasoup sidecar: strict typecheck, then the integration suite against a real
# mediasoup worker, real socket.io and the real CLI (vitest builds dist/ first).
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_ensure_mediasoup_worker
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
cd "$VA_ROOT/mediasoup-sidecar"
status=0
npx tsc --noEmit -p tsconfig.json || status=1
npx vitest run --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/30-sidecar.xml" || status=1
exit $status
