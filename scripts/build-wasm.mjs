#!/usr/bin/env node
// Builds every proxy-wasm module: each filters/<name>/asconfig.json (release + debug) and every
// probe filter under test/host/probes/*.ts and test/sdk/probes/*.ts (debug only). Outputs go to build/.
// --if-stale skips a module whose output is newer than every AssemblyScript source it may use.
// --only <filter> builds that filter alone (no probes), --target release|debug one variant: what
// `sidecast start` runs (`--only event-emitter --target release`) costs one compile, not twelve.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build');
const ifStale = process.argv.includes('--if-stale');
const flag = (name) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const only = flag('--only');
const onlyTarget = flag('--target');
if (onlyTarget !== undefined && onlyTarget !== 'release' && onlyTarget !== 'debug') {
  console.error(`build-wasm: --target must be release or debug, got ${onlyTarget}`);
  process.exit(2);
}
if (only !== undefined && !existsSync(join(root, 'filters', only, 'asconfig.json'))) {
  console.error(`build-wasm: --only ${only}: no filters/${only}/asconfig.json`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

function newest(dir) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const asc = join(root, 'node_modules', '.bin', 'asc');
const sdkTime = Math.max(
  newest(join(root, 'filters', 'sdk')),
  statSync(join(root, 'filters', 'asconfig.base.json')).mtimeMs,
);
const jobs = [];
for (const name of readdirSync(join(root, 'filters'))) {
  const cfg = join(root, 'filters', name, 'asconfig.json');
  if (name === 'sdk' || !existsSync(cfg) || (only !== undefined && name !== only)) continue;
  const srcTime = Math.max(sdkTime, newest(join(root, 'filters', name)));
  for (const target of onlyTarget ? [onlyTarget] : ['release', 'debug']) {
    const file = join(out, target === 'release' ? `${name}.wasm` : `${name}.debug.wasm`);
    jobs.push({ srcTime, file, args: ['--config', cfg, '--target', target, '--outFile', file] });
  }
}
// Probe filters (debug only): test/host/probes → build/probes, test/sdk/probes → build/sdk-probes.
for (const [dir, outDir] of [
  [join(root, 'test', 'host', 'probes'), join(out, 'probes')],
  [join(root, 'test', 'sdk', 'probes'), join(out, 'sdk-probes')],
]) {
  if (!existsSync(dir) || only !== undefined) continue;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const file = join(outDir, f.replace(/\.ts$/, '.wasm'));
    const srcTime = Math.max(sdkTime, statSync(join(dir, f)).mtimeMs);
    jobs.push({
      srcTime,
      file,
      args: [
        join(dir, f),
        '--config',
        join(root, 'filters', 'asconfig.base.json'),
        '--target',
        'debug',
        '--outFile',
        file,
      ],
    });
  }
}
const todo = jobs.filter(
  (job) => !(ifStale && existsSync(job.file) && statSync(job.file).mtimeMs > job.srcTime),
);
const started = Date.now();
let built = 0;
for (const job of todo) {
  mkdirSync(join(job.file, '..'), { recursive: true });
  const t0 = Date.now();
  process.stdout.write(`[${built + 1}/${todo.length}] asc → ${relative(root, job.file)}`);
  try {
    execFileSync(asc, job.args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
    process.stdout.write(` (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  } catch {
    process.stdout.write('\n');
    console.error(
      `build-wasm: asc failed for ${relative(root, job.file)}; the compiler's messages above name the file and line`,
    );
    process.exit(1);
  }
  built++;
}
console.log(
  `build-wasm: ${built} module(s) built in ${((Date.now() - started) / 1000).toFixed(1)} s, ${jobs.length - built} up to date, in ${relative(process.cwd(), out) || '.'}/`,
);
