// Fuzzing in the host: random and hostile headers, bodies, statuses, stream shapes, bridge replies
// and configurations. The VM must never trap (a trap kills the worker's VM: every later request
// fails or bypasses), and every request must pass through unchanged unless a guaranteed rule holds it.
import { describe, expect, test } from '@jest/globals';
import { PluginRejectedError, type Plugin } from '../host/index.js';
import { config, emitter, healthy } from './harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);

/** xorshift32: reproducible runs (FUZZ_SEED=<n> to explore others). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
type R = ReturnType<typeof rng>;

function jsonish(r: R, depth = 0): string {
  switch (r.int(depth > 4 ? 4 : 8)) {
    case 0:
      return String(r.int(1e6) - 5e5) + r.pick(['', '.5', 'e3', 'E-2']);
    case 1:
      return JSON.stringify(r.pick(['id', 'acc-1', 'Zürich', '\u0000', 'a/b', '*', '>', ' ', '', '😀']));
    case 2:
      return r.pick(['true', 'false', 'null']);
    case 3:
      return '"' + r.pick(['\\u12', '\\x', '\\ud800', '\\udc00\\ud800', '\t', '\\"']) + '"';
    case 4:
    case 5:
      return '[' + Array.from({ length: r.int(4) }, () => jsonish(r, depth + 1)).join(',') + ']';
    default:
      return (
        '{' +
        Array.from(
          { length: r.int(5) },
          () =>
            `${JSON.stringify(r.pick(['id', 'account', 'ssn', 'card', 'number', 'items', 'no', '0']))}:${jsonish(r, depth + 1)}`,
        ).join(',') +
        '}'
      );
  }
}

function body(r: R): Buffer {
  switch (r.int(10)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return r.bytes(r.int(300)); // random bytes, invalid UTF-8
    case 2:
      return Buffer.from('['.repeat(5000 + r.int(5000))); // deep nesting
    case 3:
      return Buffer.from('{"a":'.repeat(100) + '1' + '}'.repeat(100));
    case 4: {
      const j = jsonish(r);
      return Buffer.from(j.slice(0, r.int(j.length + 1)));
    } // truncated JSON
    case 5:
      return r.int(8) === 0 ? Buffer.alloc(1_200_000 + r.int(1000), 0x61) : Buffer.from(jsonish(r)); // huge
    default:
      return Buffer.from(jsonish(r));
  }
}

function chunked(r: R, b: Buffer): Buffer[] {
  if (b.length === 0 || r.int(3) === 0) return b.length ? [b] : [];
  const out: Buffer[] = [];
  for (let at = 0; at < b.length;) {
    const n = 1 + r.int(Math.max(1, Math.min(b.length - at, 70000)));
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

function headerValue(r: R): string | Buffer {
  return r.pick<() => string | Buffer>([
    () =>
      r.pick([
        'acme',
        '',
        'a/b',
        '*',
        '>',
        ' x ',
        'k=v',
        '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      ]),
    () => r.bytes(r.int(40)),
    () => 'v'.repeat(r.int(20000)),
    () => '\u00ff\u00fe"\\',
  ])();
}

const FUZZ_CONFIG = config(
  {},
  {
    batch: { max_events: 4, max_bytes: 4096, flush_interval_ms: 10, max_buffered_events: 20 },
    retry: { max_attempts: 2, base_delay_ms: 5, max_delay_ms: 20 },
    rules: [
      {
        name: 'all-sources',
        match: { method: ['POST', 'PUT'], path: '/accounts/{id}', status: ['2xx', 404] },
        event: {
          type: 't',
          topic: 'acme/{path.id}',
          subject:
            '{request.header.x-tenant}/{request.body.owner.id}/{response.body.id}/{response.body.account.no}',
          partitionkey: '{request.header.x-tenant}-{route.name}-{response.status}',
          data: {
            from: 'response_body',
            field: 'account',
            redact: ['ssn', 'card.number', 'items.card.number'],
          },
          max_body_bytes: 4096,
        },
      },
      {
        name: 'whole-request',
        match: { path: '/accounts/{id}', headers: [{ name: 'x-tenant', present: true }] },
        event: {
          type: 't',
          topic: 'req/{request.method}',
          data: { from: 'request_body' },
          max_body_bytes: 100000,
        },
      },
      {
        name: 'guaranteed',
        match: { route_name: 'g', status: ['2xx', '5xx'] },
        event: {
          type: 'g',
          topic: 'g',
          subject: '{request.header.x-k}',
          delivery: 'guaranteed',
          deadline_ms: 30,
          on_failure: 'reject',
          data: { from: 'response_body' },
        },
      },
      {
        name: 'rest',
        match: { path: '/files/{p...}' },
        event: { type: 'f', topic: 'f', subject: '{path.p}' },
      },
    ],
  },
);

function answerCalls(r: R, plugin: Plugin): void {
  const host = plugin.host;
  for (const call of host.pendingCalls) {
    switch (r.int(7)) {
      case 0:
        call.reset();
        break;
      case 1:
        call.respond({ status: r.pick([200, 201, 400, 413, 429, 500, 503, 999]), body: r.bytes(r.int(100)) });
        break;
      case 2:
        call.respond({
          status: 200,
          body: '{"results":[' + Array.from({ length: r.int(10) }, () => jsonish(r)).join(','),
        });
        break;
      case 3:
        break; // left to time out
      default: {
        let events: { id?: string }[] = [];
        try {
          events = JSON.parse(call.bodyText());
        } catch {
          /* checked in another test */
        }
        call.respond({
          status: 200,
          body: JSON.stringify({
            results: events.map((x) => ({ id: x.id, status: r.pick(['accepted', 'accepted', 'rejected']) })),
          }),
        });
      }
    }
  }
}

describe('event-emitter fuzz', () => {
  test(`random traffic never traps the VM and never alters unheld traffic (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const e = await emitter(FUZZ_CONFIG, { bufferLimitBytes: 2 * 1024 * 1024 });
    let batches = 0;
    for (let i = 0; i < 1200; i++) {
      const s = e.plugin.stream({
        properties: r.int(3) === 0 ? { 'xds.route_name': r.pick(['g', 'other', '']) } : {},
      });
      const headers: [string, string | Buffer][] = [
        [':method', r.pick(['POST', 'PUT', 'GET', '', 'P\u00d6ST'])],
        [
          ':path',
          r.pick([
            '/accounts/',
            '/accounts/7',
            '/accounts/a*b',
            '/accounts/%2F?x',
            '/files/a/b',
            '/files',
            '',
            '/',
            '//',
            'accounts/1',
          ]) + (r.int(4) === 0 ? r.bytes(r.int(10)).toString('latin1') : ''),
        ],
        [':authority', r.pick(['accounts.bank', 'x:99999', '[::1]:80', ''])],
      ];
      for (let k = r.int(12); k > 0; k--)
        headers.push([
          r.pick([
            'x-tenant',
            'x-k',
            'traceparent',
            'tracestate',
            'idempotency-key',
            'content-type',
            'x-other',
          ]),
          headerValue(r),
        ]);
      const reqBody = body(r);
      const reqChunks = chunked(r, reqBody);
      s.requestHeaders(headers, { endOfStream: reqChunks.length === 0 });
      reqChunks.forEach((c, k) =>
        s.requestBody(c, { endOfStream: k === reqChunks.length - 1 && r.int(8) !== 0 }),
      );
      if (r.int(10) === 0) s.requestTrailers({ 'x-t': 'v' });
      if (r.int(12) !== 0) {
        const resBody = body(r);
        const resChunks = chunked(r, resBody);
        s.responseHeaders(
          {
            ':status': r.pick(['200', '201', '404', '500', '0', '99', '600', '999', 'abc', '2000', '']),
            'content-type': r.pick(['application/json', 'text/plain', '']),
          },
          { endOfStream: resChunks.length === 0 },
        );
        resChunks.forEach((c, k) =>
          s.responseBody(c, { endOfStream: k === resChunks.length - 1 && r.int(8) !== 0 }),
        );
        if (r.int(10) === 0) s.responseTrailers({ 'grpc-status': '0' });
        const held = s.actions.some((a) => a.phase.startsWith('response') && a.status !== 'Continue');
        if (!held && !s.localReply && !s.resetReason) {
          expect(s.downstream.body.equals(resBody)).toBe(true);
          expect(s.upstream.body.length).toBe(reqBody.length);
        }
      }
      if (r.int(3) === 0) answerCalls(r, e.plugin);
      if (r.int(2) === 0) s.end();
      e.host.advance(r.int(40));
      batches = e.host.httpCalls.length;
      healthy(e.plugin);
    }
    for (let k = 0; k < 50; k++) {
      answerCalls(r, e.plugin);
      e.host.advance(50);
    }
    healthy(e.plugin);
    expect(batches).toBeGreaterThan(50);
    // Every body we sent the bridge was valid JSON, whatever the traffic carried.
    for (const call of e.host.httpCalls) expect(() => JSON.parse(call.bodyText())).not.toThrow();
  });

  test(`random and broken configurations are accepted or refused with a reason, never trap (seed ${SEED})`, async () => {
    const r = rng(SEED + 1);
    const paths: string[][] = [];
    const collect = (node: unknown, at: string[]): void => {
      paths.push(at);
      if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) collect(v, [...at, k]);
    };
    collect(FUZZ_CONFIG, []);
    const weird = (): unknown =>
      r.pick<() => unknown>([
        () => null,
        () => r.int(2) === 0,
        () => r.int(1e9) - 5e8,
        () => r.next(),
        () => 1e308 * 10,
        () => '',
        () => 'x'.repeat(r.int(3000)),
        () => r.bytes(r.int(20)).toString('latin1'),
        () => [],
        () => ({}),
        () => '{path.' + r.bytes(3).toString('hex'),
        () => '/a/{b}/{c...}',
        () => [201, '2xx', 'zz'],
      ])();
    let accepted = 0;
    for (let i = 0; i < 250; i++) {
      const cfg = structuredClone(FUZZ_CONFIG) as Record<string, unknown>;
      for (let m = 1 + r.int(3); m > 0; m--) {
        const path = r.pick(paths);
        if (path.length === 0) continue;
        let node: unknown = cfg;
        for (const k of path.slice(0, -1))
          node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
        if (node && typeof node === 'object')
          (node as Record<string, unknown>)[path.at(-1)!] = r.int(5) === 0 ? undefined : weird();
      }
      let text = JSON.stringify(cfg);
      if (r.int(10) === 0) text = text.slice(0, r.int(text.length));
      if (r.int(20) === 0) text = r.bytes(r.int(200)).toString('latin1');
      try {
        const e = await emitter(text);
        healthy(e.plugin);
        accepted++;
      } catch (err) {
        expect(err).toBeInstanceOf(PluginRejectedError);
        const logs = (err as PluginRejectedError).logs;
        expect(
          logs.some((l) => l.message.startsWith('sidecast event-emitter: configuration rejected: ')),
        ).toBe(true);
        expect((err as Error).message).not.toContain('VM failed');
      }
    }
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(250);
  });
});
