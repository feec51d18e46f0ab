#!/usr/bin/env node
// Builds what the npm package ships besides the release .wasm: the TypeScript compiled to dist/
// (JS + .d.ts, tsconfig.build.json) and the files the code reads at run time next to it (.proto
// contracts, JSON Schemas), so dist/ works on its own. `npm pack` runs this through `prepack`.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const started = Date.now();
rmSync(dist, { recursive: true, force: true });
process.stdout.write('tsc -p tsconfig.build.json → dist/\n');
try {
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
} catch {
  console.error('build-package: tsc failed; its messages above name the file and line');
  process.exit(1);
}
const assets = [
  ['proto', (f) => f.endsWith('.proto')],
  ['common', (f) => f.endsWith('.json')],
];
for (const [dir, keep] of assets)
  cpSync(join(root, dir), join(dist, dir), {
    recursive: true,
    filter: (src) => statSync(src).isDirectory() || keep(src),
  });
chmodSync(join(dist, 'cli', 'main.js'), 0o755);
console.log(`build-package: dist/ ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
