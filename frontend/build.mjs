// Bundles every frontend/**/*.entry.ts into voice_agent/public/dist/<name>.js
// (Frappe serves it as /assets/voice_agent/dist/<name>.js). Run by `yarn build`
// inside `bench build`, and by the test command. `--watch` rebuilds on change.
import { build, context } from "esbuild";
import { readdirSync, statSync } from "node:fs";
import { join, relative, basename } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const frontend = join(root, "frontend");

function findEntries(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    if (statSync(path).isDirectory()) return findEntries(path);
    return name.endsWith(".entry.ts") ? [path] : [];
  });
}

const entryPoints = Object.fromEntries(
  findEntries(frontend).map((path) => [basename(path, ".entry.ts"), path]),
);

const options = {
  entryPoints,
  outdir: join(root, "voice_agent/public/dist"),
  bundle: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: !process.argv.includes("--dev"),
  sourcemap: true,
  logLevel: "info",
  legalComments: "linked",
};

if (process.argv.includes("--watch")) {
  const ctx = await context(options);
  await ctx.watch();
} else {
  const result = await build({ ...options, metafile: true });
  for (const [out, meta] of Object.entries(result.metafile.outputs)) {
    if (out.endsWith(".js")) console.log(`${relative(root, out)}  ${(meta.bytes / 1024).toFixed(1)} KiB`);
  }
}
