import { describe, expect, test } from '@jest/globals';
import { ProxyWasmHost } from '../host/index.js';
import {
  acceptAll,
  BRIDGE,
  config,
  emitOne,
  emitter,
  exchange,
  flush,
  healthy,
  RELEASE_WASM,
  stat,
  type CloudEvent,
} from './harness.js';

describe('event-emitter: matching and CloudEvent content', () => {
  test('POST /accounts answered 201 becomes one CloudEvent with the required attributes', async () => {
    const e = await emitter(config());
    const [ev, ...rest] = emitOne(e, {
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'k=v' },
    });
    expect(rest).toHaveLength(0);
    expect(ev).toMatchObject({
      specversion: '1.0',
      source: '//accounts.bank.svc',
      type: 'acme.bank.account.opened.v1',
      topic: 'acme/bank/account/opened/v1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'k=v',
    });
    expect(ev!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(ev!.time as string).toISOString()).toBe(ev!.time);
    expect(Math.abs(Date.parse(ev!.time as string) - Date.now())).toBeLessThan(60_000);
    expect(stat(e.host, 'rule=account-opened.matched')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
    healthy(e.plugin);
  });
});

describe('event-emitter: rule kinds', () => {
  test('a request no rule can match costs nothing: no context state, no body copy, no event', async () => {
    const e = await emitter(config());
    for (const [method, path, status] of [
      ['GET', '/accounts', 201],
      ['POST', '/users', 201],
      ['POST', '/accounts/7', 201],
      ['POST', '/accounts', 400],
    ] as const) {
      const s = exchange(e.plugin, { method, path, body: '{"a":1}' }, { status, body: '{"id":"1"}' });
      expect(s.actions.every((a) => a.status === 'Continue')).toBe(true);
      expect(s.downstream.body.toString()).toBe('{"id":"1"}');
    }
    expect(flush(e.host)).toHaveLength(0);
    expect(stat(e.host, 'rule=account-opened.matched')).toBe(0);
  });

  test('route name match (xds.route_name), alone or with a method', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'by-route',
              match: { route_name: 'accounts_create' },
              event: { type: 't', topic: 'a/{route.name}' },
            },
            {
              name: 'by-route-put',
              match: { route_name: 'accounts_create', method: ['PUT'] },
              event: { type: 't', topic: 'b' },
            },
          ],
        },
      ),
    );
    exchange(e.plugin, { path: '/anything', properties: { 'xds.route_name': 'accounts_create' } });
    exchange(e.plugin, { path: '/anything', properties: { 'xds.route_name': 'other' } });
    exchange(e.plugin, { method: 'PUT', path: '/x', properties: { 'xds.route_name': 'accounts_create' } });
    const events = acceptAll(flush(e.host)[0]!);
    expect(events.map((x) => x.topic)).toEqual(['a/accounts_create', 'a/accounts_create', 'b']);
  });

  test('path templates bind {name} and {name...}; the query string is ignored; trailing "/" does not match', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'card',
              match: { method: 'POST', path: '/accounts/{id}/cards/{card}' },
              event: { type: 't', topic: 'card/{path.id}/{path.card}' },
            },
            {
              name: 'files',
              match: { path: '/files/{rest...}' },
              event: { type: 't', topic: 'files', subject: '{path.rest}' },
            },
          ],
        },
      ),
    );
    exchange(e.plugin, { path: '/accounts/42/cards/c-9?expand=1' });
    exchange(e.plugin, { path: '/accounts/42/cards/c-9/' });
    exchange(e.plugin, { method: 'GET', path: '/files/a/b/c.txt' });
    exchange(e.plugin, { method: 'GET', path: '/files' });
    const events = acceptAll(flush(e.host)[0]!);
    expect(events.map((x) => [x.topic, x.subject])).toEqual([
      ['card/42/c-9', undefined],
      ['files', 'a/b/c.txt'],
    ]);
  });

  test('host (port stripped, case-insensitive) and header conditions (exact, present, absent)', async () => {
    const e = await emitter(
      config({
        match: {
          path: '/accounts',
          host: 'accounts.bank',
          headers: [
            { name: 'x-tenant', exact: 'acme' },
            { name: 'x-debug', present: false },
            { name: 'x-user', present: true },
          ],
        },
        event: { type: 't', topic: 'acme/{request.header.x-tenant}' },
      }),
    );
    const ok = { 'x-tenant': 'acme', 'x-user': 'u1' };
    exchange(e.plugin, { authority: 'Accounts.Bank:8080', headers: ok });
    exchange(e.plugin, { authority: 'other.bank', headers: ok });
    exchange(e.plugin, { headers: { ...ok, 'x-tenant': 'acme2' } });
    exchange(e.plugin, { headers: { ...ok, 'x-debug': '1' } });
    exchange(e.plugin, { headers: { 'x-tenant': 'acme' } });
    expect(acceptAll(flush(e.host)[0]!)).toHaveLength(1);
  });

  test('method lists and status classes', async () => {
    const e = await emitter(
      config({ match: { method: ['PUT', 'PATCH'], path: '/accounts', status: ['2xx', 404] } }),
    );
    for (const [m, s] of [
      ['PUT', 200],
      ['PATCH', 204],
      ['PUT', 404],
      ['PUT', 500],
      ['POST', 201],
      ['PATCH', 302],
    ] as const) {
      exchange(e.plugin, { method: m }, { status: s });
    }
    expect(acceptAll(flush(e.host)[0]!)).toHaveLength(3);
    expect(stat(e.host, 'rule=account-opened.matched')).toBe(3);
  });

  test('two rules matching one call emit two events with distinct ids', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            { name: 'one', match: { path: '/accounts' }, event: { type: 't1', topic: 'one' } },
            {
              name: 'two',
              match: { path: '/accounts', status: ['2xx'] },
              event: { type: 't2', topic: 'two' },
            },
          ],
        },
      ),
    );
    const events = emitOne(e, { headers: { 'idempotency-key': 'k1' } });
    expect(events.map((x) => x.type)).toEqual(['t1', 't2']);
    expect(events[0]!.id).not.toBe(events[1]!.id);
  });

  test('sampling 0 emits nothing and counts sampled_out', async () => {
    const e = await emitter(config({ event: { type: 't', topic: 'a', sampling: 0 } }));
    exchange(e.plugin);
    exchange(e.plugin);
    expect(flush(e.host)).toHaveLength(0);
    expect(stat(e.host, 'rule=account-opened.sampled_out')).toBe(2);
  });

  test('sampling by Idempotency-Key is the same decision for every retry of a call', async () => {
    const e = await emitter(config({ event: { type: 't', topic: 'a', sampling: 0.5 } }));
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    const run = () => {
      for (const k of keys) exchange(e.plugin, { headers: { 'idempotency-key': k } });
      const ids: string[] = [];
      for (let c = flush(e.host); c.length; c = flush(e.host))
        for (const call of c) ids.push(...acceptAll(call).map((x) => x.id));
      return ids;
    };
    const first = run();
    expect(first.length).toBeGreaterThan(5);
    expect(first.length).toBeLessThan(35);
    expect(run()).toEqual(first);
  });
});

describe('event-emitter: templates and ids', () => {
  test('every template source renders', async () => {
    const e = await emitter(
      config({
        match: { method: 'POST', path: '/accounts/{id}' },
        event: {
          type: 't',
          topic:
            'acme/{request.method}/{path.id}/{request.header.x-tenant}/{request.body.owner.country}/{response.body.account.no}/{response.status}/{route.name}',
          subject: '{request.path}',
          partitionkey: '{response.body.account.no}-{request.body.flags.1}',
        },
      }),
    );
    const [ev] = emitOne(
      e,
      {
        path: '/accounts/7?x=1',
        headers: { 'x-tenant': 'bank1', 'content-type': 'application/json' },
        body: '{"owner":{"country":"CH"},"flags":[true,false]}',
        properties: { 'xds.route_name': 'r1' },
      },
      { status: 201, headers: { 'content-type': 'application/json' }, body: '{"account":{"no":1234}}' },
    );
    expect(ev).toMatchObject({
      topic: 'acme/POST/7/bank1/CH/1234/201/r1',
      subject: '/accounts/7',
      partitionkey: '1234-false',
    });
  });

  test('JSON string escapes in body fields are decoded; header bytes are escaped into valid JSON', async () => {
    const e = await emitter(
      config({ event: { type: 't', topic: 'a/{response.body.name}', subject: '{request.header.x-s}' } }),
    );
    const [ev] = emitOne(
      e,
      { headers: { 'x-s': 'q"uo\\te\t' } },
      { body: '{"name":"Z\\u00fcrich\\ud83d\\ude00"}' },
    );
    expect(ev!.topic).toBe('a/Zürich😀');
    expect(ev!.subject).toBe('q"uo\\te\t');
  });

  test('a value that breaks the topic grammar drops that event and counts bad_topic', async () => {
    const e = await emitter(
      config({
        event: { type: 't', topic: 'a/{request.header.x-t}', subject: '{request.header.x-missing}' },
      }),
    );
    for (const v of ['a/b', 'a*', '>', 'has space', '']) exchange(e.plugin, { headers: { 'x-t': v } });
    exchange(e.plugin, {}); // header absent: empty level
    exchange(e.plugin, { headers: { 'x-t': 'fine' } });
    const events = acceptAll(flush(e.host)[0]!);
    expect(events.map((x) => x.topic)).toEqual(['a/fine']);
    expect(events[0]!.subject).toBeUndefined(); // missing optional template ⇒ attribute left out
    expect(stat(e.host, 'rule=account-opened.reason=bad_topic.events_dropped')).toBe(6);
  });

  test('Idempotency-Key gives the same id for a retried call, different keys different ids', async () => {
    const e = await emitter(config());
    const a1 = emitOne(e, { headers: { 'idempotency-key': 'order-1' } })[0]!.id;
    const a2 = emitOne(e, { headers: { 'idempotency-key': 'order-1' } })[0]!.id;
    const b = emitOne(e, { headers: { 'idempotency-key': 'order-2' } })[0]!.id;
    const u1 = emitOne(e)[0]!.id;
    const u2 = emitOne(e)[0]!.id;
    expect(a1).toBe(a2);
    expect(a1).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set([a1, b, u1, u2]).size).toBe(4);
    // A second VM (another worker, or Envoy restarted) derives the same id from the key.
    const other = await emitter(config());
    expect(emitOne(other, { headers: { 'idempotency-key': 'order-1' } })[0]!.id).toBe(a1);
  });
});

describe('event-emitter: data, projection, redaction, body limit', () => {
  const body = JSON.stringify({
    account: { no: 7, owner: 'ann', ssn: '123', card: { number: '4111', exp: '12/30' } },
    items: [{ card: { number: '1' } }, { card: { number: '2' } }],
  });

  test('whole response body as data', async () => {
    const e = await emitter(config({ event: { type: 't', topic: 'a', data: { from: 'response_body' } } }));
    const [ev] = emitOne(
      e,
      {},
      { headers: { 'content-type': 'application/json' }, body: [body.slice(0, 10), body.slice(10)] },
    );
    expect(ev!.datacontenttype).toBe('application/json');
    expect(ev!.data).toEqual(JSON.parse(body));
  });

  test('projection of a field with redaction (nested paths, through arrays)', async () => {
    const e = await emitter(
      config({
        event: {
          type: 't',
          topic: 'a',
          data: { from: 'response_body', field: 'account', redact: ['ssn', 'card.number'] },
        },
      }),
    );
    const [ev] = emitOne(e, {}, { body });
    expect(ev!.data).toEqual({
      no: 7,
      owner: 'ann',
      ssn: '[redacted]',
      card: { number: '[redacted]', exp: '12/30' },
    });
    const e2 = await emitter(
      config({
        event: {
          type: 't',
          topic: 'a',
          data: { from: 'response_body', redact: ['items.card.number', 'account'] },
        },
      }),
    );
    const [ev2] = emitOne(e2, {}, { body });
    expect(ev2!.data).toEqual({
      account: '[redacted]',
      items: [{ card: { number: '[redacted]' } }, { card: { number: '[redacted]' } }],
    });
  });

  test('request body as data', async () => {
    const e = await emitter(
      config({ event: { type: 't', topic: 'a', data: { from: 'request_body', field: 'owner' } } }),
    );
    const [ev] = emitOne(e, { body: ['{"owner":{"na', 'me":"ann"}}'] });
    expect(ev!.data).toEqual({ name: 'ann' });
  });

  test('non-JSON bodies travel as data_base64 with their content type', async () => {
    const e = await emitter(config({ event: { type: 't', topic: 'a', data: { from: 'response_body' } } }));
    const raw = Buffer.from([0xff, 0x00, 0x41, 0x42]);
    const [ev] = emitOne(e, {}, { headers: { 'content-type': 'application/octet-stream' }, body: raw });
    expect(ev!.datacontenttype).toBe('application/octet-stream');
    expect(Buffer.from(ev!.data_base64 as string, 'base64')).toEqual(raw);
    const [ev2] = emitOne(e, {}, { headers: { 'content-type': 'text/plain' }, body: 'hello {' });
    expect(ev2!.datacontenttype).toBe('text/plain');
    expect(Buffer.from(ev2!.data_base64 as string, 'base64').toString()).toBe('hello {');
  });

  test('data is left out (and counted) when the body is not JSON or the field is missing', async () => {
    const e = await emitter(
      config({
        event: { type: 't', topic: 'a', data: { from: 'response_body', field: 'account.no', redact: ['x'] } },
      }),
    );
    const [a] = emitOne(e, {}, { body: '{"account": {' });
    const [b] = emitOne(e, {}, { body: '{"other":1}' });
    expect(a!.data).toBeUndefined();
    expect(b!.data).toBeUndefined();
    expect(stat(e.host, 'rule=account-opened.reason=not_json.data_omitted')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.reason=no_field.data_omitted')).toBe(1);
  });

  test('over max_body_bytes: the event goes without data, body_truncated counts, traffic flows untouched', async () => {
    const e = await emitter(
      config({ event: { type: 't', topic: 'a', data: { from: 'response_body' }, max_body_bytes: 1024 } }),
    );
    const big = JSON.stringify({ pad: 'x'.repeat(3000) });
    const s = exchange(
      e.plugin,
      {},
      { body: [big.slice(0, 1000), big.slice(1000, 2000), big.slice(2000)] },
      false,
    );
    expect(s.actions.filter((a) => a.phase === 'response_body').map((a) => a.status)).toEqual([
      'Continue',
      'Continue',
      'Continue',
    ]);
    expect(s.downstream.body.toString()).toBe(big);
    s.end();
    const [ev] = acceptAll(flush(e.host)[0]!);
    expect(ev!.data).toBeUndefined();
    expect(stat(e.host, 'rule=account-opened.body_truncated')).toBe(1);
  });

  test("bodies larger than Envoy's buffer limit never cause a 413/500: chunks pass through at once", async () => {
    const e = await emitter(
      config({ event: { type: 't', topic: 'a', data: { from: 'request_body' }, max_body_bytes: 1048576 } }),
      { bufferLimitBytes: 64 * 1024 },
    );
    const chunk = 'y'.repeat(60 * 1024);
    const s = exchange(e.plugin, { body: [chunk, chunk, chunk] }, { body: 'ok' });
    expect(s.localReply).toBeUndefined();
    expect(s.upstream.body.length).toBe(3 * chunk.length);
    expect(s.actions.filter((a) => a.phase === 'request_body').every((a) => a.status === 'Continue')).toBe(
      true,
    );
    const [ev] = acceptAll(flush(e.host)[0]!);
    expect(Buffer.from(ev!.data_base64 as string, 'base64').length).toBe(3 * chunk.length);
  });
});

describe('event-emitter: large header blocks', () => {
  test('a header block larger than the SDK receive area (heap result) is captured intact, with sampling counted', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'never',
              match: { path: '/accounts' },
              event: { type: 't', topic: 'never', sampling: 0 },
            },
            {
              name: 'big',
              match: { path: '/accounts' },
              event: {
                type: 't',
                topic: 'big',
                subject: '{request.header.x-t}',
                partitionkey: '{request.header.x-big}',
              },
            },
          ],
        },
      ),
    );
    const big = 'b'.repeat(40_000);
    for (let i = 0; i < 20; i++) exchange(e.plugin, { headers: { 'x-big': big, 'x-t': `t${i}` } });
    const events: CloudEvent[] = [];
    for (let c = flush(e.host); c.length; c = flush(e.host)) events.push(...acceptAll(c[0]!));
    expect(events.map((x) => x.subject)).toEqual(Array.from({ length: 20 }, (_, i) => `t${i}`));
    expect(events.every((x) => x.partitionkey === big)).toBe(true);
    expect(stat(e.host, 'rule=never.sampled_out')).toBe(20);
    healthy(e.plugin);
  });
});

describe('event-emitter: event time', () => {
  test('each event carries its own millisecond, also across a second, a day and a year boundary', async () => {
    // The formatter keeps the "YYYY-MM-DDTHH:MM:SS." of the current second: these steps stay in it,
    // leave it, and cross midnight of New Year's Eve.
    const start = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    const host = await ProxyWasmHost.load(RELEASE_WASM, { logLevel: 'warn', startTimeMs: start });
    host.cluster(BRIDGE);
    const plugin = await host.createPlugin({
      name: 'event-emitter',
      pluginConfig: JSON.stringify(config({}, { batch: { max_events: 1, flush_interval_ms: 50 } })),
    });
    const times: string[] = [];
    const expected: string[] = [];
    let at = start;
    for (const step of [0, 3, 6, 1, 997, 1, 1000, 5]) {
      host.advance(step);
      at += step;
      exchange(plugin);
      for (const call of host.pendingCalls) times.push(...acceptAll(call).map((ev) => ev.time as string));
      expected.push(new Date(at).toISOString());
    }
    expect(times).toEqual(expected);
    healthy(plugin);
  });
});
