# Typecheck, unit-test and build the browser bundles (root package).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_npm_ci "$VA_ROOT"
# tsconfig.json covers tests/e2e too, whose sidecar tests import the sidecar's built types.
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
cd "$VA_ROOT"
status=0
(cd mediasoup-sidecar && npm run build --silent) || status=1
npx tsc --noEmit -p tsconfig.json || status=1
npx vitest run --dir frontend --passWithNoTests --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/20-frontend.xml" || status=1
npm run build --silent || status=1
exit $status
