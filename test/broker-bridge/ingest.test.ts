// HTTP and gRPC ingest against a real bridge (embedded broker on disk): every accepted event is read
// back from the broker; every rejection path answers with its reason.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { CloudEvent, HTTP } from 'cloudevents';
import {
  encodeBatch,
  event,
  grpcPublish,
  removeDir,
  startBridge,
  tap,
  type Running,
} from './ingest-fixture.js';

let b: Running;
beforeAll(async () => {
  b = await startBridge({
    edit: (c) => (c.limits = { maxEventBytes: 4096, maxBatchBytes: 64 * 1024, maxBatchEvents: 50 }),
  });
});
afterAll(async () => {
  await b.stop();
  await removeDir(b.dir);
});

const reasonOf = async (ev: unknown): Promise<string> => {
  const r = await b.post([ev]);
  expect(r.status).toBe(400); // a batch with every event rejected (docs/broker-bridge.md, answer status)
  expect(r.json.results[0]!.status).toBe('rejected');
  return r.json.results[0]!.reason as string;
};

describe('HTTP ingest: accepted events reach the broker', () => {
  it('publishes a batch in order with the structured event as body', async () => {
    const t = await tap(b.bridge.broker, 'http-batch', 'acme/bank/account/>');
    const events = [
      event(),
      event({ partitionkey: 'acct-7' }),
      event({ topic: 'acme/bank/account/closed/v1' }),
    ];
    const r = await b.post(events);
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual(events.map((e) => ({ id: e.id, status: 'accepted' })));
    await t.until(3);
    expect(t.got.map((m) => [m.id, m.topic, m.key])).toEqual(
      events.map((e) => [e.id, e.topic, e.partitionkey]),
    );
    expect(JSON.parse(Buffer.from(t.got[1]!.body).toString())).toEqual(events[1]);
    await t.close();
  });

  it('takes a single structured-mode event', async () => {
    const t = await tap(b.bridge.broker, 'http-structured', 'acme/bank/account/opened/v1');
    const ev = event();
    const r = await b.post(ev, { 'content-type': 'application/cloudevents+json; charset=utf-8' });
    expect(r.json.results).toEqual([{ id: ev.id, status: 'accepted' }]);
    await t.until(1);
    expect(JSON.parse(Buffer.from(t.got[0]!.body).toString())).toEqual(ev);
    await t.close();
  });

  it('takes binary mode as produced by the official cloudevents SDK', async () => {
    const t = await tap(b.bridge.broker, 'http-binary', 'acme/bank/>');
    const ce = new CloudEvent({
      id: 'bin-1',
      source: '//sdk',
      type: 'acme.sdk.v1',
      topic: 'acme/bank/sdk/v1',
      datacontenttype: 'application/json',
      data: { hello: 'world' },
    });
    const msg = HTTP.binary(ce);
    const r = await b.post(msg.body as string, msg.headers as Record<string, string>);
    expect(r.json.results).toEqual([{ id: 'bin-1', status: 'accepted' }]);
    await t.until(1);
    const body = JSON.parse(Buffer.from(t.got[0]!.body).toString());
    expect(body).toMatchObject({
      id: 'bin-1',
      source: '//sdk',
      type: 'acme.sdk.v1',
      topic: 'acme/bank/sdk/v1',
      data: { hello: 'world' },
    });
    await t.close();
  });

  it('carries non-JSON binary-mode bodies as data_base64', async () => {
    const t = await tap(b.bridge.broker, 'http-octets', 'acme/bin');
    const r = await b.post(Buffer.from([0, 1, 2, 255]), {
      'content-type': 'application/octet-stream',
      'ce-specversion': '1.0',
      'ce-id': 'oct-1',
      'ce-source': '//s',
      'ce-type': 't.v1',
      'ce-topic': 'acme/bin',
    });
    expect(r.json.results[0]!.status).toBe('accepted');
    await t.until(1);
    expect(JSON.parse(Buffer.from(t.got[0]!.body).toString()).data_base64).toBe('AAEC/w==');
    await t.close();
  });
});

describe('HTTP ingest: per-event rejections name the event and the problem', () => {
  it.each([
    ['id', 'missing required attribute "id"'],
    ['source', 'missing required attribute "source"'],
    ['type', 'missing required attribute "type"'],
    ['specversion', 'missing required attribute "specversion"'],
    ['topic', 'missing extension attribute "topic"'],
  ])('missing %s', async (attr, reason) => {
    const ev = event();
    delete ev[attr];
    expect(await reasonOf(ev)).toContain(reason);
  });

  it('rejects an unsupported specversion', async () => {
    expect(await reasonOf(event({ specversion: '0.3' }))).toBe(
      'event: specversion "0.3" is not supported; send "1.0"',
    );
  });

  it('rejects a non-string or empty required attribute', async () => {
    expect(await reasonOf(event({ source: 42 }))).toBe(
      'event: attribute "source" must be a non-empty string',
    );
    expect(await reasonOf(event({ type: '' }))).toBe('event: attribute "type" must be a non-empty string');
  });

  it.each([
    ['acme//x', 'empty level'],
    ['acme/*/x', 'wildcard "*" is not allowed in a topic'],
    ['acme/a b', 'contains whitespace'],
  ])('rejects topic %j by the topic grammar', async (topic, reason) => {
    const got = await reasonOf(event({ topic }));
    expect(got).toContain(`invalid topic ${JSON.stringify(topic)}`);
    expect(got).toContain(reason);
  });

  it('rejects attribute values that are not CloudEvents scalars', async () => {
    expect(await reasonOf(event({ tenant: { id: 1 } }))).toBe(
      'event: attribute "tenant" must be a string, boolean or integer, got an object',
    );
    expect(await reasonOf(event({ ratio: 0.5 }))).toBe(
      'event: attribute "ratio" must be a string, boolean or integer, got 0.5',
    );
    expect(await reasonOf(event({ subject: null }))).toBe(
      'event: attribute "subject" must be a string, boolean or integer, got null',
    );
  });

  it('rejects a bad attribute name, time, and data/data_base64 together', async () => {
    expect(await reasonOf(event({ Tenant: 'x' }))).toContain(
      'attribute name "Tenant" is not lower-case letters and digits',
    );
    expect(await reasonOf(event({ time: 'yesterday' }))).toContain(
      'attribute "time" must be an RFC 3339 timestamp, got "yesterday"',
    );
    expect(await reasonOf(event({ data_base64: 'AAAA' }))).toContain('has both "data" and "data_base64"');
  });

  it('rejects an event over limits.maxEventBytes and a batch element that is not an object', async () => {
    const r = await b.post([event(), event({ data: 'x'.repeat(5000) }), 'nope']);
    expect(r.json.results[0]!.status).toBe('accepted');
    expect(r.json.results[1]!.reason).toMatch(
      /^event #1: event is \d+ bytes, over the 4096-byte limit \(limits.maxEventBytes\)$/,
    );
    expect(r.json.results[2]).toEqual({
      id: '',
      status: 'rejected',
      reason: 'event #2 is not a JSON object',
    });
  });

  it('counts rejections by reason in /metrics (and /healthz answers)', async () => {
    expect((await fetch(`http://127.0.0.1:${b.bridge.ports.admin}/healthz`)).status).toBe(200);
    const text = await (await fetch(`http://127.0.0.1:${b.bridge.ports.admin}/metrics`)).text();
    expect(text).toMatch(/sidecast_bridge_events_rejected_total\{reason="missing_attribute"\} [1-9]/);
    expect(text).toMatch(/sidecast_bridge_events_rejected_total\{reason="bad_topic"\} [1-9]/);
    expect(text).toMatch(/sidecast_bridge_events_rejected_total\{reason="oversize"\} [1-9]/);
  });
});

describe('HTTP ingest: whole-request errors', () => {
  it('400 on malformed JSON and on a batch that is not an array', async () => {
    const bad = await b.post('[{"id": ');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('batch body is not valid JSON');
    const obj = await b.post(event());
    expect(obj.status).toBe(400);
    expect(obj.json.error).toBe('batch body must be a JSON array of CloudEvents, got an object');
  });

  it('400 on a binary-mode JSON body that does not parse', async () => {
    const r = await b.post('{oops', {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'x',
      'ce-source': '//s',
      'ce-type': 't',
      'ce-topic': 'a/b',
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toContain('binary-mode body (content-type application/json) is not valid JSON');
  });

  it('413 on too many events and on too many bytes', async () => {
    const many = await b.post(Array.from({ length: 51 }, () => event()));
    expect(many.status).toBe(413);
    expect(many.json.error).toBe(
      'batch has 51 events, over the limit of 50 (limits.maxBatchEvents); split it',
    );
    const big = await b.post(JSON.stringify([event({ data: 'y'.repeat(70 * 1024) })]));
    expect(big.status).toBe(413);
    expect(big.json.error).toContain('over the 65536-byte limit (limits.maxBatchBytes)');
  });

  it('415 on an unsupported content type', async () => {
    const r = await b.post('hello', { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.json.error).toContain('content-type "text/plain" is not supported');
  });

  it('404 elsewhere and 405 for other methods', async () => {
    expect((await fetch(b.url.replace('/v1/events', '/v2'))).status).toBe(404);
    const get = await fetch(b.url);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { error: string }).error).toBe('GET not allowed; use POST /v1/events');
  });
});

describe('gRPC ingest (CloudEvents protobuf format)', () => {
  const protoEvent = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    source: '//grpc.producer',
    spec_version: '1.0',
    type: 'acme.grpc.v1',
    attributes: {
      topic: { ce_string: 'acme/grpc/v1' },
      datacontenttype: { ce_string: 'application/json' },
      time: { ce_timestamp: { seconds: 1795800000, nanos: 123000000 } },
      partitionkey: { ce_string: 'k1' },
    },
    text_data: '{"n":1}',
    ...extra,
  });

  it('accepts a batch and publishes structured JSON equivalents', async () => {
    const t = await tap(b.bridge.broker, 'grpc-batch', 'acme/grpc/>');
    const res = await grpcPublish(
      b.bridge.ports.grpc!,
      encodeBatch([
        protoEvent('g1'),
        { ...protoEvent('g2'), text_data: undefined, binary_data: Buffer.from([1, 2]) },
      ]),
    );
    expect(res.results).toEqual([
      { id: 'g1', status: 'ACCEPTED' },
      { id: 'g2', status: 'ACCEPTED' },
    ]);
    await t.until(2);
    expect(JSON.parse(Buffer.from(t.got[0]!.body).toString())).toEqual({
      id: 'g1',
      source: '//grpc.producer',
      specversion: '1.0',
      type: 'acme.grpc.v1',
      topic: 'acme/grpc/v1',
      datacontenttype: 'application/json',
      time: '2026-11-27T17:20:00.123Z',
      partitionkey: 'k1',
      data: { n: 1 },
    });
    expect(t.got[0]!.key).toBe('k1');
    expect(JSON.parse(Buffer.from(t.got[1]!.body).toString()).data_base64).toBe('AQI=');
    await t.close();
  });

  it('rejects events one by one with reasons', async () => {
    const noTopic = protoEvent('g3');
    noTopic.attributes = { ...noTopic.attributes, topic: undefined as never };
    delete (noTopic.attributes as Record<string, unknown>).topic;
    const res = await grpcPublish(
      b.bridge.ports.grpc!,
      encodeBatch([noTopic, protoEvent('g4', { text_data: '{broken' }), protoEvent('', {})]),
    );
    expect(res.results[0]).toMatchObject({ id: 'g3', status: 'REJECTED' });
    expect(res.results[0]!.reason).toContain('missing extension attribute "topic"');
    expect(res.results[1]!.reason).toContain(
      'event #1: text_data is not valid JSON although datacontenttype is application/json',
    );
    expect(res.results[2]!.reason).toBe('event #2: missing required attribute "id"');
  });

  it('answers INVALID_ARGUMENT naming the problem for a malformed protobuf', async () => {
    const err = await grpcPublish(b.bridge.ports.grpc!, Buffer.from([0x0a, 0xff, 0xff, 0x01])).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toContain(
      'request is not a valid io.cloudevents.v1.CloudEventBatch protobuf',
    );
  });

  it('answers INVALID_ARGUMENT for a batch over limits.maxBatchBytes', async () => {
    const big = encodeBatch([protoEvent('big', { text_data: JSON.stringify('z'.repeat(70 * 1024)) })]);
    const err = await grpcPublish(b.bridge.ports.grpc!, big).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toContain('over the 65536-byte limit (limits.maxBatchBytes)');
  });
});
