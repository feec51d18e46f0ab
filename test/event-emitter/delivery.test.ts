import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { acceptAll, BRIDGE, config, emitter, eventsOf, exchange, flush, healthy, stat } from './harness.js';

describe('event-emitter: async delivery', () => {
  test('batches by count: max_events events go at once, without waiting for the tick', async () => {
    const e = await emitter(config({}, { batch: { max_events: 3, flush_interval_ms: 1000 } }));
    exchange(e.plugin);
    exchange(e.plugin);
    expect(e.host.pendingCalls).toHaveLength(0);
    exchange(e.plugin);
    const [call] = e.host.pendingCalls;
    expect(call).toBeDefined();
    expect(call!.cluster).toBe(BRIDGE);
    expect(call!.method).toBe('POST');
    expect(call!.path).toBe('/v1/events');
    expect(call!.authority).toBe('sidecast-bridge');
    expect(call!.timeoutMs).toBe(1000);
    expect(eventsOf(call!)).toHaveLength(3);
    acceptAll(call!);
    expect(stat(e.host, 'batches_sent')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(3);
    expect(stat(e.host, 'buffered_events')).toBe(0);
  });

  test('batches by bytes, and flushes what waits on the tick', async () => {
    const e = await emitter(
      config(
        { event: { type: 't', topic: 'a', data: { from: 'response_body' } } },
        { batch: { max_events: 100, max_bytes: 2048, flush_interval_ms: 200 } },
      ),
    );
    const body = JSON.stringify({ pad: 'p'.repeat(700) });
    exchange(e.plugin, {}, { body });
    exchange(e.plugin, {}, { body });
    expect(e.host.pendingCalls).toHaveLength(0);
    exchange(e.plugin, {}, { body }); // > 2048 bytes waiting ⇒ send
    const first = e.host.pendingCalls[0]!;
    expect(first.body.length).toBeLessThanOrEqual(2048);
    const n = acceptAll(first).length;
    expect(n).toBe(2); // the third did not fit the batch
    expect(stat(e.host, 'buffered_events')).toBe(1);
    e.host.advance(199);
    expect(e.host.pendingCalls).toHaveLength(0);
    e.host.advance(1);
    expect(acceptAll(e.host.pendingCalls[0]!)).toHaveLength(1);
  });

  test('a bearer token and a custom path reach the bridge', async () => {
    const e = await emitter(config({}, { bridge: { cluster: BRIDGE, path: '/ingest/v2', token: 's3cret' } }));
    exchange(e.plugin);
    const [call] = flush(e.host);
    expect(call!.path).toBe('/ingest/v2');
    expect(call!.authority).toBe(BRIDGE);
    expect(call!.headers.get('authorization')?.toString()).toBe('Bearer s3cret');
  });

  test('5xx, reset and timeouts are retried with growing backoff; the same event ids are resent', async () => {
    const e = await emitter(
      config({}, { retry: { max_attempts: 4, base_delay_ms: 100, max_delay_ms: 250 } }),
    );
    exchange(e.plugin);
    let [call] = flush(e.host);
    const ids = eventsOf(call!).map((x) => x.id);
    call!.respond({ status: 503, body: 'spool full' });
    e.host.advance(49); // first retry after 50..100 ms (jitter), at a tick boundary
    [call] = flush(e.host, 51);
    expect(call).toBeDefined();
    expect(eventsOf(call!).map((x) => x.id)).toEqual(ids);
    call!.reset();
    expect(flush(e.host, 50)).toHaveLength(0); // second backoff is at least 100 ms
    [call] = flush(e.host, 150);
    expect(eventsOf(call!).map((x) => x.id)).toEqual(ids);
    e.host.advance(1000); // no answer within timeout_ms ⇒ Envoy's 504
    expect(call!.state).toBe('answered');
    [call] = flush(e.host, 300);
    acceptAll(call!);
    expect(stat(e.host, 'bridge_errors')).toBe(3);
    expect(stat(e.host, 'retries')).toBe(3);
    expect(stat(e.host, 'batches_sent')).toBe(4);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
  });

  test('503 with Retry-After waits as long as the bridge asks, capped by max_delay_ms', async () => {
    const e = await emitter(
      config({}, { retry: { max_attempts: 5, base_delay_ms: 10, max_delay_ms: 2000 } }),
    );
    exchange(e.plugin);
    flush(e.host)[0]!.respond({
      status: 503,
      headers: { 'retry-after': '1' },
      body: '{"error":"spool full"}',
    });
    expect(flush(e.host, 950)).toHaveLength(0); // backoff alone would have retried after ≤ 10 ms
    const [call] = flush(e.host, 100);
    expect(call).toBeDefined();
    call!.respond({ status: 503, headers: { 'retry-after': '3600' } });
    expect(flush(e.host, 1950)).toHaveLength(0);
    acceptAll(flush(e.host, 100)[0]!); // capped at max_delay_ms = 2 s
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
  });

  test('after max_attempts the batch is dropped and counted; 4xx is not retried', async () => {
    const e = await emitter(config({}, { retry: { max_attempts: 2, base_delay_ms: 10, max_delay_ms: 10 } }));
    exchange(e.plugin);
    flush(e.host)[0]!.respond({ status: 500 });
    flush(e.host)[0]!.respond({ status: 502 });
    expect(flush(e.host, 500)).toHaveLength(0);
    expect(stat(e.host, 'rule=account-opened.reason=retries_exhausted.events_dropped')).toBe(1);

    exchange(e.plugin);
    flush(e.host)[0]!.respond({ status: 400, body: '{"error":"bad"}' });
    expect(flush(e.host, 500)).toHaveLength(0);
    expect(stat(e.host, 'rule=account-opened.reason=batch_refused.events_dropped')).toBe(1);
    expect(stat(e.host, 'buffered_events')).toBe(0);
  });

  test('per-event results: rejected events are counted, accepted ones emitted', async () => {
    const e = await emitter(config({ event: { type: 't', topic: 'a/{request.header.x-n}' } }));
    for (const n of ['1', '2', '3']) exchange(e.plugin, { headers: { 'x-n': n } });
    const [call] = flush(e.host);
    const events = eventsOf(call!);
    call!.respond({
      status: 200,
      body: JSON.stringify({
        results: events.map((x, i) =>
          i === 1 ? { id: x.id, status: 'rejected', reason: 'no route' } : { id: x.id, status: 'accepted' },
        ),
      }),
    });
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(2);
    expect(stat(e.host, 'rule=account-opened.reason=rejected.events_dropped')).toBe(1);
  });

  test('bounded buffer: when full the oldest events are dropped and counted', async () => {
    const e = await emitter(
      config(
        { event: { type: 't', topic: 'n/{request.header.x-n}' } },
        { batch: { max_events: 2, max_buffered_events: 3, flush_interval_ms: 50 } },
      ),
    );
    exchange(e.plugin, { headers: { 'x-n': '0' } });
    exchange(e.plugin, { headers: { 'x-n': '1' } }); // batch [0,1] in flight (unanswered)
    for (let n = 2; n < 8; n++) exchange(e.plugin, { headers: { 'x-n': String(n) } });
    expect(stat(e.host, 'rule=account-opened.reason=buffer_full.events_dropped')).toBe(3);
    e.host.advance(50); // the gauge follows on the tick
    expect(stat(e.host, 'buffered_events')).toBe(5); // 2 in flight + 3 queued
    acceptAll(e.host.pendingCalls[0]!);
    const topics: unknown[] = [];
    for (let c = e.host.pendingCalls; c.length; c = flush(e.host))
      topics.push(...acceptAll(c[0]!).map((x) => x.topic));
    expect(topics).toEqual(['n/5', 'n/6', 'n/7']);
    healthy(e.plugin);
  });

  test('a missing bridge cluster is an http_call error: counted, retried, the user traffic unaffected', async () => {
    const e = await emitter(config({}, { bridge: { cluster: 'no_such_cluster' } }));
    const s = exchange(e.plugin);
    expect(s.actions.every((a) => a.status === 'Continue')).toBe(true);
    flush(e.host, 500);
    expect(stat(e.host, 'bridge_errors')).toBeGreaterThanOrEqual(1);
    expect(e.plugin.messages('error').some((m) => m.includes('no_such_cluster'))).toBe(true);
    healthy(e.plugin);
  });

  test('configuration replaced: the old root sends what is left, then finishes with proxy_done', async () => {
    const e = await emitter(config());
    exchange(e.plugin);
    e.plugin.shutdown();
    const [call] = e.host.pendingCalls;
    expect(eventsOf(call!)).toHaveLength(1);
    expect(e.plugin.roots()[0]?.pendingDone ?? true).toBe(true);
    acceptAll(call!);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
    expect(e.plugin.roots()).toHaveLength(0);
  });
});

describe('event-emitter: a real bridge over HTTP', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  test('the batch arrives at a node:http server on 127.0.0.1 and its reply is honoured', async () => {
    const received: { req: IncomingMessage; body: string }[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ req, body });
        const events = JSON.parse(body) as { id: string; topic: string }[];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            results: events.map((x) =>
              x.topic.endsWith('/bad')
                ? { id: x.id, status: 'rejected', reason: 'test' }
                : { id: x.id, status: 'accepted' },
            ),
          }),
        );
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    const e = await emitter(
      config(
        { event: { type: 'acme.t', topic: 'acme/{request.header.x-k}', data: { from: 'request_body' } } },
        { bridge: { cluster: BRIDGE, authority: 'bridge.local', token: 't0k' } },
      ),
      {
        bridgeUrl: `http://127.0.0.1:${port}`,
      },
    );
    exchange(e.plugin, { headers: { 'x-k': 'good' }, body: '{"n":1}' });
    exchange(e.plugin, { headers: { 'x-k': 'bad' }, body: '{"n":2}' });
    e.host.advance(50);
    await e.host.settle();
    expect(received).toHaveLength(1);
    const { req, body } = received[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/events');
    expect(req.headers['content-type']).toBe('application/cloudevents-batch+json');
    expect(req.headers.authorization).toBe('Bearer t0k');
    expect(req.headers.host).toBe('bridge.local');
    expect(Number(req.headers['content-length'])).toBe(Buffer.byteLength(body));
    const events = JSON.parse(body);
    expect(events).toMatchObject([
      {
        specversion: '1.0',
        type: 'acme.t',
        source: '//accounts.bank.svc',
        topic: 'acme/good',
        data: { n: 1 },
      },
      { topic: 'acme/bad', data: { n: 2 } },
    ]);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.reason=rejected.events_dropped')).toBe(1);
  });
});
