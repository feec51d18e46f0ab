import { afterEach, describe, expect, test } from '@jest/globals';
import { DeltaXdsClient } from '../../broker-bridge/xds/delta-client.js';
import { SUBSCRIPTION_TYPE_URL, decodeSubscription } from '../../broker-bridge/xds/subscription-resource.js';
import { encodeSubscription, type SubscriptionJson } from '../../proto/sidecast.js';
import type { SubscriptionSpec } from '../../broker-bridge/delivery/spec.js';
import { DeltaAdsTestServer } from './delta-ads-test-server.js';

const any = (obj: SubscriptionJson) => ({
  type_url: SUBSCRIPTION_TYPE_URL,
  value: Buffer.from(encodeSubscription(obj)),
});
const sub = (name: string, extra: Partial<SubscriptionJson> = {}): SubscriptionJson => ({
  name,
  service: name.split('/')[0]!,
  topics: ['acme/bank/account/>'],
  delivery: { url: 'http://127.0.0.1:9/events', timeout: '2s' },
  ...extra,
});

let server: DeltaAdsTestServer | undefined;
let client: DeltaXdsClient<SubscriptionSpec> | undefined;
afterEach(() => {
  client?.close();
  server?.stop();
  client = server = undefined;
});

/** A test server, a client connected to it, the client's first request and the updates it reports. */
async function connect() {
  server = new DeltaAdsTestServer();
  const port = await server.start();
  const streamP = server.nextStream();
  const updates: Array<ReadonlyMap<string, SubscriptionSpec>> = [];
  client = new DeltaXdsClient<SubscriptionSpec>({
    server: `127.0.0.1:${port}`,
    node: { id: 'sidecast-bridge-test', metadata: { 'sidecast.role': 'bridge' } },
    typeUrl: SUBSCRIPTION_TYPE_URL,
    decode: decodeSubscription,
    onChange: (m) => updates.push(m),
    backoff: { baseDelayMs: 20, maxDelayMs: 100 },
  });
  client.start();
  const s = await streamP;
  const first = await s.next();
  return { port, s, first, updates };
}

describe('delta xDS client', () => {
  test('subscribes by wildcard with node identity, applies resources and ACKs each nonce', async () => {
    const { s, first, updates } = await connect();
    expect(first.type_url).toBe(SUBSCRIPTION_TYPE_URL);
    expect(first.resource_names_subscribe).toEqual(['*']);
    expect(first.node?.id).toBe('sidecast-bridge-test');
    expect(first.node?.metadata?.fields['sidecast.role']).toMatchObject({ stringValue: 'bridge' });

    const nonce = s.send({
      type_url: SUBSCRIPTION_TYPE_URL,
      resources: [{ name: 'audit/all', version: 'v1', resource: any(sub('audit/all')) }],
    });
    const ack = await s.next();
    expect(ack).toMatchObject({ type_url: SUBSCRIPTION_TYPE_URL, response_nonce: nonce });
    expect(ack.error_detail).toBeFalsy();
    expect(updates).toHaveLength(1);
    expect(updates[0]!.get('audit/all')).toMatchObject({
      service: 'audit',
      url: 'http://127.0.0.1:9/events',
      timeoutMs: 2000,
    });

    const n2 = s.send({ type_url: SUBSCRIPTION_TYPE_URL, resources: [], removed_resources: ['audit/all'] });
    expect((await s.next()).response_nonce).toBe(n2);
    expect(updates).toHaveLength(2);
    expect(updates[1]!.size).toBe(0);
  });

  test('NACKs an invalid resource naming resource and field, applies the valid ones, keeps the last good version', async () => {
    const { s, updates } = await connect();
    s.send({
      type_url: SUBSCRIPTION_TYPE_URL,
      resources: [{ name: 'audit/all', version: 'v1', resource: any(sub('audit/all')) }],
    });
    await s.next();

    const bad = sub('audit/all', { delivery: { url: 'ftp://nowhere/x' } });
    const nonce = s.send({
      type_url: SUBSCRIPTION_TYPE_URL,
      resources: [
        { name: 'audit/all', version: 'v2', resource: any(bad) },
        { name: 'notifications/accounts', version: 'v1', resource: any(sub('notifications/accounts')) },
        { name: 'analytics/x', version: 'v1', resource: any(sub('analytics/x', { topics: ['a/>/b'] })) },
      ],
    });
    const nack = await s.next();
    expect(nack.response_nonce).toBe(nonce);
    expect(nack.error_detail?.code).toBe(3);
    expect(nack.error_detail?.message).toContain(
      'Subscription "audit/all": delivery.url: "ftp://nowhere/x" must be http:// or https://',
    );
    expect(nack.error_detail?.message).toContain('Subscription "analytics/x": topics[0]:');
    const last = updates.at(-1)!;
    expect([...last.keys()].sort()).toEqual(['audit/all', 'notifications/accounts']);
    expect(last.get('audit/all')!.url).toBe('http://127.0.0.1:9/events');
    expect(client!.status()).toMatchObject({
      nacks: 1,
      acks: 1,
      versions: { 'audit/all': 'v1', 'notifications/accounts': 'v1' },
    });
  });

  test('NACKs a wrong Any type, a name mismatch and a name given twice', async () => {
    const { s, updates } = await connect();
    s.send({
      type_url: SUBSCRIPTION_TYPE_URL,
      resources: [
        {
          name: 'a/b',
          version: '1',
          resource: {
            type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
            value: Buffer.alloc(0),
          },
        },
        { name: 'c/d', version: '1', resource: any(sub('c/other')) },
        { name: 'e/f', version: '1', resource: any(sub('e/f')) },
        { name: 'e/f', version: '2', resource: any(sub('e/f')) },
      ],
    });
    const nack = await s.next();
    expect(nack.error_detail?.message).toContain(
      'resource "a/b" has type "type.googleapis.com/envoy.config.cluster.v3.Cluster"',
    );
    expect(nack.error_detail?.message).toContain(
      'Subscription "c/d": name: "c/other" differs from the xDS resource name',
    );
    expect(nack.error_detail?.message).toContain('resource "e/f" appears twice in one response');
    expect([...updates.at(-1)!.keys()]).toEqual(['e/f']);
  });

  test('keeps the last good set while the control plane is down, reconnects with initial_resource_versions', async () => {
    const { port, s, updates } = await connect();
    s.send({
      type_url: SUBSCRIPTION_TYPE_URL,
      resources: [
        { name: 'audit/all', version: 'v1', resource: any(sub('audit/all')) },
        { name: 'analytics/all', version: 'v7', resource: any(sub('analytics/all')) },
      ],
    });
    await s.next();
    server!.stop();
    server = new DeltaAdsTestServer();
    const again = server.nextStream(10_000);
    await server.start(port);
    expect(client!.resources().size).toBe(2);
    const s2 = await again;
    const hello = await s2.next();
    expect(hello.resource_names_subscribe).toEqual(['*']);
    expect(hello.initial_resource_versions).toEqual({ 'audit/all': 'v1', 'analytics/all': 'v7' });
    expect(hello.node?.id).toBe('sidecast-bridge-test');
    // The control plane dropped analytics while we were away.
    s2.send({ type_url: SUBSCRIPTION_TYPE_URL, resources: [], removed_resources: ['analytics/all'] });
    await s2.next();
    expect([...updates.at(-1)!.keys()]).toEqual(['audit/all']);
    expect(client!.status().lastStreamError).toBeDefined();
  });
});
