#!/usr/bin/env bash
# Typecheck, unit-test and build the browser bundles (root package), installed
# as a bench installs them (yarn 1 with yarn.lock) and built with `yarn build`,
# which is what `bench build --app voice_agent` runs in the app.
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
va_ensure_node
va_yarn_install_bundles
# tsconfig.json covers tests/e2e too, whose sidecar tests import the sidecar's built types.
va_npm_ci "$VA_ROOT/mediasoup-sidecar"
cd "$VA_ROOT"
status=0
# What bench's `yarn install` put in node_modules: the bundles' libraries and
# esbuild (whose install script only checks its prebuilt binary), never test
# tooling nor a native build (DESIGN.md §3).
node --input-type=module - <<'JS' || status=1
import { existsSync, readdirSync, readFileSync } from "node:fs";
const tooling = ["vitest", "vite", "typescript", "playwright-core", "@types/node", "yarn", "mediasoup"];
const problems = tooling.filter((name) => existsSync(`node_modules/${name}`)).map((name) => `${name} (test tooling or the sidecar)`);
const dirs = readdirSync("node_modules").filter((d) => !d.startsWith("."))
  .flatMap((d) => (d.startsWith("@") ? readdirSync(`node_modules/${d}`).map((s) => `${d}/${s}`) : [d]));
for (const name of dirs) {
  const dir = `node_modules/${name}`;
  if (!existsSync(`${dir}/package.json`)) continue;
  const scripts = JSON.parse(readFileSync(`${dir}/package.json`, "utf8")).scripts ?? {};
  const hooks = ["preinstall", "install", "postinstall"].filter((k) => scripts[k]);
  if (existsSync(`${dir}/binding.gyp`)) problems.push(`${name} (native build: binding.gyp)`);
  else if (hooks.length && name !== "esbuild") problems.push(`${name} (install script: ${hooks.join(", ")})`);
}
if (problems.length) {
  console.error(`yarn install of the root package.json pulled what an ERPNext server must not get:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`root node_modules: ${dirs.length} packages, no test tooling, no native build`);
JS
(cd mediasoup-sidecar && npm run build --silent) || status=1
tsc --noEmit -p tsconfig.json || status=1
vitest run --dir frontend --reporter=default --reporter=junit --outputFile.junit="$VA_RESULTS/20-frontend.xml" || status=1
yarn --silent build || status=1

# A bench runs that install and build under its own Node (18 or 20 for Frappe
# v15), not ours: do it again, in a scratch copy, with the machine's node
# (Debian's when it has none) and check it builds the very same bundles.
bench_node="$(PATH=/usr/local/bin:/usr/bin:/bin command -v node || true)"
if [ -z "$bench_node" ]; then va_ensure_debian_packages nodejs; bench_node=/usr/bin/node; fi
scratch="$(mktemp -d)"
cp -r package.json yarn.lock .yarnrc tsconfig.json frontend contracts "$scratch/"
mkdir -p "$scratch/voice_agent/public"
echo "yarn install and yarn build under $bench_node ($("$bench_node" --version)), as bench does"
if (cd "$scratch" && PATH="$(dirname "$bench_node"):$PATH" && export PATH &&
    "$VA_ROOT/tests/node_modules/.bin/yarn" install --frozen-lockfile --non-interactive --no-progress --silent &&
    "$VA_ROOT/tests/node_modules/.bin/yarn" --silent build >/dev/null); then
  for bundle in voice_agent/public/dist/*.js; do
    cmp -s "$bundle" "$scratch/$bundle" || { echo "$bundle differs when built under $bench_node" >&2; status=1; }
  done
else
  echo "the bundles do not install or build under $bench_node with yarn" >&2
  status=1
fi
rm -rf "$scratch"
exit $status
