// Data contracts at ingest: EventContract resources (as the xds-server encodes them) decoded and
// compiled by the bridge, then each policy against bad payloads on a real bridge (embedded broker).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeContract } from '../../../broker-bridge/contracts/resource.js';
import { encodeEventContract, type EventContractJson } from '../../../proto/sidecast.js';
import { event, removeDir, startBridge, tap, type Running } from '../ingest-fixture.js';

const schema = {
  type: 'object',
  required: ['owner', 'address'],
  additionalProperties: false,
  properties: {
    owner: { type: 'string', minLength: 1 },
    region: { enum: ['eu', 'us'] },
    notes: { type: 'string' },
    address: {
      type: 'object',
      properties: {
        geo: {
          type: 'object',
          properties: { cell: { type: 'object', properties: { id: { type: 'integer' } } } },
        },
      },
    },
  },
};
const contract = (
  type: string,
  policy: EventContractJson['policy'],
  extra: Partial<EventContractJson> = {},
) => {
  const name = `accounts/${type}`;
  const json: EventContractJson = {
    name,
    type,
    schema_json: JSON.stringify(schema),
    schema_id: `urn:sidecast:schema:${name}:v1`,
    policy,
    ...extra,
  };
  return decodeContract(name, encodeEventContract(json));
};
const good = { owner: 'Ada', region: 'eu', address: { geo: { cell: { id: 7 } } } };

describe('EventContract resources', () => {
  test('a bad schema or a missing dead-letter topic is an error naming the resource and field', () => {
    const bad = (over: Partial<EventContractJson>) => () =>
      decodeContract(
        'accounts/x',
        encodeEventContract({ name: 'accounts/x', type: 'x', schema_json: '{}', schema_id: 'u', ...over }),
      );
    expect(bad({ schema_json: '{"type": 12}' })).toThrow(
      /^EventContract "accounts\/x": schema_json: not a valid JSON Schema: /,
    );
    expect(bad({ schema_json: 'nope' })).toThrow(/schema_json: schema is not JSON/);
    expect(bad({ policy: 'DEAD_LETTER' })).toThrow(
      /dead_letter_topic: is empty; the DEAD_LETTER policy needs one/,
    );
    expect(bad({ name: 'accounts/y' })).toThrow(/name: "accounts\/y" differs from the xDS resource name/);
  });
});

describe("ingest checks data against the event type's contract", () => {
  let b: Running;
  beforeAll(async () => {
    b = await startBridge({
      edit: (c) => {
        c.limits.maxEventBytes = 2 * 1024 * 1024;
        c.limits.maxBatchBytes = 8 * 1024 * 1024;
      },
    });
    b.bridge.contracts.set([
      contract('acme.reject.v1', 'REJECT'),
      contract('acme.dl.v1', 'DEAD_LETTER', { dead_letter_topic: 'acme/dlq/contracts' }),
      contract('acme.warn.v1', 'WARN'),
    ]);
  });
  afterAll(async () => {
    await b.stop();
    await removeDir(b.dir);
  });
  const violations = async (policy: string) =>
    (await b.bridge.metrics.registry.getSingleMetric('sidecast_bridge_schema_violations_total')!.get()).values
      .filter((v) => v.labels.policy === policy)
      .reduce((n, v) => n + v.value, 0);

  test('reject: each bad payload is rejected with the event, the JSON path and the rule; good ones pass', async () => {
    const type = 'acme.reject.v1';
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, owner: 42 }, /data\/owner: must be string \(type, schema #\/properties\/owner\/type\)/],
      [{ region: 'eu', address: {} }, /data: must have required property 'owner' \(required/],
      [
        { ...good, nickname: 'x' },
        /data: must NOT have additional properties "nickname" \(additionalProperties/,
      ],
      [
        { ...good, address: { geo: { cell: { id: 'seven' } } } },
        /data\/address\/geo\/cell\/id: must be integer \(type, schema #\/properties\/address\/properties\/geo\/properties\/cell\/properties\/id\/type\)/,
      ],
      [
        { ...good, notes: 'x'.repeat(1024 * 1024), region: 'mars' },
        /data\/region: must be equal to one of the allowed values \(enum/,
      ],
    ];
    const events = cases.map(([data]) => event({ type, data }));
    const reply = await b.post([
      ...events,
      event({ type, data: good }),
      event({ type, data: { ...good, notes: 'y'.repeat(1024 * 1024) } }),
    ]);
    expect(reply.status).toBe(207); // some rejected (docs/broker-bridge.md, answer status)
    cases.forEach(([, reason], i) => {
      const r = reply.json.results[i]!;
      expect(r.status).toBe('rejected');
      expect(r.reason).toContain(
        `event #${i} (id "${String(events[i]!.id)}", type acme.reject.v1) breaks the data contract of EventRoute accounts/acme.reject.v1 (urn:sidecast:schema:accounts/acme.reject.v1:v1): `,
      );
      expect(r.reason).toMatch(reason);
    });
    expect(reply.json.results.slice(cases.length).map((r) => r.status)).toEqual(['accepted', 'accepted']);
    expect(await violations('reject')).toBe(cases.length);
  });

  test('deadLetter: the event is accepted and lands on the dead-letter topic with the reason, not on its own', async () => {
    const dlq = await tap(b.bridge.broker, 'contracts-dlq', 'acme/dlq/contracts');
    const own = await tap(b.bridge.broker, 'contracts-own', 'acme/bank/account/opened/v1');
    const bad = event({ type: 'acme.dl.v1', data: { owner: '' } });
    const fine = event({ type: 'acme.dl.v1', data: good });
    const reply = await b.post([bad, fine]);
    expect(reply.json.results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    await dlq.until(1);
    await own.until(1);
    const dead = JSON.parse(Buffer.from(dlq.got[0]!.body).toString()) as Record<string, unknown>;
    expect(dead).toMatchObject({
      id: bad.id,
      type: 'acme.dl.v1',
      data: { owner: '' },
      deadletterorigtopic: 'acme/bank/account/opened/v1',
    });
    expect(String(dead.deadletterreason)).toMatch(
      /data\/owner: must NOT have fewer than 1 characters \(minLength/,
    );
    expect(String(dead.deadletterreason)).toMatch(/data: must have required property 'address'/);
    expect(own.got.map((m) => m.id)).toEqual([fine.id]);
    expect(await violations('deadLetter')).toBe(1);
    await dlq.close();
    await own.close();
  });

  test('warn: the event is published as it is and counted', async () => {
    const own = await tap(b.bridge.broker, 'contracts-warn', 'acme/bank/account/opened/v1');
    const bad = event({ type: 'acme.warn.v1', data: [1, 2, 3] });
    const reply = await b.post([bad]);
    expect(reply.json.results[0]!.status).toBe('accepted');
    await own.until(1);
    expect(JSON.parse(Buffer.from(own.got[0]!.body).toString()).data).toEqual([1, 2, 3]);
    expect(await violations('warn')).toBe(1);
    await own.close();
  });

  test('events of types without a contract are not checked', async () => {
    const reply = await b.post([event({ type: 'acme.other.v1', data: 'anything' })]);
    expect(reply.json.results[0]!.status).toBe('accepted');
  });
});
