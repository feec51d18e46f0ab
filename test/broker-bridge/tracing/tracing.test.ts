// Traces across the broker, every hop real: a client's POST /accounts goes through the RELEASE
// event-emitter.wasm in the proxy-wasm test host (the demo sidecar), the bridge's HTTP ingest, the
// broker (embedded, and NATS JetStream on a stream of its own), and delivery to two subscribers: a
// plain node:http service in its own process with OpenTelemetry's HTTP auto-instrumentation, and one
// that answers 400 so the event is dead-lettered. The bridge's spans are taken from the official
// SDK's in-memory exporter; the subscriber reports its spans over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import { attachDelivery } from '../../../broker-bridge/delivery/index.js';
import { DEFAULTS, type SubscriptionSpec } from '../../../broker-bridge/delivery/spec.js';
import { createBridge, defaultConfig, type Bridge } from '../../../broker-bridge/index.js';
import { tracingFromEnv } from '../../../broker-bridge/tracing/setup.js';
import { startAccounts } from '../../../examples/bank/services/accounts.js';
import type { RunningService } from '../../../examples/bank/services/http-service.js';
import { startDemoSidecar, type DemoSidecar } from '../../../cli/start/demo-sidecar.js';
import { parseMesh } from '../../../xds-server/mesh/index.js';
import { eventually } from '../../e2e/stack.js';
import { brokerReachable } from '../broker-env.js';
import { HttpSubscriber } from '../http-subscriber.js';
import { scratchStream } from '../nats-scratch.js';

const RELEASE_WASM = new URL('../../../build/event-emitter.wasm', import.meta.url).pathname;

interface RemoteSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

/** The auto-instrumented subscriber process; resolves once it listens. */
function startOtelSubscriber(): Promise<{ child: ChildProcess; port: number; spans: RemoteSpan[] }> {
  const child = fork(new URL('./otel-subscriber.cjs', import.meta.url).pathname, [], { stdio: 'inherit' });
  const spans: RemoteSpan[] = [];
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m: { port?: number; span?: RemoteSpan }) => {
      if (m.span) spans.push(m.span);
      if (m.port) resolve({ child, port: m.port, spans });
    });
  });
}

function meshFor(topic: string): string {
  return [
    'apiVersion: sidecast.io/v1\nkind: Mesh\nmetadata: { name: traced }\nspec:\n  source: "//bank.example"\n  emitter: { batch: { maxEvents: 1, flushInterval: 10ms } }\n',
    'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: accounts }\nspec:\n  endpoints: ["127.0.0.1:1"]\n',
    `apiVersion: sidecast.io/v1\nkind: EventRoute\nmetadata: { name: account-opened }\nspec:\n  service: accounts\n  match: { method: POST, path: /accounts, status: [201] }\n  event:\n    type: acme.bank.account.opened.v1\n    topic: ${topic}\n    subject: '{response.body.id}'\n    data: { from: response_body }\n`,
  ].join('---\n');
}

function subscription(name: string, topic: string, url: string, deadLetterTopic: string): SubscriptionSpec {
  return {
    name,
    service: name.split('/')[0]!,
    topics: [topic],
    url,
    timeoutMs: 2000,
    retry: { ...DEFAULTS.retry, attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
    orderedByKey: false,
    concurrency: 4,
    deadLetterTopic,
  };
}

interface BrokerCase {
  name: string;
  system: string;
  url: (dir: string) => string;
}
const cases: BrokerCase[] = [{ name: 'embedded', system: 'sidecast', url: (d) => `embedded://${d}/broker` }];
if (await brokerReachable('NATS JetStream', 4222))
  cases.push({ name: 'nats', system: 'nats', url: () => 'nats://127.0.0.1:4222' });

describe.each(cases)('one trace from POST /accounts to the subscriber on $name', (bc) => {
  const run = randomUUID().slice(0, 8);
  const topic = `t${run}/bank/account/opened/v1`;
  const dlq = `t${run}/dlq/audit`;
  const scratch = scratchStream(`trace${run}`);
  const exporter = new InMemorySpanExporter();
  const tracing = tracingFromEnv({}, [new SimpleSpanProcessor({ exporter })])!;
  const rejecting = new HttpSubscriber(() => ({ status: 400, body: 'owner is not allowed' }));
  let dir = '';
  let bridge: Bridge;
  let accounts: RunningService;
  let sidecar: DemoSidecar;
  let otel: Awaited<ReturnType<typeof startOtelSubscriber>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sidecast-trace-'));
    const cfg = defaultConfig(join(dir, 'bridge'));
    cfg.broker = { url: bc.url(dir), options: bc.name === 'nats' ? { nats: scratch.options } : {} };
    cfg.http = { host: '127.0.0.1', port: 0 };
    cfg.grpc = null;
    cfg.admin = null;
    cfg.auth = { allowUnauthenticated: true, producers: [] };
    cfg.shutdownTimeoutMs = 2000;
    bridge = await createBridge(cfg, { logger: pino({ level: 'silent' }), tracerProvider: tracing.provider });
    await bridge.start();
    otel = await startOtelSubscriber();
    await rejecting.start();
    const delivery = await attachDelivery(bridge, {
      subscriptions: [
        subscription(
          `notifications/welcome-${run}`,
          topic,
          `http://127.0.0.1:${otel.port}/events`,
          `${dlq}x`,
        ),
        subscription(`audit/trail-${run}`, topic, rejecting.url, dlq),
      ],
    });
    await eventually('both subscriptions consuming', () =>
      delivery.status().subscriptions.every((s) => s.state === 'running'),
    );
    accounts = await startAccounts(0, () => {});
    sidecar = await startDemoSidecar({
      service: 'accounts',
      port: 0,
      appUrl: accounts.url,
      bridgeUrl: `http://127.0.0.1:${bridge.ports.http}`,
      wasmFile: RELEASE_WASM,
      mesh: parseMesh([{ file: 'mesh.yaml', text: meshFor(topic) }]),
    });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.close();
    await accounts?.close();
    await bridge?.stop();
    await tracing.shutdown();
    otel?.child.disconnect();
    await rejecting.stop();
    if (bc.name === 'nats') await scratch.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const traceId = randomBytes(16).toString('hex');
  const clientSpan = randomBytes(8).toString('hex');
  const spans = () => exporter.getFinishedSpans();
  const named = (name: string, where: (s: ReadableSpan) => boolean = () => true) =>
    spans().filter((s) => s.name === name && where(s));
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
  const sub = (s: ReadableSpan) => s.attributes['messaging.destination.subscription.name'];

  test("receive → send, process → POST → the subscriber's server span: one trace, W3C traceparent on delivery", async () => {
    const res = await fetch(`${sidecar.url}/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpan}-01` },
      body: JSON.stringify({ owner: 'Ada' }),
    });
    expect(res.status).toBe(201);
    const account = (await res.json()) as { id: string };
    await eventually("the subscriber's server span", () =>
      otel.spans.some((s) => s.kind === SpanKind.SERVER),
    );
    await eventually('the dead-letter send span', () => named(`send ${dlq}`).length === 1);

    const [receive] = named(`receive ${topic}`);
    const [send] = named(`send ${topic}`);
    const [process] = named(`process ${topic}`, (s) => String(sub(s)).startsWith('notifications/'));
    expect(receive && send && process).toBeTruthy();
    const eventId = receive!.attributes['cloudevents.event_id'];
    expect(typeof eventId).toBe('string');
    for (const s of spans()) expect(s.spanContext().traceId).toBe(traceId);

    expect(receive!.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(receive!)).toBe(clientSpan);
    expect(receive!.attributes).toMatchObject({
      'messaging.operation.type': 'receive',
      'messaging.destination.name': topic,
      'cloudevents.event_type': 'acme.bank.account.opened.v1',
      'cloudevents.event_source': expect.stringMatching(/^\/\/bank\.example/),
      'cloudevents.event_subject': account.id,
      'network.protocol.name': 'http',
    });
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(send!)).toBe(receive!.spanContext().spanId);
    expect(send!.attributes).toMatchObject({
      'messaging.system': bc.system,
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
      'messaging.message.id': eventId,
    });
    expect(send!.status.code).not.toBe(SpanStatusCode.ERROR);

    // The delivery continues the producer's creation context (the event's traceparent).
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(parentOf(process!)).toBe(clientSpan);
    expect(process!.attributes).toMatchObject({
      'messaging.system': bc.system,
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.subscription.name': `notifications/welcome-${run}`,
      'messaging.consumer.group.name': expect.stringContaining('welcome'),
      'cloudevents.event_id': eventId,
    });
    const posts = named('POST', (s) => parentOf(s) === process!.spanContext().spanId);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.kind).toBe(SpanKind.CLIENT);
    expect(posts[0]!.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.full': `http://127.0.0.1:${otel.port}/events`,
      'http.response.status_code': 204,
    });

    // The unmodified subscriber joined the same trace as a child of the bridge's HTTP client span.
    const server = otel.spans.find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.traceId).toBe(traceId);
    expect(server.parentSpanId).toBe(posts[0]!.spanContext().spanId);
    expect(server.attributes['url.path']).toBe('/events');

    // The delivery-duration histogram keeps the trace as an exemplar (OpenMetrics exposition).
    expect(bridge.metrics.registry.contentType).toMatch(/^application\/openmetrics-text/);
    const exposition = await bridge.metrics.registry.metrics();
    expect(exposition).toMatch(
      new RegExp(
        `sidecast_delivery_duration_seconds_bucket\\{[^}]*subscription="notifications/welcome-${run}"[^}]*\\} 1 # \\{trace_id="${traceId}",span_id="${process!.spanContext().spanId}"\\}`,
      ),
    );
  });

  test("a dead-lettered event's spans carry the error and the dead-letter publish", async () => {
    await eventually('the dead-letter send span', () => named(`send ${dlq}`).length === 1);
    const [process] = named(`process ${topic}`, (s) => String(sub(s)).startsWith('audit/'));
    expect(process).toBeDefined();
    expect(parentOf(process!)).toBe(clientSpan);
    expect(process!.status.code).toBe(SpanStatusCode.ERROR);
    expect(process!.status.message).toMatch(/answered HTTP 400: owner is not allowed \(not retryable\)/);
    expect(process!.attributes['error.type']).toBe('rejected');
    const [attempt] = named('POST', (s) => parentOf(s) === process!.spanContext().spanId);
    expect(attempt!.status.code).toBe(SpanStatusCode.ERROR);
    expect(attempt!.attributes).toMatchObject({ 'http.response.status_code': 400, 'error.type': '400' });
    const [dead] = named(`send ${dlq}`);
    expect(dead!.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(dead!)).toBe(process!.spanContext().spanId);
    expect(dead!.attributes).toMatchObject({ 'messaging.destination.name': dlq, 'error.type': 'rejected' });
    // The subscriber that rejected it still got W3C trace context next to the CE extension.
    expect(rejecting.received[0]!.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(rejecting.received[0]!.headers['ce-traceparent']).toBe(`00-${traceId}-${clientSpan}-01`);
  });
});
