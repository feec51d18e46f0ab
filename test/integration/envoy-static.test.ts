// Real Envoy (official image) with envoy-configs/static-emitter.yaml: no control plane, the release
// event-emitter.wasm loaded from a local file. Requests go through Envoy to the bank's accounts
// app running in this process; the emitter's batches reach a broker-bridge in this process, which
// delivers them to an HTTP subscriber. Only the addresses of the two clusters are re-pointed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { StartedTestContainer } from 'testcontainers';
import { DEFAULTS } from '../../broker-bridge/delivery/spec.js';
import { startAccounts } from '../../examples/bank/services/accounts.js';
import type { RunningService } from '../../examples/bank/services/http-service.js';
import { eventually } from '../e2e/stack.js';
import { containerRuntimeFor } from './container-runtime.js';
import {
  envoyConfig,
  envoyLogs,
  envoyStats,
  pointClusterAtHost,
  startEnvoy,
  startEventSink,
  urlOf,
  type EventSink,
} from './envoy-harness.js';

const LISTENER = 10000; // static-emitter.yaml's inbound listener
const QUIET_MS = 500; // the emitter's 100 ms flush interval plus the bridge and delivery hops

const runtime = await containerRuntimeFor('real-Envoy static suite (envoy-static.test.ts)');

(runtime ? describe : describe.skip)('Envoy loads the emitter from envoy-configs/static-emitter.yaml', () => {
  let accounts: RunningService;
  let sink: EventSink;
  let envoy: StartedTestContainer;
  let through = '';
  const subjects = () => sink.subscriber.received.map((r) => String(r.headers['ce-subject']));

  beforeAll(async () => {
    accounts = await startAccounts(0, () => {});
    sink = await startEventSink();
    await sink.attach({
      subscriptions: [
        {
          name: 'notifications/static-envoy',
          service: 'notifications',
          topics: ['acme/bank/account/>'],
          url: sink.subscriber.url,
          timeoutMs: 2000,
          retry: DEFAULTS.retry,
          orderedByKey: false,
          concurrency: 4,
          deadLetterTopic: 'sidecast/deadletter/notifications/static-envoy',
        },
      ],
    });
    const appPort = Number(new URL(accounts.url).port);
    const config = envoyConfig('static-emitter.yaml');
    pointClusterAtHost(config, 'inbound|accounts', appPort);
    pointClusterAtHost(config, 'sidecast_bridge', sink.ingestPort);
    envoy = await startEnvoy({ config, listenerPorts: [LISTENER], hostPorts: [appPort, sink.ingestPort] });
    through = urlOf(envoy, LISTENER);
  }, 300_000);

  afterAll(async () => {
    await envoy?.stop();
    await sink?.stop();
    await accounts?.close();
  });

  test('POST /accounts → 201 through Envoy becomes one CloudEvent at the subscriber', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await fetch(`${through}/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent },
      body: JSON.stringify({ owner: 'Ada', ssn: '123-45-6789' }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await eventually('the event at the subscriber', () => subjects().includes(id), 30_000).catch(
      async (e: Error) => {
        throw new Error(`${e.message}\nEnvoy log:\n${await envoyLogs(envoy)}`);
      },
    );
    const ev = sink.subscriber.received.find((r) => r.headers['ce-subject'] === id)!;
    expect(ev.headers).toMatchObject({
      'ce-type': 'acme.bank.account.opened.v1',
      'ce-source': '//bank.example/accounts',
      'ce-partitionkey': id,
      'ce-traceparent': traceparent,
    });
    expect(JSON.parse(ev.body)).toMatchObject({ id, owner: 'Ada', ssn: '[redacted]' });
  });

  test("GET emits nothing; POST answered 400 emits the annotated route's event (xds.route_metadata in real Envoy); Envoy counts both", async () => {
    expect((await fetch(`${through}/healthz`)).status).toBe(200);
    const bad = await fetch(`${through}/accounts`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
    const marker = await fetch(`${through}/accounts`, {
      method: 'POST',
      body: JSON.stringify({ owner: 'M' }),
    });
    const { id: markerId } = (await marker.json()) as { id: string };
    await eventually('the marker at the subscriber', () => subjects().includes(markerId), 30_000);
    await eventually('the rejected event at the subscriber', () => subjects().includes('400'), 30_000);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(sink.subscriber.received).toHaveLength(3);
    const rejected = sink.subscriber.received.find((r) => r.headers['ce-subject'] === '400')!;
    expect(rejected.headers['ce-type']).toBe('acme.bank.account.rejected.v1');
    // The filter's own counters, as Envoy exposes them (wasmcustom.<name>).
    await eventually('Envoy counts the emitted events, by plugin rule and by annotated route', async () => {
      const stats = await envoyStats(envoy, 'events_emitted');
      return (
        stats['wasmcustom.sidecast.emitter.rule=account-opened.events_emitted'] === 2 &&
        stats['wasmcustom.sidecast.emitter.rule=accounts-open.events_emitted'] === 1
      );
    });
    expect(
      (await envoyStats(envoy, 'bad_annotation'))['wasmcustom.sidecast.emitter.bad_annotation'] ?? 0,
    ).toBe(0);
  });
});
