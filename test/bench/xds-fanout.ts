// xDS fan-out benchmark: N concurrent ADS streams (delta or SotW) from load child processes on
// loopback, served by startXdsServer from a mesh YAML file; one endpoint edit written to the file
// → time until every stream has ACKed it (debounce, translation and push included), heap per idle
// stream, server CPU per push, and re-sends after a NACK. Baselines measured in the same run: a
// bare grpc-js fan-out on the same method and load (bareFanout), the 1k row of the same protocol,
// and — with --stuck-percent — the same row with that share of clients stuck (HTTP/2 window 0):
// p99 of the healthy ones against the all-healthy run.
//   npx tsx test/bench/xds-fanout.ts [--sizes 1000,5000,10000] [--protocols delta,sotw]
//        [--children 2] [--channels 4] [--changes 3] [--push-concurrency 256] [--stuck-percent 1]
//        [--write-docs]
import { fork, type ChildProcess } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { TYPE } from '../../proto/envoy.js';
import type { CachedResource } from '../../xds-server/cache/types.js';
import { discoveryServices, type DeltaRequest, type SotwRequest } from '../../xds-server/server/messages.js';
import { controlPlaneField, encodeDeltaResponse, encodeSotwResponse } from '../../xds-server/server/wire.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import type { AckEvent } from '../../xds-server/server/stream.js';
import type { XdsServer } from '../../xds-server/server/xds-server.js';
import { startXdsServer } from '../../xds-server/index.js';
import { cluster, endpoints } from '../xds-server/fixtures.js';
import { QUICK, record } from './harness.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: QUICK ? '200' : '1000,5000,10000' },
    protocols: { type: 'string', default: QUICK ? 'delta' : 'delta,sotw' },
    children: { type: 'string', default: '2' },
    channels: { type: 'string', default: '4' },
    changes: { type: 'string', default: '3' },
    'push-concurrency': { type: 'string', default: '256' },
    /** Also run each row with this % of clients that stop reading (0 = skip). */
    'stuck-percent': { type: 'string', default: '1' },
    'debounce-ms': { type: 'string', default: '100' },
    /** Writes a V8 CPU profile of the server process during the measured changes to this file. */
    profile: { type: 'string' },
    'write-docs': { type: 'boolean', default: false },
  },
});
const SERVICES = 20;
const CHANGE_TIMEOUT_MS = 120_000;
const NACK_GRACE_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const names = Array.from({ length: SERVICES }, (_, i) => `svc-${i}`);

/** For the bare baseline: the same shape of cache content, set directly. */
function groupResources(endpointPort: number) {
  return new Map([
    [TYPE.cluster, new Map(names.map((n) => [n, cluster(n)]))],
    [TYPE.endpoint, new Map(names.map((n, i) => [n, endpoints(n, [i === 0 ? endpointPort : 10_000 + i])]))],
  ]);
}

/** The bench mesh: sidecar service "bench" calling SERVICES services; svc-0's endpoint port changes. */
function meshYaml(port: number): string {
  const doc = (kind: string, name: string, spec: string) =>
    `apiVersion: sidecast.io/v1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec:\n${spec}`;
  return [
    doc(
      'Mesh',
      'bench',
      "  bridge: { address: 127.0.0.1, port: 8090 }\n  source: '//bench'\n  emitter: { wasmFile: /etc/sidecast/event-emitter.wasm }\n",
    ),
    doc(
      'Service',
      'bench',
      `  endpoints: ['127.0.0.1:9000']\n  sidecar: { inboundPort: 15006, outboundPort: 15001 }\n  calls: [${names.join(', ')}]\n`,
    ),
    ...names.map((n, i) => doc('Service', n, `  endpoints: ['127.0.0.1:${i === 0 ? port : 10_000 + i}']\n`)),
  ].join('---\n');
}

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

interface Result {
  protocol: string;
  streams: number;
  /** Load average (1 min) when the row started and ended. */
  load: [number, number];
  connectS: number;
  heapKbPerStream: number;
  p50Ms: number;
  p99Ms: number;
  allAckedMs: number;
  cpuUsPerPush: number;
  cpuMsPerChange: number;
  resendsAfterNack: number;
  incomplete: number;
  /** Same load against a bare grpc-js handler on the same method (one canned message to every stream). */
  bareP99Ms: number;
  bareCpuUsPerPush: number;
  /** Same row with --stuck-percent of the streams not reading: p99 of the healthy ones. */
  stuck?: { count: number; healthyP99Ms: number; slowStreams: number; incomplete: number };
}

async function pushesTotal(server: XdsServer): Promise<number> {
  return (await server.metrics.pushes.get()).values.reduce((a, v) => a + v.value, 0);
}

/**
 * Writes an edit to the mesh file and waits until `n` healthy streams replied (ack or nack) to the
 * new EDS version; returns per-stream latencies from the file write.
 */
async function change(
  server: XdsServer,
  cache: SnapshotCache,
  file: string,
  port: number,
  n: number,
  event: 'ack' | 'nack',
) {
  const latencies: number[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const before = cache.get('bench', TYPE.endpoint).version;
  const replied = new Set<number>();
  const onReply = (e: AckEvent) => {
    if (e.typeUrl !== TYPE.endpoint || e.version === before || e.nodeId.startsWith('stuck-')) return;
    if (replied.has(e.streamId)) return;
    replied.add(e.streamId);
    latencies.push(performance.now() - t0);
    if (latencies.length === n) done();
  };
  server.events.on(event, onReply);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  writeFileSync(file, meshYaml(port));
  await Promise.race([all, sleep(CHANGE_TIMEOUT_MS)]);
  const cpu = process.cpuUsage(cpu0);
  server.events.off(event, onReply);
  return { latencies, cpuUs: cpu.user + cpu.system };
}

/** Forks the load processes and waits until every stream has its initial CDS and EDS. */
async function startLoad(
  address: string,
  protocol: string,
  n: number,
  edsNames: string[] = names,
  stuck = 0,
): Promise<{ children: ChildProcess[]; connectS: number }> {
  const childCount = Number(args.children);
  const t0 = performance.now();
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let c = 0; c < childCount; c++) {
    const share = Math.floor(n / childCount) + (c < n % childCount ? 1 : 0);
    const stuckShare = Math.floor(stuck / childCount) + (c < stuck % childCount ? 1 : 0);
    const child = fork(
      new URL('./xds-fanout-load.ts', import.meta.url).pathname,
      [
        address,
        protocol,
        String(share - stuckShare),
        args.channels!,
        edsNames.join(','),
        `load${c}`,
        String(stuckShare),
      ],
      { execArgv: ['--import', 'tsx'], stdio: 'inherit' },
    );
    children.push(child);
    ready.push(new Promise((r) => child.on('message', (m: { ready?: boolean }) => m.ready && r())));
  }
  await Promise.all(ready);
  const connectS = (performance.now() - t0) / 1000;
  await sleep(500);
  return { children, connectS };
}

async function stopLoad(children: ChildProcess[]): Promise<void> {
  for (const c of children) c.send({ cmd: 'exit' });
  await Promise.all(children.map((c) => new Promise((r) => c.once('exit', r))));
}

/**
 * Baseline: the same load against a bare grpc-js handler of the same ADS method, which answers
 * each type's first request and, per change, writes one canned response (one changed CLA) to
 * every stream and counts the replies. No cache, no state machine, no queue: what grpc-js and
 * the loopback cost by themselves.
 */
async function bareFanout(protocol: string, n: number): Promise<{ p99Ms: number; cpuUsPerPush: number }> {
  const cache = new SnapshotCache();
  cache.setGroup('bench', groupResources(20_000));
  const controlPlane = controlPlaneField(protocol === 'sotw' ? 6 : 7, 'bare');
  const encode = (typeUrl: string, version: string, nonce: string, resources: CachedResource[]) =>
    protocol === 'sotw'
      ? encodeSotwResponse({ versionInfo: version, typeUrl, nonce, resources }, controlPlane)
      : encodeDeltaResponse(
          { systemVersionInfo: version, typeUrl, nonce, resources, removed: [] },
          controlPlane,
        );
  const calls = new Set<grpc.ServerDuplexStream<SotwRequest | DeltaRequest, Buffer>>();
  let pushNonce = '';
  let t0 = 0;
  let latencies: number[] = [];
  let done = () => {};
  const method = protocol === 'sotw' ? 'StreamAggregatedResources' : 'DeltaAggregatedResources';
  const ads = discoveryServices(TYPE)[0]!.definition;
  const server = new grpc.Server();
  server.addService(
    { [method]: ads[method]! },
    {
      [method]: (call: grpc.ServerDuplexStream<SotwRequest | DeltaRequest, Buffer>) => {
        calls.add(call);
        const answered = new Set<string>();
        call.on('data', (req: SotwRequest | DeltaRequest) => {
          if (req.responseNonce && req.responseNonce === pushNonce) {
            latencies.push(performance.now() - t0);
            if (latencies.length === n) done();
          } else if (!answered.has(req.typeUrl)) {
            answered.add(req.typeUrl);
            const snap = cache.get('bench', req.typeUrl);
            call.write(encode(req.typeUrl, snap.version, 'init', [...snap.resources.values()]));
          }
        });
        call.on('end', () => call.end());
        call.on('error', () => calls.delete(call));
        call.on('cancelled', () => calls.delete(call));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const load = await startLoad(`127.0.0.1:${port}`, protocol, n);
  const all: number[] = [];
  let cpuUs = 0;
  for (let i = 1; i <= Number(args.changes); i++) {
    cache.setGroup('bench', groupResources(30_000 + i));
    const eds = cache.get('bench', TYPE.endpoint);
    latencies = [];
    const finished = new Promise<void>((r) => (done = r));
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    pushNonce = `bare-${i}`;
    const bytes = encode(TYPE.endpoint, eds.version, pushNonce, [eds.resources.get(names[0]!)!]);
    for (const call of calls) call.write(bytes);
    await Promise.race([finished, sleep(CHANGE_TIMEOUT_MS)]);
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    all.push(...latencies);
  }
  await stopLoad(load.children);
  server.forceShutdown();
  all.sort((a, b) => a - b);
  return { p99Ms: quantile(all, 0.99), cpuUsPerPush: cpuUs / (n * Number(args.changes)) };
}

interface Run {
  connectS: number;
  heapKbPerStream: number;
  latencies: number[];
  cpuUs: number;
  allAckedMs: number;
  incomplete: number;
  resendsAfterNack: number;
  slowStreams: number;
}

/** One run against startXdsServer fed by a mesh file; `stuck` of the n streams stop reading after syncing. */
async function run(protocol: string, n: number, stuck: number, withNack: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecast-fanout-'));
  const file = join(dir, 'mesh.yaml');
  let port = 20_000;
  writeFileSync(file, meshYaml(port));
  const running = await startXdsServer({
    mesh: file,
    grpcAddress: '127.0.0.1:0',
    adminAddress: null,
    debounceMs: Number(args['debounce-ms']),
    newStreamsPerSecond: 5000,
    pushConcurrency: Number(args['push-concurrency']),
    maxConnectionAgeMs: 0,
    logger: pino({ level: 'silent' }),
  });
  const { server, cache } = running;
  const edsNames = [...cache.get('bench', TYPE.endpoint).resources.keys()];
  const address = `127.0.0.1:${running.grpcPort}`;
  const heap0 = heapAfterGc();
  const load = await startLoad(address, protocol, n, edsNames, stuck);
  const heapKbPerStream = (heapAfterGc() - heap0) / n / 1024;
  if (stuck) for (const c of load.children) c.send({ cmd: 'stick' });
  const healthy = n - stuck;

  const profiler = args.profile && !stuck ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  const latencies: number[] = [];
  let cpuUs = 0;
  let allAckedMs = 0;
  let incomplete = 0;
  for (let i = 0; i < Number(args.changes); i++) {
    const r = await change(server, cache, file, ++port, healthy, 'ack');
    latencies.push(...r.latencies);
    cpuUs += r.cpuUs;
    allAckedMs = Math.max(allAckedMs, r.latencies.length === healthy ? Math.max(...r.latencies) : Infinity);
    incomplete += healthy - r.latencies.length;
  }
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(`${args.profile}.${protocol}-${n}.cpuprofile`, JSON.stringify(profile));
    profiler.disconnect();
  }
  // Stuck streams become "slow" once a write to them passes the write deadline (2 s by default).
  if (stuck) await sleep(2500);
  const slowStreams = (await server.metrics.slowStreams.get()).values[0]?.value ?? 0;

  let resendsAfterNack = 0;
  if (withNack) {
    // NACK: every stream rejects the next change; nothing may be re-sent until a newer one exists.
    for (const c of load.children) c.send({ cmd: 'nack', on: true });
    await sleep(100);
    const nacked = await change(server, cache, file, ++port, healthy, 'nack');
    incomplete += healthy - nacked.latencies.length;
    const before = await pushesTotal(server);
    await sleep(NACK_GRACE_MS);
    resendsAfterNack = (await pushesTotal(server)) - before;
    for (const c of load.children) c.send({ cmd: 'nack', on: false });
    await sleep(100);
    const recovered = await change(server, cache, file, ++port, healthy, 'ack'); // a newer version does go out
    incomplete += healthy - recovered.latencies.length;
  }
  await stopLoad(load.children);
  await running.close();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  return {
    connectS: load.connectS,
    heapKbPerStream,
    latencies,
    cpuUs,
    allAckedMs,
    incomplete,
    resendsAfterNack,
    slowStreams,
  };
}

async function scenario(protocol: string, n: number): Promise<Result> {
  const load0 = loadavg()[0]!;
  const healthy = await run(protocol, n, 0, true);
  const stuckCount = Math.round((n * Number(args['stuck-percent'])) / 100);
  const stuck = stuckCount ? await run(protocol, n, stuckCount, false) : undefined;
  const bare = await bareFanout(protocol, n);
  const changes = Number(args.changes);
  return {
    protocol,
    streams: n,
    load: [load0, loadavg()[0]!],
    connectS: healthy.connectS,
    heapKbPerStream: healthy.heapKbPerStream,
    p50Ms: quantile(healthy.latencies, 0.5),
    p99Ms: quantile(healthy.latencies, 0.99),
    allAckedMs: healthy.allAckedMs,
    cpuUsPerPush: healthy.cpuUs / (n * changes),
    cpuMsPerChange: healthy.cpuUs / changes / 1000,
    resendsAfterNack: healthy.resendsAfterNack,
    incomplete: healthy.incomplete,
    bareP99Ms: bare.p99Ms,
    bareCpuUsPerPush: bare.cpuUsPerPush,
    ...(stuck
      ? {
          stuck: {
            count: stuckCount,
            healthyP99Ms: quantile(stuck.latencies, 0.99),
            slowStreams: stuck.slowStreams,
            incomplete: stuck.incomplete,
          },
        }
      : {}),
  };
}

const results: Result[] = [];
for (const protocol of args.protocols!.split(',')) {
  for (const n of args.sizes!.split(',').map(Number)) {
    const r = await scenario(protocol, n);
    results.push(r);
    console.log(JSON.stringify(r));
    record('xds-fanout', {
      path: `${protocol} ADS, ${n} streams, mesh file write → last ACK`,
      metric: 'ms p99',
      value: r.p99Ms,
      better: 'lower',
      baseline: { name: 'bare grpc-js fan-out p99', value: r.bareP99Ms },
      latency: { p50Ms: r.p50Ms, p99Ms: r.p99Ms },
      extra: {
        'server CPU µs/push': r.cpuUsPerPush,
        'bare CPU µs/push': r.bareCpuUsPerPush,
        'load 1m at start': r.load[0],
        ...(r.stuck
          ? {
              [`healthy p99 ms with ${r.stuck.count} stuck`]: r.stuck.healthyP99Ms,
              '× vs all-healthy': r.stuck.healthyP99Ms / r.p99Ms,
            }
          : {}),
      },
      ...(n === 10_000 ? { goal: { text: 'p99 ≤ 1 s at load ≤ 2', met: r.p99Ms <= 1000 } } : {}),
    });
  }
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const header =
  '| protocol | streams | load 1m start→end | connect+sync s | heap/idle stream KB | p50 ms | p99 ms | all ACKed ms | bare grpc-js p99 ms | p99 × vs bare | server CPU µs/push | bare CPU µs/push | CPU × vs bare | CPU/push × vs 1k | re-sends after NACK | missing replies | stuck clients | healthy p99 with stuck ms | × vs all-healthy | slow streams |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';
const rows = results.map((r) => {
  const base = results.find((b) => b.protocol === r.protocol && b.streams === 1000);
  const ratio = (a: number, b: number | undefined) => (b ? f(a / b, 2) : '—');
  const st = r.stuck;
  const stuckCols = st
    ? `${st.count} | ${f(st.healthyP99Ms)}${st.incomplete ? ` (${st.incomplete} missing)` : ''} | ${ratio(st.healthyP99Ms, r.p99Ms)} | ${st.slowStreams}`
    : '— | — | — | —';
  return `| ${r.protocol} | ${r.streams} | ${r.load.map((l) => l.toFixed(1)).join('→')} | ${f(r.connectS)} | ${f(r.heapKbPerStream)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.allAckedMs)} | ${f(r.bareP99Ms)} | ${ratio(r.p99Ms, r.bareP99Ms)} | ${f(r.cpuUsPerPush)} | ${f(r.bareCpuUsPerPush)} | ${ratio(r.cpuUsPerPush, r.bareCpuUsPerPush)} | ${ratio(r.cpuUsPerPush, base?.cpuUsPerPush)} | ${r.resendsAfterNack} | ${r.incomplete} | ${stuckCols} |`;
});
const table = [
  `Measured ${new Date().toISOString()} on ${cpus().length}× ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join('/')} at the end (the machine is shared: read ratios, not absolutes); ` +
    `${args.children} load processes × ${args.channels} channels on loopback; mesh of ${SERVICES + 1} services ` +
    `(${SERVICES + 2} clusters + CLAs per sidecar), one endpoint edit written to the mesh file per change, ` +
    `latency from the file write (debounce ${args['debounce-ms']} ms, translation, push) to each ACK; ` +
    `${args.changes} changes per row (latencies pooled); stuck clients (${args['stuck-percent']} %) sync, then stop reading (HTTP/2 window 0).`,
  '',
  header,
  ...rows,
].join('\n');
console.log(`\n${table}`);

if (args['write-docs']) {
  const doc = new URL('../../docs/xds-server.md', import.meta.url).pathname;
  const text = readFileSync(doc, 'utf8');
  const begin = '<!-- xds-fanout:begin -->';
  const end = '<!-- xds-fanout:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i)
    throw new Error(`${doc}: markers ${begin} … ${end} not found; add them where the figures belong`);
  writeFileSync(doc, `${text.slice(0, i + begin.length)}\n${table}\n${text.slice(j)}`);
  console.log(`figures written to ${doc}`);
}
