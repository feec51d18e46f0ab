// Delivery benchmark (tsx test/bench/delivery.ts): end-to-end events/s and publish→delivered latency
// through a whole bridge (HTTP ingest → broker → delivery → HTTP subscriber) on NATS JetStream and
// the embedded broker, against a baseline of the same producer posting straight to the same
// subscriber in the same run; plus the same two brokers with batched delivery (delivery.batch, BENCH_DELIVERY_BATCH
// events per request, application/cloudevents-batch+json).
//
// Three processes, as in a deployment: a producer (sidecars: batches of BENCH_BATCH to the ingest,
// or single POSTs for the baseline), the bridge (this process), a subscriber. Two phases per path:
// throughput (BENCH_EVENTS as fast as they are accepted, until the last is delivered) and latency
// (a paced load of BENCH_RATE events/s for BENCH_PACED_SECONDS, p50/p99 of publish→delivered on one
// clock: performance.timeOrigin + now(), stamped by the producer, read by the subscriber).
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { EmbeddedBroker } from '../../broker-bridge/brokers/embedded/index.js';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import type { BrokerAdapter } from '../../broker-bridge/brokers/types.js';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { DEFAULTS, type SubscriptionSpec } from '../../broker-bridge/delivery/spec.js';
import { createBridge, defaultConfig } from '../../broker-bridge/index.js';
import { scratchStream } from '../broker-bridge/nats-scratch.js';
import { percentile as pct, record, sized } from './harness.js';

const N = Number(process.env.BENCH_EVENTS ?? sized(20_000, 1_000));
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? sized(4, 0.5));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
/** Events per request in the batched-delivery paths (delivery.batch.maxEvents). */
const DELIVERY_BATCH = Number(process.env.BENCH_DELIVERY_BATCH ?? 100);
/** Comma-separated subset of embedded,nats,embedded-batched,nats-batched (the direct baseline always runs). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'embedded,nats,embedded-batched,nats-batched').split(','));
const now = () => performance.timeOrigin + performance.now();

// ---- child processes, driven over IPC ----

class Child {
  private proc!: ChildProcess;
  async start(role: string): Promise<unknown> {
    this.proc = fork(new URL(import.meta.url).pathname, [role], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve) => this.proc.once('message', resolve));
  }
  ask<T>(msg: unknown): Promise<T> {
    const p = new Promise<T>((resolve) => this.proc.once('message', (m: T) => resolve(m)));
    this.proc.send(msg as object);
    return p;
  }
  stop(): void {
    this.proc.send({ kind: 'exit' });
  }
}

interface Report {
  latencies: number[];
  lastAt: number;
}

/** Collects reports until `n` deliveries were seen. */
async function waitForDeliveries(sub: Child, n: number, timeoutMs = 120_000): Promise<Report> {
  const all: Report = { latencies: [], lastAt: 0 };
  const deadline = Date.now() + timeoutMs;
  while (all.latencies.length < n) {
    if (Date.now() > deadline)
      throw new Error(`only ${all.latencies.length}/${n} events delivered within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 50));
    const r = await sub.ask<Report>({ kind: 'report' });
    all.latencies.push(...r.latencies);
    all.lastAt = Math.max(all.lastAt, r.lastAt);
  }
  return all;
}

function runSubscriber(): void {
  let latencies: number[] = [];
  let lastAt = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as
        { t: number } | Array<{ data: { t: number } }>;
      // Batched delivery: an array of structured events, all delivered (a 2xx without statuses).
      if (Array.isArray(body)) for (const ev of body) latencies.push(at - ev.data.t);
      else latencies.push(at - body.t);
      lastAt = at;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: { kind: string }) => {
    if (m.kind === 'report') {
      process.send!({ latencies, lastAt });
      latencies = [];
    } else if (m.kind === 'exit') server.close(() => process.exit(0));
  });
}

interface DriveOrder {
  kind: 'drive';
  /** 'ingest': batches of CloudEvents to the bridge; 'direct': one POST per event to the subscriber. */
  mode: 'ingest' | 'direct';
  port: number;
  topic: string;
  total: number;
  rate: number;
}

function runProducer(): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (port: number, path: string, headers: Record<string, string>, body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode! >= 300 || text.includes('"rejected"'))
            reject(new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 300)}`));
          else resolve();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  const event = (topic: string, seq: number) => ({
    specversion: '1.0',
    id: `${topic}#${seq}#${randomUUID()}`,
    source: '//bench',
    type: 'bench.event.v1',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    topic,
    data: { seq, t: now() },
  });
  const send = (o: DriveOrder, seqs: number[]): Promise<unknown> =>
    o.mode === 'ingest'
      ? post(
          o.port,
          '/v1/events',
          { 'content-type': 'application/cloudevents-batch+json' },
          JSON.stringify(seqs.map((s) => event(o.topic, s))),
        )
      : Promise.all(
          seqs.map((seq) =>
            post(
              o.port,
              '/events',
              { 'content-type': 'application/json', 'ce-id': String(seq) },
              JSON.stringify({ seq, t: now() }),
            ),
          ),
        );
  /** Sends `total` events in groups of BATCH at `rate` events/s (0 = as fast as accepted), ≤ 8 groups in flight. */
  const drive = async (o: DriveOrder) => {
    const started = now();
    const inflight = new Set<Promise<unknown>>();
    for (let seq = 0; seq < o.total; seq += BATCH) {
      if (o.rate > 0) {
        const wait = started + (seq / o.rate) * 1000 - now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
      const p = send(
        o,
        Array.from({ length: Math.min(BATCH, o.total - seq) }, (_, i) => seq + i),
      ).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 8) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    return { started, accepted: now() };
  };
  process.on('message', (m: DriveOrder | { kind: 'exit' }) => {
    if (m.kind === 'exit') process.exit(0);
    else
      drive(m).then(
        (r) => process.send!(r),
        (e: Error) => process.send!({ error: e.message }),
      );
  });
  process.send!({ ready: true });
}

// ---- measurement ----

interface Result {
  path: string;
  eventsPerSec: number;
  p50: number;
  p99: number;
  /** CPU time of the bridge process (this one) per event, both phases: steadier than events/s on a shared machine. */
  bridgeCpuUs?: number;
}

async function measure(
  path: string,
  producer: Child,
  sub: Child,
  order: Omit<DriveOrder, 'kind' | 'total' | 'rate'>,
): Promise<Result> {
  const run = (total: number, rate: number) =>
    producer.ask<{ started: number; accepted: number; error?: string }>({
      kind: 'drive',
      total,
      rate,
      ...order,
    });
  const thr = await run(N, 0);
  if (thr.error) throw new Error(thr.error);
  const done = await waitForDeliveries(sub, N);
  const eventsPerSec = N / ((done.lastAt - thr.started) / 1000);
  const paced = Math.round(RATE * PACED_SECONDS);
  const lat = await run(paced, RATE);
  if (lat.error) throw new Error(lat.error);
  const l = await waitForDeliveries(sub, paced);
  const r = { path, eventsPerSec, p50: pct(l.latencies, 50), p99: pct(l.latencies, 99) };
  console.log(
    `  ${path}: ${eventsPerSec.toFixed(0)} events/s (accepted in ${(thr.accepted - thr.started).toFixed(0)} ms, last delivered at ${(done.lastAt - thr.started).toFixed(0)} ms); at ${RATE}/s p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
  );
  return r;
}

async function throughBridge(
  path: string,
  adapter: BrokerAdapter,
  producer: Child,
  sub: Child,
  subPort: number,
  dataDir: string,
  batched = false,
): Promise<Result> {
  const run = randomUUID().slice(0, 8);
  const cfg = defaultConfig(join(dataDir, run));
  cfg.http = { host: '127.0.0.1', port: 0 };
  cfg.grpc = null;
  cfg.admin = null;
  cfg.auth = { allowUnauthenticated: true, producers: [] };
  const bridge = await createBridge(cfg, { broker: adapter, logger: pino({ level: 'warn' }) });
  await bridge.start();
  const spec: SubscriptionSpec = {
    name: `bench/${path}-${run}`,
    service: 'bench',
    topics: [`bench/${run}/>`],
    url: `http://127.0.0.1:${subPort}/events`,
    timeoutMs: 5000,
    retry: { ...DEFAULTS.retry },
    orderedByKey: false,
    concurrency: CONCURRENCY,
    deadLetterTopic: `benchdlq/${run}`,
    ...(batched ? { batch: { maxEvents: DELIVERY_BATCH, maxWaitMs: 5 }, concurrency: 8 } : {}),
  };
  await attachDelivery(bridge, { subscriptions: [spec] });
  try {
    const cpu = process.cpuUsage();
    const r = await measure(path, producer, sub, {
      mode: 'ingest',
      port: bridge.ports.http,
      topic: `bench/${run}/x`,
    });
    const used = process.cpuUsage(cpu);
    r.bridgeCpuUs = (used.user + used.system) / (N + Math.round(RATE * PACED_SECONDS));
    console.log(`  ${path}: bridge CPU ${r.bridgeCpuUs.toFixed(0)} µs per event`);
    return r;
  } finally {
    await bridge.stop();
  }
}

function natsReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port: 4222, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  console.log(
    `delivery bench: ${N} events for throughput, then ${RATE}/s for ${PACED_SECONDS}s for latency; delivery concurrency ${CONCURRENCY}, producer batches of ${BATCH}`,
  );
  const sub = new Child();
  const producer = new Child();
  const { port: subPort } = (await sub.start('--subscriber')) as { port: number };
  await producer.start('--producer');
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-bench-'));
  const results: Result[] = [];
  try {
    results.push(
      await measure('direct HTTP (baseline)', producer, sub, { mode: 'direct', port: subPort, topic: '' }),
    );
    const natsUp = await natsReachable();
    for (const batched of [false, true]) {
      const suffix = batched ? `-batched` : '';
      const label = batched ? ` batched (${DELIVERY_BATCH}/request)` : '';
      if (ONLY.has(`embedded${suffix}`))
        results.push(
          await throughBridge(
            `embedded${label}`,
            new EmbeddedBroker(join(dir, `broker${suffix}`)),
            producer,
            sub,
            subPort,
            dir,
            batched,
          ),
        );
      if (!ONLY.has(`nats${suffix}`)) continue;
      if (!natsUp) {
        console.log(
          `SKIPPED nats-jetstream${label}: nothing on 127.0.0.1:4222 (scripts/ensure-services.sh starts it)`,
        );
        continue;
      }
      // A stream of its own: measurements do not depend on what earlier runs left on SIDECAST.
      const scratch = scratchStream(randomUUID().slice(0, 8));
      try {
        const nats = new NatsAdapter({ servers: 'nats://127.0.0.1:4222', ...scratch.options });
        results.push(
          await throughBridge(`nats-jetstream${label}`, nats, producer, sub, subPort, dir, batched),
        );
      } finally {
        await scratch.remove();
      }
    }
  } finally {
    sub.stop();
    producer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const base = results[0]!;
  console.log(
    `\npath                      events/s   ×baseline   p50 ms   p99 ms (at ${RATE}/s)   bridge CPU µs/event`,
  );
  for (const r of results) {
    console.log(
      `${r.path.padEnd(24)} ${r.eventsPerSec.toFixed(0).padStart(9)} ${(r.eventsPerSec / base.eventsPerSec).toFixed(2).padStart(10)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${(r.bridgeCpuUs?.toFixed(0) ?? '-').padStart(21)}`,
    );
    const ratio = r.eventsPerSec / base.eventsPerSec;
    record('delivery', {
      path: r === base ? 'direct HTTP posts (baseline)' : `publish → delivered, ${r.path}`,
      metric: 'ev/s',
      value: r.eventsPerSec,
      better: 'higher',
      ...(r === base ? {} : { baseline: { name: 'direct HTTP posts', value: base.eventsPerSec } }),
      latency: { p50Ms: r.p50, p99Ms: r.p99, at: `${RATE} ev/s` },
      ...(r.bridgeCpuUs === undefined
        ? {}
        : {
            extra: { 'bridge CPU µs/event': r.bridgeCpuUs },
            goal: r.path.includes('batched')
              ? { text: '≥ 50k ev/s', met: r.eventsPerSec >= 50_000 }
              : {
                  text: '≥ 0.8× direct, ≥ 10k ev/s, p99 ≤ 20 ms, ≤ 80 µs CPU/event',
                  met: ratio >= 0.8 && r.eventsPerSec >= 10_000 && r.p99 <= 20 && r.bridgeCpuUs <= 80,
                },
          }),
    });
  }
}

if (process.argv[2] === '--subscriber') runSubscriber();
else if (process.argv[2] === '--producer') runProducer();
else await main();
