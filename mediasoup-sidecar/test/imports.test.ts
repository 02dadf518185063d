import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const srcDir = path.resolve(import.meta.dirname, '..', 'src');

/** Every .ts file under src/, relative to it. */
function sourceFiles(dir = srcDir): string[] {
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return sourceFiles(full);
		return entry.name.endsWith('.ts') ? [path.relative(srcDir, full)] : [];
	});
}

/** The src/ files a file imports or re-exports from, type-only imports included (a cycle of types is still a cycle of design). */
function localImports(file: string): string[] {
	const text = readFileSync(path.join(srcDir, file), 'utf8');
	const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s+['"](\.[^'"]+)['"]/gm)].map((m) => m[1]!);
	return specifiers.map((s) => path.relative(srcDir, path.resolve(srcDir, path.dirname(file), s.replace(/\.js$/, '.ts'))));
}

/** Each import cycle once, as the list of files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
	const found = new Map<string, string[]>();
	const visit = (file: string, trail: string[]): void => {
		const at = trail.indexOf(file);
		if (at >= 0) {
			const cycle = trail.slice(at);
			const first = cycle.indexOf([...cycle].sort()[0]!);
			const canonical = [...cycle.slice(first), ...cycle.slice(0, first)];
			found.set(canonical.join(' > '), canonical);
			return;
		}
		for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
	};
	for (const file of graph.keys()) visit(file, []);
	return [...found.values()];
}

describe('src/ imports', () => {
	it('finds the files it checks (the parser still matches the code)', () => {
		const graph = new Map(sourceFiles().map((f) => [f, localImports(f)]));
		expect(graph.get('Sidecar.ts')).toContain('Room.ts');
		expect(graph.get('main.ts')).toContain('Sidecar.ts');
	});

	it('have no cycle', () => {
		const graph = new Map(sourceFiles().map((f) => [f, localImports(f)]));
		expect(cycles(graph).map((c) => c.join(' > '))).toEqual([]);
	});
});
