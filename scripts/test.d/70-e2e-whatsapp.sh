#!/usr/bin/env bash
# Browser e2e of the WhatsApp desk UI (the record's panel and the shared inbox): Chromium against
# a Node fake of Frappe's WhatsApp endpoints (every answer checked against
# contracts/whatsapp-api.schema.json) that runs the app's pure Python, behind which the loopback
# fake of Meta's Graph API (tests/fakes/whatsapp) accepts sends and posts signed webhooks; and the
# desk side of WhatsApp calls (the incoming-call popup, the call panel's WhatsApp mode), whose join
# answers open rooms on the real sidecar.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_debian_packages chromium fonts-liberation
va_ensure_node
va_ensure_mediasoup_worker
va_yarn_install_bundles
# ajv and ajv-formats (the contract's validator) come with the sidecar's packages, built for the
# calls test's sidecar.
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
(cd "$VA_ROOT/mediasoup-sidecar" && npm run build --silent) || exit 1
va_ensure_python
cd "$VA_ROOT"
yarn --silent build >/dev/null || exit 1
vitest run tests/e2e/whatsapp- --testTimeout=60000 --hookTimeout=90000 --fileParallelism=false \
  --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/70-e2e-whatsapp.xml"
