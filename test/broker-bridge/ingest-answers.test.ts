// What POST /v1/events answers (status and body) and how it decodes text, against a real bridge
// (embedded broker on disk): a rejection is never a 2xx-only answer, invalid UTF-8 is refused by
// attribute instead of being replaced with U+FFFD, and binary-mode ce-* values decode leniently.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { event, removeDir, startBridge, tap, type Running } from './ingest-fixture.js';

let b: Running;
beforeAll(async () => {
  b = await startBridge({
    edit: (c) => {
      c.limits = { maxEventBytes: 4096, maxBatchBytes: 64 * 1024, maxBatchEvents: 50 };
      c.auth = { allowUnauthenticated: true, anonymousTopics: ['acme/>'], producers: [] };
    },
  });
});
afterAll(async () => {
  await b.stop();
  await removeDir(b.dir);
});

const STRUCTURED = { 'content-type': 'application/cloudevents+json' };
const binaryHeaders = (over: Record<string, string> = {}): Record<string, string> => ({
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': `bin-${Math.random().toString(36).slice(2)}`,
  'ce-source': '//s',
  'ce-type': 't.v1',
  'ce-topic': 'acme/bin/v1',
  ...over,
});

/** Raw HTTP/1.1 bytes, so header values can carry bytes fetch() would refuse or re-encode. */
async function rawPost(
  headerLines: Buffer[],
  body: Buffer,
): Promise<{ status: number; json: { error: string } }> {
  const net = await import('node:net');
  const port = Number(new URL(b.url).port);
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(head!.split(' ')[1]), json: JSON.parse(rest.join('\r\n\r\n')) });
    });
    sock.write(
      Buffer.concat([
        Buffer.from('POST /v1/events HTTP/1.1\r\nhost: bridge\r\nconnection: close\r\n'),
        ...headerLines.flatMap((h) => [h, Buffer.from('\r\n')]),
        Buffer.from(`content-length: ${body.length}\r\n\r\n`),
        body,
      ]),
    );
  });
}

describe('ingest answers: a rejection is visible in the status code', () => {
  it('a rejected single structured-mode event is 400 with the reason, an accepted one 200', async () => {
    const bad = await b.post(event({ specversion: '0.3' }), STRUCTURED);
    expect(bad.status).toBe(400);
    expect(bad.json.error).toBe('event: specversion "0.3" is not supported; send "1.0"');
    expect(bad.json.results).toEqual([
      { id: expect.any(String), status: 'rejected', reason: bad.json.error },
    ]);
    const ok = await b.post(event(), STRUCTURED);
    expect(ok.status).toBe(200);
    expect(ok.json.results[0]!.status).toBe('accepted');
  });

  it('a rejected single binary-mode event is 400; one over limits.maxEventBytes is 413', async () => {
    const bad = await b.post('{}', binaryHeaders({ 'ce-topic': 'acme//x' }));
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('invalid topic "acme//x"');
    const big = await b.post(JSON.stringify({ x: 'y'.repeat(5000) }), binaryHeaders());
    expect(big.status).toBe(413);
    expect(big.json.error).toMatch(/over the 4096-byte limit \(limits.maxEventBytes\)/);
  });

  it('a single event outside the producer ACL is 403', async () => {
    const r = await b.post(event({ topic: 'other/x/v1' }), STRUCTURED);
    expect(r.status).toBe(403);
    expect(r.json.error).toContain('may not publish to topic "other/x/v1"');
  });

  it('a batch is 200 when all are accepted, 207 when some are rejected, 4xx when none is accepted', async () => {
    const all = await b.post([event(), event()]);
    expect(all.status).toBe(200);
    const some = await b.post([event(), event({ type: '' }), event()]);
    expect(some.status).toBe(207);
    expect(some.json.results.map((x) => x.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(some.json.results[1]!.reason).toBe('event #1: attribute "type" must be a non-empty string');
    const none = await b.post([event({ type: '' }), 'nope']);
    expect(none.status).toBe(400);
    expect(none.json.results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    const tooBig = await b.post([event({ data: 'x'.repeat(5000) }), event({ data: 'y'.repeat(5000) })]);
    expect(tooBig.status).toBe(413); // every rejection shares one status: that one
    const mixed = await b.post([event({ data: 'x'.repeat(5000) }), event({ type: '' })]);
    expect(mixed.status).toBe(400);
  });
});

describe('ingest: invalid UTF-8 is refused by attribute, never replaced', () => {
  const invalid = (json: string, bad: Buffer): Buffer => {
    const [before, after] = json.split('@BAD@');
    return Buffer.concat([Buffer.from(before!), bad, Buffer.from(after!)]);
  };

  it('in the topic of a batch event: that event is rejected naming "topic", nothing is published', async () => {
    const t = await tap(b.bridge.broker, 'utf8-topic', 'acme/utf8/>');
    const good = event({ topic: 'acme/utf8/ok' });
    const json = JSON.stringify([good, event({ topic: 'acme/utf8/@BAD@' })]);
    const r = await b.post(invalid(json, Buffer.from([0xc3, 0x28])), {
      'content-type': 'application/cloudevents-batch+json',
    });
    expect(r.status).toBe(207);
    expect(r.json.results[0]!.status).toBe('accepted');
    expect(r.json.results[1]!.reason).toMatch(
      /^event #1: attribute "topic" is not valid UTF-8 \("acme\/utf8\/\\udcc3\(/,
    );
    await t.until(1);
    await new Promise((res) => setTimeout(res, 50));
    expect(t.got.map((m) => m.topic)).toEqual(['acme/utf8/ok']);
    await t.close();
  });

  it('in data of a structured event: rejected with the JSON path, a valid U+FFFD is accepted as sent', async () => {
    const json = JSON.stringify(event({ data: { name: 'Ren@BAD@e' } }));
    const r = await b.post(invalid(json, Buffer.from([0xe9])), STRUCTURED);
    expect(r.status).toBe(400);
    expect(r.json.error).toContain('data.name is not valid UTF-8');
    const lone = await b.post(JSON.stringify(event({ data: ['ok', 'x\ud800'] })), STRUCTURED);
    expect(lone.status).toBe(400);
    expect(lone.json.error).toContain('data[1] is not valid UTF-8');
    const t = await tap(b.bridge.broker, 'utf8-fffd', 'acme/fffd/v1');
    const fine = await b.post(event({ topic: 'acme/fffd/v1', data: { s: '\ufffd é 😀' } }), STRUCTURED);
    expect(fine.status).toBe(200);
    await t.until(1);
    expect(JSON.parse(Buffer.from(t.got[0]!.body).toString()).data).toEqual({ s: '\ufffd é 😀' });
    await t.close();
  });

  it('in a binary-mode ce-* header and in a text/* body', async () => {
    const h = binaryHeaders({ 'content-type': 'text/plain' });
    const lines = Object.entries(h).map(([k, v]) => Buffer.from(`${k}: ${v}`));
    const badHeader = [
      ...lines,
      Buffer.concat([Buffer.from('ce-tenant: a'), Buffer.from([0xff]), Buffer.from('b')]),
    ];
    const r1 = await rawPost(badHeader, Buffer.from('hello'));
    expect(r1.status).toBe(400);
    expect(r1.json.error).toContain('attribute "tenant" is not valid UTF-8');
    const r2 = await rawPost(lines, Buffer.from([0x68, 0x80, 0x69]));
    expect(r2.status).toBe(400);
    expect(r2.json.error).toContain('data is not valid UTF-8');
  });

  it('raw UTF-8 bytes in a ce-* header arrive as the text the producer meant', async () => {
    const t = await tap(b.bridge.broker, 'utf8-raw-header', 'acme/raw/v1');
    const h = binaryHeaders({ 'ce-topic': 'acme/raw/v1' });
    const lines = Object.entries(h).map(([k, v]) => Buffer.from(`${k}: ${v}`));
    lines.push(Buffer.concat([Buffer.from('ce-subject: '), Buffer.from('Zürich', 'utf8')]));
    const r = await rawPost(lines, Buffer.from('{"a":1}'));
    expect(r.status).toBe(200);
    await t.until(1);
    expect(JSON.parse(Buffer.from(t.got[0]!.body).toString()).subject).toBe('Zürich');
    await t.close();
  });
});

describe('ingest: binary-mode ce-* values decode leniently', () => {
  it('a % not followed by two hex digits is a literal; %XX is a byte', async () => {
    const t = await tap(b.bridge.broker, 'pct', 'acme/pct/v1');
    const r = await b.post(
      '{"a":1}',
      binaryHeaders({ 'ce-topic': 'acme/pct/v1', 'ce-subject': '100% sure, 50%-off, %zz, caf%C3%A9 %' }),
    );
    expect(r.status).toBe(200);
    await t.until(1);
    expect(JSON.parse(Buffer.from(t.got[0]!.body).toString()).subject).toBe(
      '100% sure, 50%-off, %zz, café %',
    );
    await t.close();
  });
});
