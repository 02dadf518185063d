// Bundles the demo page into dist/ (served by the sidecar at /demo/ when SIDECAR_DEMO=1).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
mkdirSync(`${here}dist`, { recursive: true });
await build({
	entryPoints: [`${here}src/main.ts`],
	outfile: `${here}dist/demo.js`,
	bundle: true,
	format: 'esm',
	target: 'es2022',
	minify: true,
	sourcemap: true,
	logLevel: 'warning',
});
copyFileSync(`${here}src/index.html`, `${here}dist/index.html`);
copyFileSync(`${here}src/demo.css`, `${here}dist/demo.css`);
copyFileSync(`${here}src/favicon.svg`, `${here}dist/favicon.svg`);
