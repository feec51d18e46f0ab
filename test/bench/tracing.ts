// Bridge CPU per event with tracing off, tracing on, and a CEL subscription filter
// (`npx tsx test/bench/tracing.ts`, or through `npm run bench -- --only tracing`).
//
// One bridge at a time in this process (HTTP ingest → embedded broker → delivery), a producer and
// a subscriber in child processes, so process.cpuUsage() here is the bridge's own CPU. Each variant
// gets a fresh bridge and subscription and BENCH_EVENTS events in batches of BENCH_BATCH; figures
// are µs of bridge CPU (user + system) per delivered event, as ratios against "tracing off" of the
// same run, after one uncounted warm-up pass. "off (again)" runs the baseline a second time: its
// ratio is the run's noise floor.
//   on      — spans for every event (receive, send, process, POST) into a batch processor whose
//             exporter drops them (the SDK's cost, not a collector's network)
//   filter  — `data.seq >= 0 && type == "bench.event.v1"` on the subscription (true for every
//             event, so the same deliveries happen)
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { DEFAULTS, type SubscriptionSpec } from '../../broker-bridge/delivery/spec.js';
import { compileFilter } from '../../broker-bridge/filter/cel.js';
import { createBridge, defaultConfig } from '../../broker-bridge/index.js';
import { tracingFromEnv } from '../../broker-bridge/tracing/setup.js';
import { record, sized } from './harness.js';

const N = Number(process.env.BENCH_EVENTS ?? sized(20_000, 500));
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const IN_FLIGHT = 8;

// ---- child roles ----
function runSubscriber(): void {
  let seen = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen++;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: { kind: string }) => {
    if (m.kind === 'count') process.send!({ seen });
    else server.close(() => process.exit(0));
  });
}

function runProducer(): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const post = (port: number, body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/v1/events', method: 'POST', agent },
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
      req.setHeader('content-type', 'application/cloudevents-batch+json');
      req.on('error', reject);
      req.end(body);
    });
  process.on('message', async (m: { kind: string; port: number; topic: string; total: number }) => {
    if (m.kind !== 'drive') return process.exit(0);
    let next = 0;
    const worker = async () => {
      while (next < m.total) {
        const from = next;
        next = Math.min(m.total, next + BATCH);
        const events = [];
        for (let seq = from; seq < next; seq++)
          events.push({
            specversion: '1.0',
            id: `${m.topic}#${seq}#${randomUUID()}`,
            source: '//bench',
            type: 'bench.event.v1',
            datacontenttype: 'application/json',
            topic: m.topic,
            // A traced request's context, as the emitter copies it.
            traceparent: `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(0, 16)}-01`,
            data: { seq, region: 'eu' },
          });
        await post(m.port, JSON.stringify(events));
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    process.send!({ done: true });
  });
  process.send!({ ready: true });
}

// ---- the bridge under test ----
function child(role: string): Promise<{ proc: ChildProcess; first: Record<string, unknown> }> {
  const proc = fork(new URL(import.meta.url).pathname, [role], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve) =>
    proc.once('message', (first: Record<string, unknown>) => resolve({ proc, first })),
  );
}
const ask = <T>(proc: ChildProcess, msg: object): Promise<T> =>
  new Promise((resolve) => {
    proc.once('message', (m: T) => resolve(m));
    proc.send(msg);
  });

const dropAll: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };

type Variant = 'off' | 'on' | 'filter' | 'off (again)';

async function measure(variant: Variant, subscriber: ChildProcess, port: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-bench-tracing-'));
  const tracing =
    variant === 'on' ? tracingFromEnv({}, [new BatchSpanProcessor({ exporter: dropAll })]) : null;
  const cfg = defaultConfig(join(dir, 'bridge'));
  cfg.broker.url = `embedded://${dir}/broker`;
  cfg.http = { host: '127.0.0.1', port: 0 };
  cfg.grpc = null;
  cfg.admin = null;
  cfg.auth = { allowUnauthenticated: true, producers: [] };
  const bridge = await createBridge(cfg, {
    logger: pino({ level: 'warn' }),
    ...(tracing ? { tracerProvider: tracing.provider } : {}),
  });
  await bridge.start();
  const topic = `bench/tracing/${randomUUID().slice(0, 8)}`;
  const spec: SubscriptionSpec = {
    name: `bench/tracing-${variant.replace(/\W/g, '')}`,
    service: 'bench',
    topics: [topic],
    url: `http://127.0.0.1:${port}/events`,
    timeoutMs: 5000,
    retry: DEFAULTS.retry,
    orderedByKey: false,
    concurrency: 32,
    deadLetterTopic: `${topic}/dlq`,
    ...(variant === 'filter' ? { filter: compileFilter('data.seq >= 0 && type == "bench.event.v1"') } : {}),
  };
  await attachDelivery(bridge, { subscriptions: [spec] });
  const { seen: before } = await ask<{ seen: number }>(subscriber, { kind: 'count' });
  const { proc: producer } = await child('producer');
  const cpu0 = process.cpuUsage();
  await ask(producer, { kind: 'drive', port: bridge.ports.http, topic, total: N });
  for (;;) {
    const { seen } = await ask<{ seen: number }>(subscriber, { kind: 'count' });
    if (seen - before >= N) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu = process.cpuUsage(cpu0);
  producer.send({ kind: 'exit' });
  await bridge.stop();
  await tracing?.shutdown();
  await rm(dir, { recursive: true, force: true });
  return (cpu.user + cpu.system) / N;
}

async function main(): Promise<void> {
  const { proc: subscriber, first } = await child('subscriber');
  const port = first.port as number;
  const variants: Variant[] = ['off', 'on', 'filter', 'off (again)'];
  const us: Partial<Record<Variant, number>> = {};
  await measure('off', subscriber, port); // warm-up (JIT, broker files): not counted
  for (const v of variants) us[v] = await measure(v, subscriber, port);
  subscriber.send({ kind: 'exit' });
  const base = us.off!;
  const goals: Partial<Record<Variant, [number, string]>> = {
    on: [1.3, 'tracing on ≤ 1.3× off'],
    filter: [1.1, 'simple CEL filter ≤ 1.1× none'],
    'off (again)': [1.02, 'noise floor: off vs off ≤ 1.02×'],
  };
  console.log(`bridge CPU per event, ${N} events, batches of ${BATCH} (embedded broker)`);
  for (const v of variants) {
    const ratio = us[v]! / base;
    console.log(`  ${v.padEnd(12)} ${us[v]!.toFixed(1).padStart(8)} µs/event  ${ratio.toFixed(3)}×`);
    const goal = goals[v];
    record('tracing', {
      path: `bridge, tracing ${v === 'filter' ? 'off + CEL filter' : v}`,
      metric: 'µs CPU/event',
      value: Number(us[v]!.toFixed(2)),
      better: 'lower',
      ...(v === 'off'
        ? {}
        : { baseline: { name: 'tracing off, no filter', value: Number(base.toFixed(2)) } }),
      ...(goal ? { goal: { text: goal[1], met: ratio <= goal[0] } } : {}),
    });
  }
}

const role = process.argv[2];
if (role === 'subscriber') runSubscriber();
else if (role === 'producer') runProducer();
else
  main().then(
    () => process.exit(0),
    (e: Error) => {
      console.error(e);
      process.exit(1);
    },
  );
