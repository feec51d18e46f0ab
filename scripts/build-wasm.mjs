#!/usr/bin/env node
// Builds every proxy-wasm module: each filters/<name>/asconfig.json (release + debug) and every
// probe filter under test/host/probes/*.ts and test/sdk/probes/*.ts (debug only). Outputs go to build/.
// --if-stale skips a module whose output is newer than every AssemblyScript source it may use.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'build');
const ifStale = process.argv.includes('--if-stale');
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
  if (name === 'sdk' || !existsSync(cfg)) continue;
  const srcTime = Math.max(sdkTime, newest(join(root, 'filters', name)));
  for (const target of ['release', 'debug']) {
    const file = join(out, target === 'release' ? `${name}.wasm` : `${name}.debug.wasm`);
    jobs.push({ srcTime, file, args: ['--config', cfg, '--target', target, '--outFile', file] });
  }
}
// Probe filters (debug only): test/host/probes → build/probes, test/sdk/probes → build/sdk-probes.
for (const [dir, outDir] of [
  [join(root, 'test', 'host', 'probes'), join(out, 'probes')],
  [join(root, 'test', 'sdk', 'probes'), join(out, 'sdk-probes')],
]) {
  if (!existsSync(dir)) continue;
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
let built = 0;
for (const job of jobs) {
  if (ifStale && existsSync(job.file) && statSync(job.file).mtimeMs > job.srcTime) continue;
  mkdirSync(join(job.file, '..'), { recursive: true });
  process.stdout.write(`asc → ${relative(root, job.file)}\n`);
  try {
    execFileSync(asc, job.args, { stdio: 'inherit', cwd: root });
  } catch {
    console.error(
      `build-wasm: asc failed for ${relative(root, job.file)}; the compiler's messages above name the file and line`,
    );
    process.exit(1);
  }
  built++;
}
console.log(
  `build-wasm: ${built} module(s) built, ${jobs.length - built} up to date, in ${relative(process.cwd(), out) || '.'}/`,
);
