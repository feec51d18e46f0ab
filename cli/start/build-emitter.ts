// `sidecast start` needs one wasm module: the release event-emitter for the demo sidecar. From a
// source checkout it is (re)built when stale — that one module, not the test probes and debug
// builds `npm test` needs — with progress and timing; an installed package ships it prebuilt.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { progress } from '../progress.js';

/** Builds build/event-emitter.wasm when the sources are newer; resolves to its path (or null if there is none). */
export async function ensureEmitterWasm(root: string, signal?: AbortSignal): Promise<string | null> {
  const wasm = join(root, 'build', 'event-emitter.wasm');
  const script = join(root, 'scripts', 'build-wasm.mjs');
  if (!existsSync(join(root, 'filters', 'event-emitter')) || !existsSync(script))
    return existsSync(wasm) ? wasm : null;
  const p = progress('event-emitter.wasm (release build for the demo sidecar)');
  const child = spawn(
    process.execPath,
    [script, '--if-stale', '--only', 'event-emitter', '--target', 'release'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], signal },
  );
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  child.on('error', () => undefined); // an abort kills it; the exit below reports that
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (signal?.aborted) {
    p.fail('stopped');
    return null;
  }
  if (code !== 0) {
    p.fail('build failed');
    throw new Error(`building the event-emitter failed:\n${output.trim()}`);
  }
  p.done(/\b1 module\(s\) built/.test(output) ? 'built' : 'up to date');
  return wasm;
}
