// Delivery benchmark (tsx test/bench/delivery.ts): end-to-end events/s and publish→delivered latency
// through a whole bridge (HTTP ingest → broker → delivery) on NATS JetStream and the embedded broker,
// against a baseline of the same subscriber receiving direct HTTP POSTs in the same run.
//
// The subscriber runs in a child process (as a real service would), so the bridge and the subscriber
// each get a core. Two phases per path: throughput (publish N as fast as the broker takes them, time
// until the last is delivered) and latency (a paced load at BENCH_RATE events/s, p50/p99 of
// publish→delivered, measured on one clock: performance.timeOrigin + now()).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { EmbeddedBroker } from '../../broker-bridge/brokers/embedded/index.js';
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import type { BrokerAdapter } from '../../broker-bridge/brokers/types.js';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { createBridge, defaultConfig } from '../../broker-bridge/index.js';
import { DEFAULTS, type SubscriptionSpec } from '../../broker-bridge/delivery/spec.js';

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const PACED_SECONDS = Number(process.env.BENCH_PACED_SECONDS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const BATCH = 64;
/** Comma-separated subset of direct,embedded,nats (default all). */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'direct,embedded,nats').split(','));
const now = () => performance.timeOrigin + performance.now();

interface Report {
  latencies: number[];
  lastAt: number;
}

class SubscriberProcess {
  private child!: ChildProcess;
  port = 0;
  async start(): Promise<void> {
    this.child = fork(new URL(import.meta.url).pathname, ['--subscriber'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.port = await new Promise<number>((resolve) =>
      this.child.once('message', (m: { port: number }) => resolve(m.port)),
    );
  }
  report(): Promise<Report> {
    const p = new Promise<Report>((resolve) => this.child.once('message', (m: Report) => resolve(m)));
    this.child.send('report');
    return p;
  }
  /** Polls until `n` deliveries have been counted (reports are cumulative between resets here). */
  async waitFor(n: number, timeoutMs = 120_000): Promise<Report> {
    const all: Report = { latencies: [], lastAt: 0 };
    const deadline = Date.now() + timeoutMs;
    while (all.latencies.length < n) {
      if (Date.now() > deadline)
        throw new Error(`only ${all.latencies.length}/${n} events delivered within ${timeoutMs}ms`);
      await new Promise((r) => setTimeout(r, 50));
      const r = await this.report();
      all.latencies.push(...r.latencies);
      all.lastAt = Math.max(all.lastAt, r.lastAt);
    }
    return all;
  }
  stop(): void {
    this.child.send('exit');
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface Result {
  path: string;
  eventsPerSec: number;
  p50: number;
  p99: number;
}

function event(topic: string, seq: number) {
  return {
    specversion: '1.0',
    id: `${topic}#${seq}#${randomUUID()}`,
    source: '//bench',
    type: 'bench.event.v1',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    topic,
    data: { seq, t: now() },
  };
}

/** Sends `total` events with `send(batch)` at `rate` events/s (Infinity = as fast as it goes). */
async function drive(total: number, rate: number, send: (seqs: number[]) => Promise<void>): Promise<number> {
  const started = now();
  const inflight = new Set<Promise<void>>();
  for (let seq = 0; seq < total; seq += BATCH) {
    if (Number.isFinite(rate)) {
      const due = started + (seq / rate) * 1000;
      const wait = due - now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const p = send(Array.from({ length: Math.min(BATCH, total - seq) }, (_, i) => seq + i)).finally(() =>
      inflight.delete(p),
    );
    inflight.add(p);
    if (inflight.size >= 8) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return started;
}

async function measure(
  path: string,
  sub: SubscriberProcess,
  send: (seqs: number[]) => Promise<void>,
): Promise<Result> {
  const t0 = await drive(N, Infinity, send);
  const ingested = now();
  const thr = await sub.waitFor(N);
  if (process.env.BENCH_VERBOSE)
    console.log(
      `  ${path}: accepted ${N} in ${(ingested - t0).toFixed(0)} ms, last delivered after ${(thr.lastAt - t0).toFixed(0)} ms`,
    );
  const eventsPerSec = N / ((thr.lastAt - t0) / 1000);
  const paced = Math.round(RATE * PACED_SECONDS);
  await drive(paced, RATE, send);
  const lat = await sub.waitFor(paced);
  const r = { path, eventsPerSec, p50: pct(lat.latencies, 50), p99: pct(lat.latencies, 99) };
  console.log(
    `  ${path}: ${eventsPerSec.toFixed(0)} events/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`,
  );
  return r;
}

/** The whole bridge: HTTP ingest (batches of BATCH) → publisher → broker → delivery → subscriber. */
async function throughBridge(
  path: string,
  adapter: BrokerAdapter,
  sub: SubscriberProcess,
  dataDir: string,
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
    url: `http://127.0.0.1:${sub.port}/events`,
    timeoutMs: 5000,
    retry: { ...DEFAULTS.retry },
    orderedByKey: false,
    concurrency: CONCURRENCY,
    deadLetterTopic: `benchdlq/${run}`,
  };
  await attachDelivery(bridge, { subscriptions: [spec] });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const topic = `bench/${run}/x`;
  const send = (seqs: number[]) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify(seqs.map((seq) => event(topic, seq)));
      const req = http.request(
        {
          host: '127.0.0.1',
          port: bridge.ports.http,
          path: '/v1/events',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/cloudevents-batch+json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200 || text.includes('"rejected"'))
              reject(new Error(`ingest answered ${res.statusCode}: ${text.slice(0, 300)}`));
            else resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    return await measure(path, sub, send);
  } finally {
    agent.destroy();
    await bridge.stop();
  }
}

async function direct(sub: SubscriberProcess): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const post = (seq: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ seq, t: now() });
      const req = http.request(
        {
          host: '127.0.0.1',
          port: sub.port,
          path: '/events',
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'ce-id': String(seq) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    return await measure('direct HTTP (baseline)', sub, async (seqs) => {
      await Promise.all(seqs.map(post));
    });
  } finally {
    agent.destroy();
  }
}

async function natsReachable(): Promise<boolean> {
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const s = createConnection({ port: 4222, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  console.log(
    `delivery bench: ${N} events for throughput, then ${RATE}/s for ${PACED_SECONDS}s for latency; concurrency ${CONCURRENCY}, publish batches of ${BATCH}`,
  );
  const sub = new SubscriberProcess();
  await sub.start();
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-bench-'));
  const results: Result[] = [];
  try {
    results.push(await direct(sub)); // always: the baseline the others are compared with
    if (ONLY.has('embedded'))
      results.push(await throughBridge('embedded', new EmbeddedBroker(join(dir, 'broker')), sub, dir));
    if (!ONLY.has('nats')) {
      // not selected
    } else if (await natsReachable())
      results.push(
        await throughBridge(
          'nats-jetstream',
          new NatsAdapter({ servers: 'nats://127.0.0.1:4222' }),
          sub,
          dir,
        ),
      );
    else
      console.log('SKIPPED nats-jetstream: nothing on 127.0.0.1:4222 (scripts/ensure-services.sh starts it)');
  } finally {
    sub.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const base = results[0]!;
  console.log('\npath                      events/s   ×baseline   p50 ms   p99 ms (at ' + RATE + '/s)');
  for (const r of results) {
    console.log(
      `${r.path.padEnd(24)} ${r.eventsPerSec.toFixed(0).padStart(9)} ${(r.eventsPerSec / base.eventsPerSec).toFixed(2).padStart(10)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`,
    );
  }
}

// ---- subscriber (child process) ----
function runSubscriber(): void {
  let latencies: number[] = [];
  let lastAt = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const { t } = JSON.parse(Buffer.concat(chunks).toString()) as { t: number };
      latencies.push(at - t);
      lastAt = at;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: string) => {
    if (m === 'report') {
      process.send!({ latencies, lastAt });
      latencies = [];
    } else if (m === 'exit') server.close(() => process.exit(0));
  });
}

if (process.argv[2] === '--subscriber') runSubscriber();
else await main();
