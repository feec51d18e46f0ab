import { describe, expect, test } from '@jest/globals';
import type { Plugin, Stream } from '../host/index.js';
import { acceptAll, config, emitter, eventsOf, flush, healthy, stat } from './harness.js';

function guaranteed(extra: Record<string, unknown> = {}, data?: Record<string, unknown>) {
  return config({
    event: {
      type: 'acme.t',
      topic: 'acme/t',
      delivery: 'guaranteed',
      deadline_ms: 300,
      ...(data ? { data } : {}),
      ...extra,
    },
  });
}

/** Request + response headers (and body chunks) without ending the stream. */
function start(plugin: Plugin, body: string[] = []): Stream {
  const s = plugin.stream();
  s.requestHeaders(
    { ':method': 'POST', ':path': '/accounts', ':authority': 'accounts.bank' },
    { endOfStream: true },
  );
  s.responseHeaders(
    { ':status': '201', 'content-type': 'application/json' },
    { endOfStream: body.length === 0 },
  );
  body.forEach((c, i) => s.responseBody(c, { endOfStream: i === body.length - 1 }));
  return s;
}

describe('event-emitter: guaranteed delivery', () => {
  test('the response waits for the bridge ack, then continues', async () => {
    const e = await emitter(guaranteed());
    const s = start(e.plugin);
    expect(s.actions.at(-1)).toMatchObject({
      phase: 'response_headers',
      status: 'StopAllIterationAndWatermark',
    });
    expect(s.downstream.headers).toBeUndefined();
    const [call] = e.host.pendingCalls;
    expect(call!.timeoutMs).toBe(300);
    const [ev] = eventsOf(call!);
    expect(ev).toMatchObject({ type: 'acme.t', topic: 'acme/t' });
    acceptAll(call!);
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('201');
    expect(s.downstream.ended).toBe(true);
    s.end();
    expect(stat(e.host, 'rule=account-opened.guaranteed_waits')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
    expect(flush(e.host, 500)).toHaveLength(0); // not sent a second time
  });

  test('deadline passes: the response is released and the event goes to async delivery', async () => {
    const e = await emitter(guaranteed());
    const s = start(e.plugin);
    const id = eventsOf(e.host.pendingCalls[0]!)[0]!.id;
    e.host.advance(300); // Envoy times the call out with a 504
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('201');
    s.end();
    expect(stat(e.host, 'rule=account-opened.guaranteed_failures')).toBe(1);
    const [batch] = flush(e.host);
    expect(acceptAll(batch!).map((x) => x.id)).toEqual([id]);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
  });

  test('on_failure reject: a 503 replaces the response when the bridge rejects the event', async () => {
    const e = await emitter(guaranteed({ on_failure: 'reject' }));
    const s = start(e.plugin);
    const call = e.host.pendingCalls[0]!;
    const [ev] = eventsOf(call);
    call.respond({
      status: 200,
      body: JSON.stringify({ results: [{ id: ev!.id, status: 'rejected', reason: 'spool full' }] }),
    });
    expect(s.localReply).toMatchObject({
      status: 503,
      details: 'sidecast_event_not_accepted',
      byEnvoy: false,
    });
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('503');
    s.end();
    expect(stat(e.host, 'rule=account-opened.guaranteed_failures')).toBe(1);
    healthy(e.plugin);
  });

  test('bridge unreachable (reset) with release: the response continues unchanged', async () => {
    const e = await emitter(guaranteed({ on_failure: 'release' }));
    const s = start(e.plugin);
    e.host.pendingCalls[0]!.reset();
    expect(s.localReply).toBeUndefined();
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('201');
    s.end();
  });

  test('event data from the response body: headers go, the body is held until the ack', async () => {
    const e = await emitter(guaranteed({}, { from: 'response_body', field: 'id' }));
    const s = start(e.plugin, ['{"id":', '"acc-1"}']);
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('201');
    expect(s.downstream.body.length).toBe(0);
    const call = e.host.pendingCalls[0]!;
    expect(eventsOf(call)[0]!.data).toBe('acc-1');
    acceptAll(call);
    expect(s.downstream.body.toString()).toBe('{"id":"acc-1"}');
    expect(s.downstream.ended).toBe(true);
    s.end();
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
  });

  test('held body + reject: headers are already downstream, so the stream is reset', async () => {
    const e = await emitter(guaranteed({ on_failure: 'reject' }, { from: 'response_body' }));
    const s = start(e.plugin, ['{"id":1}']);
    e.host.pendingCalls[0]!.respond({ status: 503, body: 'busy' });
    expect(s.resetReason).toBe('wasm_close_stream');
    expect(s.downstream.body.length).toBe(0);
    s.end();
  });

  test('held body larger than max_body_bytes: the guarantee is given up, the response flows', async () => {
    const e = await emitter(guaranteed({ max_body_bytes: 1024 }, { from: 'response_body' }));
    const big = JSON.stringify({ pad: 'z'.repeat(2000) });
    const s = start(e.plugin, [big.slice(0, 800), big.slice(800)]);
    expect(s.localReply).toBeUndefined();
    expect(s.downstream.body.toString()).toBe(big);
    s.end();
    expect(stat(e.host, 'rule=account-opened.guaranteed_failures')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.body_truncated')).toBe(1);
    expect(acceptAll(flush(e.host)[0]!)[0]!.data).toBeUndefined();
  });

  test('client gone while waiting: the event is handed to async delivery; the late reply is ignored', async () => {
    const e = await emitter(guaranteed());
    const s = start(e.plugin);
    const call = e.host.pendingCalls[0]!;
    s.end();
    acceptAll(call); // lands on the root: ignored, the VM stays healthy
    const [batch] = flush(e.host);
    expect(eventsOf(batch!)).toHaveLength(1);
    healthy(e.plugin);
  });

  test('async and guaranteed rules on one call: only the guaranteed event holds the response', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'g',
              match: { path: '/accounts' },
              event: { type: 'g', topic: 'g', delivery: 'guaranteed' },
            },
            { name: 'a', match: { path: '/accounts' }, event: { type: 'a', topic: 'a' } },
          ],
        },
      ),
    );
    const s = start(e.plugin);
    const calls = e.host.pendingCalls;
    expect(calls).toHaveLength(1);
    expect(eventsOf(calls[0]!).map((x) => x.type)).toEqual(['g']);
    acceptAll(calls[0]!);
    s.end();
    expect(eventsOf(flush(e.host)[0]!).map((x) => x.type)).toEqual(['a']);
  });
});

describe('event-emitter: guaranteed and body-dependent async rules together', () => {
  test('the guaranteed event holds the headers; the async one gets the body after the ack', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'g',
              match: { path: '/accounts' },
              event: { type: 'g', topic: 'g', delivery: 'guaranteed' },
            },
            {
              name: 'a',
              match: { path: '/accounts' },
              event: { type: 'a', topic: 'a', data: { from: 'response_body' } },
            },
          ],
        },
      ),
    );
    const s = e.plugin.stream();
    s.requestHeaders(
      { ':method': 'POST', ':path': '/accounts', ':authority': 'accounts.bank' },
      { endOfStream: true },
    );
    s.responseHeaders({ ':status': '201' });
    s.responseBody('{"id":7}', { endOfStream: true });
    expect(s.downstream.headers).toBeUndefined();
    const [call] = e.host.pendingCalls;
    expect(eventsOf(call!).map((x) => x.type)).toEqual(['g']);
    acceptAll(call!);
    expect(s.downstream.body.toString()).toBe('{"id":7}');
    s.end();
    const [batch] = flush(e.host);
    expect(eventsOf(batch!)).toMatchObject([{ type: 'a', data: { id: 7 } }]);
  });
});
