// The per-event delivery policy against a real HTTP subscriber on loopback.
import { afterEach, describe, expect, test } from '@jest/globals';
import { backoffDelay, parseRetryAfter } from '../../broker-bridge/delivery/backoff.js';
import {
  parseStructured,
  PoisonEventError,
  toBinaryRequest,
} from '../../broker-bridge/delivery/cloudevent-http.js';
import { KeyedSerializer, Semaphore } from '../../broker-bridge/delivery/limits.js';
import { deliverWithRetry, type RetryContext } from '../../broker-bridge/delivery/retry-loop.js';
import {
  poolFor,
  postOnce,
  type AttemptResult,
  type SubscriberPool,
} from '../../broker-bridge/delivery/http-post.js';
import { HttpSubscriber, type Responder } from './http-subscriber.js';

const subscribers: HttpSubscriber[] = [];
const pools: SubscriberPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
  await Promise.all(subscribers.splice(0).map((s) => s.stop()));
});

function pool(url: string, connections = 16): SubscriberPool {
  const p = poolFor(new URL(url), connections);
  pools.push(p);
  return p;
}

async function subscriber(responder?: Responder) {
  const s = await new HttpSubscriber(responder).start();
  subscribers.push(s);
  return s;
}

const event = {
  specversion: '1.0',
  id: 'evt-1',
  source: '//accounts.bank',
  type: 'acme.bank.account.opened.v1',
  time: '2026-11-27T17:00:00.000Z',
  subject: 'Zoë 42',
  datacontenttype: 'application/json',
  topic: 'acme/bank/account/opened/v1',
  partitionkey: 'acc-42',
  data: { id: 'acc-42', owner: 'Zoë' },
};

function ctx(
  url: string,
  over: Partial<RetryContext> = {},
  retries: Array<{ r: AttemptResult; delayMs: number }> = [],
): RetryContext {
  return {
    url: new URL(url),
    timeoutMs: 1000,
    retry: { attempts: 3, backoff: 'exponential', baseDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 30 },
    pool: pool(url),
    limiter: new Semaphore(4),
    signal: new AbortController().signal,
    onRetry: (r, delayMs) => retries.push({ r, delayMs }),
    ...over,
  };
}

function send(c: RetryContext) {
  const { headers, body } = toBinaryRequest(parseStructured(Buffer.from(JSON.stringify(event))));
  return deliverWithRetry(c, headers, body);
}

describe('CloudEvents binary mode', () => {
  test('attributes become ce-* headers, the body is the original data, content-type is datacontenttype', async () => {
    const s = await subscriber();
    expect(await send(ctx(s.url))).toEqual({ kind: 'delivered', attempts: 1, status: 200 });
    const r = s.received[0]!;
    expect(JSON.parse(r.body)).toEqual(event.data);
    expect(r.headers).toMatchObject({
      'content-type': 'application/json',
      'ce-id': 'evt-1',
      'ce-source': '//accounts.bank',
      'ce-type': 'acme.bank.account.opened.v1',
      'ce-specversion': '1.0',
      'ce-time': '2026-11-27T17:00:00.000Z',
      'ce-topic': 'acme/bank/account/opened/v1',
      'ce-partitionkey': 'acc-42',
      'ce-subject': 'Zo%C3%AB%2042',
    });
    expect(r.headers['ce-data']).toBeUndefined();
  });

  test('base64 data is decoded, text data is sent as is', () => {
    const bin = toBinaryRequest({
      ...event,
      data: undefined,
      datacontenttype: 'image/png',
      data_base64: Buffer.from([1, 2, 3]).toString('base64'),
    });
    expect([...bin.body]).toEqual([1, 2, 3]);
    expect(bin.headers['content-type']).toBe('image/png');
    const text = toBinaryRequest({ ...event, datacontenttype: 'text/plain', data: 'hello "x"' });
    expect(text.body.toString()).toBe('hello "x"');
  });

  test('a broker body that is not a CloudEvent is poison, with the reason', () => {
    expect(() => parseStructured(Buffer.from('{nope'))).toThrow(PoisonEventError);
    expect(() => parseStructured(Buffer.from('{"id":"1","source":"s","specversion":"1.0"}'))).toThrow(
      'required attribute "type" is missing',
    );
  });
});

describe('retry policy', () => {
  test('5xx is retried with the same ce-id until 2xx', async () => {
    const s = await subscriber((_, i) => ({ status: i < 2 ? 503 : 204 }));
    const retries: Array<{ r: AttemptResult; delayMs: number }> = [];
    expect(await send(ctx(s.url, {}, retries))).toEqual({ kind: 'delivered', attempts: 3, status: 204 });
    expect(s.received.map((r) => r.headers['ce-id'])).toEqual(['evt-1', 'evt-1', 'evt-1']);
    expect(retries).toHaveLength(2);
  });

  test("4xx other than 408/429 dead-letters at once, with status and the subscriber's words", async () => {
    const s = await subscriber(() => ({ status: 422, body: 'owner is required' }));
    const out = await send(ctx(s.url));
    expect(out).toMatchObject({ kind: 'dead-letter', cause: 'rejected', attempts: 1, status: 422 });
    expect(out.kind === 'dead-letter' && out.reason).toContain('HTTP 422: owner is required (not retryable)');
    expect(s.received).toHaveLength(1);
  });

  test('408 and 429 are retried; attempts exhausted dead-letters with the last failure', async () => {
    const s = await subscriber((_, i) => ({ status: [408, 429, 500][i] ?? 200 }));
    const out = await send(ctx(s.url));
    expect(out).toMatchObject({ kind: 'dead-letter', cause: 'exhausted', attempts: 3, status: 500 });
    expect(out.kind === 'dead-letter' && out.reason).toContain('3 attempts failed, last: HTTP 500');
  });

  test('Retry-After is honoured up to its cap', async () => {
    const s = await subscriber((_, i) =>
      i === 0
        ? { status: 503, headers: { 'retry-after': '3600' } }
        : i === 1
          ? { status: 429, headers: { 'retry-after': '0' } }
          : { status: 200 },
    );
    const retries: Array<{ r: AttemptResult; delayMs: number }> = [];
    await send(ctx(s.url, {}, retries));
    expect(retries.map((r) => r.delayMs)).toEqual([30, 0]);
  });

  test('a per-attempt timeout counts as a failed attempt', async () => {
    const s = await subscriber(() => ({ status: 200, delayMs: 500 }));
    const out = await send(
      ctx(s.url, {
        timeoutMs: 50,
        retry: { attempts: 2, backoff: 'linear', baseDelayMs: 1, maxDelayMs: 1, retryAfterCapMs: 1 },
      }),
    );
    expect(out).toMatchObject({ kind: 'dead-letter', cause: 'exhausted', attempts: 2, status: 0 });
    expect(out.kind === 'dead-letter' && out.reason).toContain('no response within 50ms');
  });

  test('an unreachable subscriber does not use up attempts: the event waits until it is back', async () => {
    const s = await subscriber();
    const port = s.port;
    await s.stop();
    const retries: Array<{ r: AttemptResult; delayMs: number }> = [];
    const c = ctx(
      s.url,
      { retry: { attempts: 1, backoff: 'exponential', baseDelayMs: 5, maxDelayMs: 20, retryAfterCapMs: 1 } },
      retries,
    );
    c.onRetry = (r, delayMs) => {
      retries.push({ r, delayMs });
      if (retries.length === 4) void s.start(port);
    };
    expect(await send(c)).toEqual({ kind: 'delivered', attempts: 1, status: 200 });
    expect(retries.length).toBeGreaterThanOrEqual(4);
    expect(retries.every((r) => r.r.kind === 'unreachable')).toBe(true);
  });

  test('aborting (subscription removed, bridge stopping) ends the retries with the abort reason', async () => {
    const s = await subscriber(() => ({ status: 503 }));
    const ac = new AbortController();
    const c = ctx(s.url, {
      signal: ac.signal,
      retry: { attempts: 100, backoff: 'linear', baseDelayMs: 10, maxDelayMs: 10, retryAfterCapMs: 1 },
    });
    c.onRetry = () => ac.abort(new Error('stopped'));
    await expect(send(c)).rejects.toThrow('stopped');
  });

  test('aborting while a request is in flight ends that attempt with the abort reason', async () => {
    // Without the abort the attempt would end as a 200 response after 3 s, not reject.
    const s = await subscriber(() => ({ status: 200, delayMs: 3_000 }));
    const ac = new AbortController();
    const attempt = postOnce(pool(s.url), new URL(s.url), {}, Buffer.from('{}'), 120_000, ac.signal);
    while (s.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort(new Error('stopped mid-request'));
    await expect(attempt).rejects.toThrow('stopped mid-request');
  });
});

describe('limits', () => {
  test('the concurrency limit bounds requests in flight at the subscriber', async () => {
    const s = await subscriber(() => ({ status: 200, delayMs: 20 }));
    const c = ctx(s.url, { limiter: new Semaphore(3) });
    await Promise.all(Array.from({ length: 12 }, () => send(c)));
    expect(s.received).toHaveLength(12);
    expect(s.maxInFlight).toBe(3);
  });

  test('same key runs one at a time in submission order; other keys overlap', async () => {
    const k = new KeyedSerializer();
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const task = (name: string, ms: number) => async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      active--;
    };
    await Promise.all([
      k.run('a', task('a1', 30)),
      k.run('a', task('a2', 1)),
      k.run('b', task('b1', 1)),
      k.run('a', task('a3', 1)),
    ]);
    const a = log.filter((l) => l.includes(' a'));
    expect(a).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
    expect(maxActive).toBe(2);
    expect(k.pendingKeys).toBe(0);
  });

  test('backoff: exponential and linear, capped, with jitter inside [half, full]', () => {
    const p = { backoff: 'exponential' as const, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(p, n, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((n) => backoffDelay(p, n, () => 0))).toEqual([50, 100, 200]);
    expect([1, 2, 3].map((n) => backoffDelay({ ...p, backoff: 'linear' }, n, () => 1))).toEqual([
      100, 200, 300,
    ]);
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 17:00:10 GMT', Date.parse('2026-11-27T17:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
