// Bridge ingest benchmark: `tsx test/bench/bridge.ts` (needs NATS JetStream on 127.0.0.1:4222 for
// the NATS part; prints a SKIPPED line otherwise). The bridge runs in a child process (as deployed);
// this process is the load generator and runs the baselines. For each broker and batch size:
//   baseline  — the bare client doing the same durable work as fast as it can:
//               nats: the official client publishing the same messages (same subjects, Nats-Msg-Id,
//               Sidecast-Key and Nats-Expected-Stream headers) pipelined with a bounded window of
//               outstanding PubAcks — tuned per run: two publish styles (js.publish(); core publish
//               with a reply subject on one wildcard inbox, which is what the adapter does) × windows
//               of 64…4096 PubAcks, the fastest pair kept and printed;
//               embedded: raw segment-log append + fdatasync,
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
import { connect, createInbox, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { SegmentLog } from '../../broker-bridge/spool/segment-log.js';
import { encodeMessage } from '../../broker-bridge/spool/message-codec.js';
import { percentile as pct, record, sized } from './harness.js';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const EVENTS = {
  1: Number(process.env.BENCH_EVENTS_B1 ?? sized(20_000, 1_000)),
  64: Number(process.env.BENCH_EVENTS_B64 ?? sized(128_000, 6_400)),
} as const;
const PACED_RATE = 5000;
const PACED_MS = sized(3000, 500);
const WINDOWS = [64, 256, 1024, 4096];
const root = new URL('../../', import.meta.url).pathname;

interface Result {
  events: number;
  seconds: number;
  latencies: number[];
}
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
      join(root, 'cli/main.ts'),
      'bridge',
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
  base: Result & { name: string },
  bridge: Result & { cpuUsPerEvent: number },
  pacedBase: Result,
  pacedBridge: Result,
  goal?: (ratio: number, bridge: Result) => { text: string; met: boolean },
): void {
  console.log(`${name}, batch ${batch}:`);
  console.log(`  baseline ${fmt(base)}   (${base.name})`);
  // CPU per event is the figure least moved by other work on a shared machine.
  const ratio = rate(bridge) / rate(base);
  console.log(
    `  bridge   ${fmt(bridge)}   ratio ${ratio.toFixed(2)}x   bridge CPU ${bridge.cpuUsPerEvent.toFixed(1)} µs/event`,
  );
  // Paced runs offer PACED_RATE; "kept up" is what was achieved — below the offer, latency is queueing.
  const paced = (r: Result): string =>
    `p50 ${pct(r.latencies, 50).toFixed(2)} p99 ${pct(r.latencies, 99).toFixed(2)} ms (kept up ${Math.round(rate(r))} ev/s)`;
  console.log(`  offered ${PACED_RATE} ev/s: baseline ${paced(pacedBase)}; bridge ${paced(pacedBridge)}`);
  record('bridge', {
    path: `ingest → ${name}, batch ${batch}`,
    metric: 'ev/s',
    value: rate(bridge),
    better: 'higher',
    baseline: { name: base.name, value: rate(base) },
    latency: {
      p50Ms: pct(pacedBridge.latencies, 50),
      p99Ms: pct(pacedBridge.latencies, 99),
      at: `${PACED_RATE} ev/s`,
    },
    extra: {
      'bridge CPU µs/event': bridge.cpuUsPerEvent,
      'baseline p99 ms at 5k/s': pct(pacedBase.latencies, 99),
    },
    ...(goal ? { goal: goal(ratio, pacedBridge) } : {}),
  });
}

interface NatsTarget {
  nc: NatsConnection;
  js: JetStreamClient;
  stream: string;
  prefix: string;
}

type PublishStyle = 'js.publish' | 'core publish + inbox';

/**
 * The official client at full speed: every event published once (same subject, id and headers as
 * the adapter sends), at most `window` PubAcks outstanding, a new publish as each ack arrives.
 * Latency per message is publish → PubAck.
 */
async function pipelined(
  t: NatsTarget,
  events: { id: string; json: string }[],
  window: number,
  style: PublishStyle,
): Promise<Result> {
  const bodies = events.map((e) => Buffer.from(e.json));
  const subject = (i: number) => `${t.prefix}.acme.bench.event.${i % 8}`;
  const hdrs = (i: number) => {
    const h = natsHeaders();
    h.set('Sidecast-Key', `k${i % 32}`);
    return h;
  };
  const latencies = new Array<number>(events.length);
  const sentAt = new Float64Array(events.length);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let done = 0;
    let inflight = 0;
    const acked = (i: number) => {
      latencies[i] = performance.now() - sentAt[i]!;
      inflight--;
      if (++done === events.length) resolve();
      else pump();
    };
    let pump: () => void;
    if (style === 'js.publish') {
      pump = () => {
        while (inflight < window && next < events.length) {
          const i = next++;
          inflight++;
          sentAt[i] = performance.now();
          t.js
            .publish(subject(i), bodies[i]!, {
              msgID: events[i]!.id,
              headers: hdrs(i),
              expect: { streamName: t.stream },
            })
            .then(() => acked(i), reject);
        }
      };
    } else {
      const inbox = createInbox();
      const sub = t.nc.subscribe(`${inbox}.*`, {
        callback: (err, msg) => {
          if (err) return reject(err);
          const ack = JSON.parse(new TextDecoder().decode(msg.data)) as { error?: { description?: string } };
          if (ack.error) return reject(new Error(`PubAck error: ${ack.error.description}`));
          acked(Number(msg.subject.slice(inbox.length + 1)));
          if (done === events.length) sub.unsubscribe();
        },
      });
      pump = () => {
        while (inflight < window && next < events.length) {
          const i = next++;
          inflight++;
          sentAt[i] = performance.now();
          const h = hdrs(i);
          h.set('Nats-Msg-Id', events[i]!.id);
          h.set('Nats-Expected-Stream', t.stream);
          t.nc.publish(subject(i), bodies[i]!, { reply: `${inbox}.${i}`, headers: h });
        }
      };
    }
    pump();
  });
  return { events: events.length, seconds: (performance.now() - t0) / 1000, latencies };
}

/** Tries every style × window on a slice of the work and returns the fastest pair. */
async function tunePipeline(
  t: NatsTarget,
  run: string,
): Promise<{ style: PublishStyle; window: number; tried: string }> {
  const n = sized(16_000, 1_000);
  let best = { style: 'js.publish' as PublishStyle, window: WINDOWS[0]!, rate: 0 };
  const tried: string[] = [];
  for (const style of ['js.publish', 'core publish + inbox'] as const)
    for (const window of WINDOWS) {
      const r = await pipelined(t, makeEvents(`${run}-tune-${style.length}-${window}`, n), window, style);
      tried.push(`${style} w${window} ${Math.round(rate(r))}`);
      if (rate(r) > best.rate) best = { style, window, rate: rate(r) };
    }
  return { style: best.style, window: best.window, tried: tried.join(', ') };
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
    const target = { nc, js, stream, prefix };
    // Publishes one call's events and awaits their PubAcks: the paced (5k ev/s) baseline.
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
    // The stream exists once the bridge is ready (it creates it); tune the baseline on it.
    const tuned = await tunePipeline(target, run);
    console.log(
      `NATS baseline tuning (ev/s on ${sized(16_000, 1_000)} events each): ${tuned.tried}
  → fastest: ${tuned.style}, window ${tuned.window} outstanding PubAcks`,
    );
    for (const batch of [1, 64] as const) {
      const n = EVENTS[batch];
      const pacedN = Math.ceil((PACED_RATE * PACED_MS) / 1000) + batch;
      const evBase = makeEvents(`${run}-base${batch}`, n);
      const evBridge = makeEvents(`${run}-br${batch}`, n);
      const evPacedBase = makeEvents(`${run}-pb${batch}`, pacedN);
      const evPacedBridge = makeEvents(`${run}-pbr${batch}`, pacedN);
      // Warm-up of the bridge path (connections, JIT) outside the measurement; tuning warmed the baseline.
      await closedLoop(
        batch,
        50 * batch,
        httpSender(bridge.port, batchBodies(makeEvents(`${run}-w${batch}`, 50 * batch), batch)),
      );
      const base = {
        ...(await pipelined(target, evBase, tuned.window, tuned.style)),
        name: `nats client pipelined (${tuned.style}, ≤ ${tuned.window} PubAcks outstanding)`,
      };
      const br = await withCpu(bridge, () =>
        closedLoop(batch, n, httpSender(bridge.port, batchBodies(evBridge, batch))),
      );
      const pBase = await paced(batch, bare(evPacedBase, batch));
      const pBr = await paced(batch, httpSender(bridge.port, batchBodies(evPacedBridge, batch)));
      report(
        'NATS JetStream',
        batch,
        base,
        br,
        pBase,
        pBr,
        batch === 64
          ? (ratio, p) => ({
              text: '≥ 0.8× baseline, ≥ 50k ev/s, p99 ≤ 10 ms at 5k ev/s',
              met: ratio >= 0.8 && rate(br) >= 50_000 && pct(p.latencies, 99) <= 10,
            })
          : undefined,
      );
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
      const base = {
        ...(await closedLoop(batch, n, raw(makeEvents(`${run}-base`, n), batch))),
        name: 'segment-log append + fdatasync',
      };
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
