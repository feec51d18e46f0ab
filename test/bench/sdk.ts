// SDK overhead per request: the same request sequence (context create, request headers, response
// headers, log, done, delete) driven straight into each module's exports by a minimal host (the
// imports answer from fixed tables), so what differs between rows is the code inside the module.
// Baseline: a module without the SDK whose callbacks do nothing, measured in the same run.
// Run: npx tsx test/bench/sdk.ts   (compiles the fixtures with the release settings into a temp dir)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModuleInfo } from '../host/wasm-module.js';
import { record, sized } from './harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REQUESTS = Number(process.env.SDK_BENCH_REQUESTS ?? sized(100_000, 5_000));
const ROUNDS = 5;

type Exports = Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };

function releaseBuild(dir: string, source: string, name: string): string {
  const out = join(dir, `${name}.wasm`);
  execFileSync(
    join(ROOT, 'node_modules', '.bin', 'asc'),
    [
      source,
      '--config',
      join(ROOT, 'filters', 'asconfig.base.json'),
      '--target',
      'release',
      '--outFile',
      out,
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  return out;
}

/**
 * Instantiates `file` with a host that answers from fixed, pre-encoded tables (kept cheap so the
 * rows differ by the module's own work, not by host-side string handling); returns a driver.
 */
function load(file: string, rootId: string, pluginConfig = '') {
  const te = new TextEncoder();
  const requestHeaders = new Map(
    Object.entries({
      ':method': 'GET',
      ':path': '/health/live',
      ':authority': 'svc',
      'user-agent': 'bench',
    }).map(([k, v]) => [k, te.encode(v)]),
  );
  const rootIdBytes = te.encode(rootId);
  const configBytes = te.encode(pluginConfig);
  // eslint-disable-next-line prefer-const -- assigned once, after the imports that close over it exist
  let ex!: Exports;
  let buf: ArrayBuffer | undefined;
  let u8 = new Uint8Array(0);
  let dv = new DataView(new ArrayBuffer(0));
  const mem = () => {
    if (ex.memory.buffer !== buf) {
      buf = ex.memory.buffer;
      u8 = new Uint8Array(buf);
      dv = new DataView(buf);
    }
  };
  const ascii = (p: number, n: number) => {
    mem();
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(u8[p + i]!);
    return s;
  };
  const give = (b: Uint8Array, rp: number, rl: number) => {
    const p = b.length ? ex.malloc!(b.length) : 0;
    mem();
    u8.set(b, p);
    dv.setUint32(rp, p, true);
    dv.setUint32(rl, b.length, true);
    return 0;
  };
  let metricId = 0;
  const env: Record<string, (...a: never[]) => number> = {
    proxy_log: () => 0,
    proxy_get_log_level: (p: number) => (mem(), dv.setUint32(p, 2, true), 0),
    proxy_get_property: (p: number, n: number, rp: number, rl: number) =>
      ascii(p, n) === 'plugin_root_id' ? give(rootIdBytes, rp, rl) : 1,
    proxy_get_buffer_bytes: (t: number, _s: number, _m: number, rp: number, rl: number) =>
      t === 7 ? give(configBytes, rp, rl) : 1,
    proxy_get_header_map_value: (_m: number, kp: number, kn: number, rp: number, rl: number) => {
      const v = requestHeaders.get(ascii(kp, kn));
      return v === undefined ? 1 : give(v, rp, rl);
    },
    proxy_add_header_map_value: () => 0,
    proxy_define_metric: (_t: number, _p: number, _n: number, r: number) => (
      mem(),
      dv.setUint32(r, (metricId += 4), true),
      0
    ),
    proxy_increment_metric: () => 0,
    proxy_set_effective_context: () => 0,
  };
  const bytes = readFileSync(file);
  const module = new WebAssembly.Module(bytes);
  const imports = { env: {} as Record<string, unknown> };
  for (const imp of readModuleInfo(bytes).imports) {
    const fn = env[imp.name];
    if (!fn)
      throw new Error(
        `${file}: the bench host does not provide ${imp.module}.${imp.name}; add it to test/bench/sdk.ts`,
      );
    imports.env[imp.name] = fn;
  }
  ex = new WebAssembly.Instance(module, imports as WebAssembly.Imports).exports as unknown as Exports;
  ex._initialize!();
  ex.proxy_on_context_create!(1, 0);
  if (!ex.proxy_on_vm_start!(1, 0) || !ex.proxy_on_configure!(1, configBytes.length))
    throw new Error(`${file}: configure failed`);
  let id = 1;
  return {
    exports: ex,
    request(): void {
      const c = ++id;
      ex.proxy_on_context_create!(c, 1);
      ex.proxy_on_request_headers!(c, 4, 1);
      ex.proxy_on_response_headers!(c, 2, 1);
      ex.proxy_on_log!(c);
      ex.proxy_on_done!(c);
      ex.proxy_on_delete!(c);
    },
  };
}

function nsPerRequest(run: () => void): number {
  for (let i = 0; i < REQUESTS / 10; i++) run();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) run();
  return Number(process.hrtime.bigint() - t0) / REQUESTS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'sdk-bench-'));
try {
  const raw = releaseBuild(dir, join(ROOT, 'test/sdk/probes/bench-raw-noop.ts'), 'raw-noop');
  const sdk = releaseBuild(dir, join(ROOT, 'test/sdk/probes/bench-sdk.ts'), 'bench-sdk');
  const hello = releaseBuild(dir, join(ROOT, 'filters/hello-headers/index.ts'), 'hello-headers');
  const rows = [
    { name: 'raw no-op module (no SDK) — baseline', file: raw, rootId: '' },
    { name: 'SDK, root creates no HTTP context', file: sdk, rootId: 'passthrough' },
    { name: 'SDK, HttpContext with default callbacks', file: sdk, rootId: 'noop-http' },
    { name: 'SDK, reads :method and :path', file: sdk, rootId: 'read-headers' },
    { name: 'hello-headers (counter + response header)', file: hello, rootId: 'hello-headers' },
  ].map((r) => ({ ...r, driver: load(r.file, r.rootId), samples: [] as number[] }));
  // Interleave rounds so that machine noise hits every row alike.
  for (let round = 0; round < ROUNDS; round++)
    for (const r of rows) r.samples.push(nsPerRequest(r.driver.request));
  const base = median(rows[0]!.samples);
  console.log(
    `SDK per-request overhead (${REQUESTS} requests × ${ROUNDS} rounds, median; 6 module calls per request)`,
  );
  console.log(
    'variant'.padEnd(46) +
      'ns/request'.padStart(11) +
      'ratio'.padStart(8) +
      '  .wasm (release)  memory after',
  );
  for (const r of rows) {
    const ns = median(r.samples);
    const pages = r.driver.exports.memory.buffer.byteLength / 65536;
    console.log(
      r.name.padEnd(46) +
        ns.toFixed(0).padStart(11) +
        (ns / base).toFixed(2).padStart(7) +
        '×' +
        `  ${String(statSync(r.file).size).padStart(7)} B` +
        `  ${pages} pages`,
    );
    if (r !== rows[0])
      record('sdk', {
        path: r.name,
        metric: 'ns/request',
        value: ns,
        better: 'lower',
        baseline: { name: 'raw no-op module', value: base },
      });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
