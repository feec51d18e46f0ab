// Bridge ingest benchmark: `tsx test/bench/bridge.ts` (needs NATS JetStream on 127.0.0.1:4222 for
// the NATS part; prints a SKIPPED line otherwise). The bridge runs in a child process (as deployed);
// this process is the load generator and runs the baselines. For each broker and batch size:
//   baseline  — the bare client doing the same durable work (nats: js.publish with Nats-Msg-Id,
//               all PubAcks awaited; embedded: raw segment-log append + fdatasync),
//   bridge    — HTTP POST /v1/events (cloudevents-batch+json) until every event is acknowledged,
// reporting events/s, per-request ingest→ack latency p50/p99, and the ratio bridge/baseline.
// A paced run at 5k events/s gives the latency at that rate.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { SegmentLog } from '../../broker-bridge/spool/segment-log.js';
import { encodeMessage } from '../../broker-bridge/spool/message-codec.js';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const EVENTS = {
  1: Number(process.env.BENCH_EVENTS_B1 ?? 20_000),
  64: Number(process.env.BENCH_EVENTS_B64 ?? 128_000),
} as const;
const PACED_RATE = 5000;
const PACED_MS = 3000;
const root = new URL('../../', import.meta.url).pathname;

interface Result {
  events: number;
  seconds: number;
  latencies: number[];
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const rate = (r: Result): number => r.events / r.seconds;
const fmt = (r: Result): string =>
  `${Math.round(rate(r)).toString().padStart(7)} ev/s  p50 ${pct(r.latencies, 50).toFixed(2).padStart(6)} ms  p99 ${pct(r.latencies, 99).toFixed(2).padStart(6)} ms`;

/** Runs `total/batch` calls of `send` with `CONCURRENCY` in flight. */
async function closedLoop(batch: number, total: number, send: (k: number) => Promise<void>): Promise<Result> {
  const calls = Math.floor(total / batch);
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) {
        const k = next++;
        const s = performance.now();
        await send(k);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { events: calls * batch, seconds: (performance.now() - t0) / 1000, latencies };
}

/** Sends at a fixed event rate (open loop) for PACED_MS; latency per call. */
async function paced(batch: number, send: (k: number) => Promise<void>): Promise<Result> {
  const interval = (batch / PACED_RATE) * 1000;
  const calls = Math.floor(PACED_MS / interval);
  const latencies: number[] = [];
  const inflight: Array<Promise<void>> = [];
  const t0 = performance.now();
  let k = 0;
  while (k < calls) {
    const due = Math.min(calls, Math.floor((performance.now() - t0) / interval) + 1);
    for (; k < due; k++) {
      const s = performance.now();
      const kk = k;
      inflight.push(send(kk).then(() => void latencies.push(performance.now() - s)));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  return { events: calls * batch, seconds: (performance.now() - t0) / 1000, latencies };
}

/** Unique events, serialized once up front so the generator does little work while measuring. */
function makeEvents(run: string, n: number): { id: string; json: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${run}-${i}`;
    const ev = {
      specversion: '1.0',
      id,
      source: '//bench.sidecast',
      type: 'acme.bench.event.v1',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      topic: `acme/bench/event/${i % 8}`,
      partitionkey: `k${i % 32}`,
      data: { n: i, account: 'ACC-0001', amount: 1234.5, note: 'benchmark payload of a typical size' },
    };
    return { id, json: JSON.stringify(ev) };
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface BridgeProcess {
  port: number;
  /** CPU seconds (user + system) the bridge process has used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Runs `fn` and returns its result plus the bridge's CPU microseconds per event during it. */
async function withCpu(
  bridge: BridgeProcess,
  fn: () => Promise<Result>,
): Promise<Result & { cpuUsPerEvent: number }> {
  const before = bridge.cpuSeconds();
  const r = await fn();
  return { ...r, cpuUsPerEvent: ((bridge.cpuSeconds() - before) * 1e6) / r.events };
}

async function startBridgeProcess(config: object): Promise<BridgeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-bench-'));
  const port = await freePort();
  const admin = await freePort();
  const file = join(dir, 'bridge.json');
  await writeFile(
    file,
    JSON.stringify({
      ...config,
      http: { host: '127.0.0.1', port },
      grpc: null,
      admin: { host: '127.0.0.1', port: admin },
      spool: { dir: join(dir, 'spool') },
    }),
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      join(root, 'node_modules/tsx/dist/esm/index.mjs'),
      join(root, 'broker-bridge/main.ts'),
      '--config',
      file,
    ],
    {
      cwd: dir,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bridge exited with ${child.exitCode} during start`);
    const ok = await fetch(`http://127.0.0.1:${admin}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('bridge did not become ready in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const ticks = 100; // USER_HZ on Linux
  return {
    port,
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticks;
    },
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function httpSender(port: number, bodies: string[]): (k: number) => Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 4 });
  return (k) =>
    new Promise((resolve, reject) => {
      const body = bodies[k]!;
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/events',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/cloudevents-batch+json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            if (res.statusCode !== 200 || text.includes('"rejected"'))
              reject(new Error(`bridge answered ${res.statusCode}: ${text.slice(0, 300)}`));
            else resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

const batchBodies = (events: { json: string }[], batch: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i + batch <= events.length; i += batch)
    out.push(
      `[${events
        .slice(i, i + batch)
        .map((e) => e.json)
        .join(',')}]`,
    );
  return out;
};

function report(
  name: string,
  batch: number,
  base: Result,
  bridge: Result & { cpuUsPerEvent: number },
  pacedBase: Result,
  pacedBridge: Result,
): void {
  console.log(`${name}, batch ${batch}:`);
  console.log(`  baseline ${fmt(base)}`);
  // CPU per event is the figure least moved by other work on a shared machine.
  console.log(
    `  bridge   ${fmt(bridge)}   ratio ${(rate(bridge) / rate(base)).toFixed(2)}x   bridge CPU ${bridge.cpuUsPerEvent.toFixed(1)} µs/event`,
  );
  // Paced runs offer PACED_RATE; "kept up" is what was achieved — below the offer, latency is queueing.
  const paced = (r: Result): string =>
    `p50 ${pct(r.latencies, 50).toFixed(2)} p99 ${pct(r.latencies, 99).toFixed(2)} ms (kept up ${Math.round(rate(r))} ev/s)`;
  console.log(`  offered ${PACED_RATE} ev/s: baseline ${paced(pacedBase)}; bridge ${paced(pacedBridge)}`);
}

async function benchNats(): Promise<void> {
  let nc;
  try {
    nc = await connect({ servers: 'nats://127.0.0.1:4222', timeout: 2000 });
  } catch {
    console.log(
      'SKIPPED: NATS JetStream not reachable on 127.0.0.1:4222; start it (scripts/ensure-services.sh) for the NATS figures',
    );
    return;
  }
  const run = `b${Date.now().toString(36)}`;
  const stream = `SC_BENCH_${run}`;
  const prefix = `scbench${run}`;
  const jsm = await jetstreamManager(nc);
  const js: JetStreamClient = jetstream(nc);
  const bridge = await startBridgeProcess({
    broker: { url: 'nats://127.0.0.1:4222', options: { nats: { stream, subjectPrefix: prefix } } },
    auth: { allowUnauthenticated: true },
  });
  try {
    const bare = (events: { id: string; json: string }[], batch: number) => {
      const bodies = events.map((e) => Buffer.from(e.json));
      return async (k: number): Promise<void> => {
        const acks = [];
        for (let i = k * batch; i < (k + 1) * batch; i++) {
          const h = natsHeaders();
          h.set('Sidecast-Key', `k${i % 32}`);
          acks.push(
            js.publish(`${prefix}.acme.bench.event.${i % 8}`, bodies[i]!, {
              msgID: events[i]!.id,
              headers: h,
              expect: { streamName: stream },
            }),
          );
        }
        await Promise.all(acks);
      };
    };
    for (const batch of [1, 64] as const) {
      const n = EVENTS[batch];
      const pacedN = Math.ceil((PACED_RATE * PACED_MS) / 1000) + batch;
      const evBase = makeEvents(`${run}-base${batch}`, n);
      const evBridge = makeEvents(`${run}-br${batch}`, n);
      const evPacedBase = makeEvents(`${run}-pb${batch}`, pacedN);
      const evPacedBridge = makeEvents(`${run}-pbr${batch}`, pacedN);
      // Warm-up of both paths (connections, JIT) outside the measurement.
      await closedLoop(
        batch,
        50 * batch,
        httpSender(bridge.port, batchBodies(makeEvents(`${run}-w${batch}`, 50 * batch), batch)),
      );
      await closedLoop(batch, 50 * batch, bare(makeEvents(`${run}-wb${batch}`, 50 * batch), batch));
      const base = await closedLoop(batch, n, bare(evBase, batch));
      const br = await withCpu(bridge, () =>
        closedLoop(batch, n, httpSender(bridge.port, batchBodies(evBridge, batch))),
      );
      const pBase = await paced(batch, bare(evPacedBase, batch));
      const pBr = await paced(batch, httpSender(bridge.port, batchBodies(evPacedBridge, batch)));
      report('NATS JetStream', batch, base, br, pBase, pBr);
    }
  } finally {
    await bridge.stop();
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
}

async function benchEmbedded(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-bench-embedded-'));
  const log = await SegmentLog.open(join(dir, 'raw'));
  const bridge = await startBridgeProcess({
    broker: { url: `embedded://${join(dir, 'broker')}` },
    auth: { allowUnauthenticated: true },
  });
  try {
    const raw = (events: { id: string; json: string }[], batch: number) => {
      const records = events.map((e, i) =>
        encodeMessage({
          id: e.id,
          topic: `acme/bench/event/${i % 8}`,
          key: `k${i % 32}`,
          body: Buffer.from(e.json),
        }),
      );
      return async (k: number): Promise<void> => {
        await log.append(records.slice(k * batch, (k + 1) * batch));
      };
    };
    for (const batch of [1, 64] as const) {
      const n = EVENTS[batch];
      const pacedN = Math.ceil((PACED_RATE * PACED_MS) / 1000) + batch;
      const run = `e${batch}`;
      await closedLoop(
        batch,
        50 * batch,
        httpSender(bridge.port, batchBodies(makeEvents(`${run}-w`, 50 * batch), batch)),
      );
      const base = await closedLoop(batch, n, raw(makeEvents(`${run}-base`, n), batch));
      const brBodies = batchBodies(makeEvents(`${run}-br`, n), batch);
      const br = await withCpu(bridge, () => closedLoop(batch, n, httpSender(bridge.port, brBodies)));
      const pBase = await paced(batch, raw(makeEvents(`${run}-pb`, pacedN), batch));
      const pBr = await paced(
        batch,
        httpSender(bridge.port, batchBodies(makeEvents(`${run}-pbr`, pacedN), batch)),
      );
      report('embedded (durable, fdatasync)', batch, base, br, pBase, pBr);
    }
  } finally {
    await bridge.stop();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `sidecast bridge bench: ${CONCURRENCY} concurrent producers; events per run: batch 1 → ${EVENTS[1]}, batch 64 → ${EVENTS[64]}`,
);
await benchNats();
await benchEmbedded();
console.log(`load average at the end: ${loadavg()[0]!.toFixed(2)}`);
