// Producer identity from x-forwarded-client-cert (Istio): trusted only when configured, taken from
// the element the bridge's own sidecar appended (the last, with its By=), then the same per-topic
// ACLs as tokens and client certificates.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthConfig } from '../../broker-bridge/auth/producers.js';
import { forwardedIdentities, parseXfcc } from '../../broker-bridge/auth/xfcc.js';
import { event, removeDir, startBridge, type Running } from './ingest-fixture.js';

const BRIDGE_ID = 'spiffe://cluster.local/ns/sidecast/sa/sidecast-bridge';
const xfcc = (uri: string, by = BRIDGE_ID) => `By=${by};Hash=0a1b2c;Subject="";URI=${uri}`;
const AUTH: AuthConfig = {
  allowUnauthenticated: false,
  forwardedClientCert: { trust: true, by: [BRIDGE_ID] },
  producers: [
    { name: 'bank-workloads', identities: ['spiffe://cluster.local/ns/bank/sa/*'], topics: ['acme/bank/>'] },
    { name: 'audit', identities: ['spiffe://cluster.local/ns/ops/sa/audit'], topics: ['acme/audit/>'] },
  ],
};
const json = { 'content-type': 'application/cloudevents-batch+json' };

describe('x-forwarded-client-cert parsing', () => {
  it('reads quoted values, several elements, and takes the identities of the last one', () => {
    const header = `By=spiffe://x/evil;URI=spiffe://cluster.local/ns/ops/sa/audit,By=${BRIDGE_ID};Subject="CN=a, O=\\"b\\"";URI=spiffe://cluster.local/ns/bank/sa/accounts`;
    expect(parseXfcc(header)).toEqual([
      { By: ['spiffe://x/evil'], URI: ['spiffe://cluster.local/ns/ops/sa/audit'] },
      { By: [BRIDGE_ID], Subject: ['CN=a, O="b"'], URI: ['spiffe://cluster.local/ns/bank/sa/accounts'] },
    ]);
    expect(forwardedIdentities(header, [BRIDGE_ID])).toEqual(['spiffe://cluster.local/ns/bank/sa/accounts']);
    expect(forwardedIdentities(header, ['spiffe://cluster.local/ns/other/sa/x'])).toEqual([]);
  });
});

describe('ingest with producer identity from the Istio sidecar', () => {
  let trusting: Running;
  let plain: Running;
  beforeAll(async () => {
    trusting = await startBridge({ edit: (c) => (c.auth = AUTH) });
    plain = await startBridge({ edit: (c) => (c.auth = { ...AUTH, forwardedClientCert: undefined }) });
  });
  afterAll(async () => {
    for (const b of [trusting, plain]) {
      await b.stop();
      await removeDir(b.dir);
    }
  });

  it('applies the per-topic ACLs of the producer the forwarded SPIFFE ID matches', async () => {
    const ok = event({ topic: 'acme/bank/account/opened/v1' });
    const denied = event({ topic: 'acme/audit/read/v1' });
    const r = await trusting.post([ok, denied], {
      ...json,
      'x-forwarded-client-cert': xfcc('spiffe://cluster.local/ns/bank/sa/accounts'),
    });
    expect(r.status).toBe(207); // one accepted, one rejected
    expect(r.json.results).toEqual([
      { id: ok.id, status: 'accepted' },
      {
        id: denied.id,
        status: 'rejected',
        reason:
          'event #1: producer "bank-workloads" may not publish to topic "acme/audit/read/v1" (allowed: acme/bank/>)',
      },
    ]);
  });

  it("a client cannot claim another identity by sending an element of its own before the sidecar's", async () => {
    const audit = event({ topic: 'acme/audit/read/v1' });
    const forged = `By=${BRIDGE_ID};URI=spiffe://cluster.local/ns/ops/sa/audit,${xfcc('spiffe://cluster.local/ns/bank/sa/accounts')}`;
    const r = await trusting.post([audit], { ...json, 'x-forwarded-client-cert': forged });
    expect(r.json.results[0]).toMatchObject({
      status: 'rejected',
      reason: expect.stringContaining('producer "bank-workloads"'),
    });
  });

  it("refuses an element not set by the bridge's own sidecar, and an identity no producer lists", async () => {
    const other = await trusting.post([event()], {
      ...json,
      'x-forwarded-client-cert': xfcc(
        'spiffe://cluster.local/ns/bank/sa/accounts',
        'spiffe://cluster.local/ns/x/sa/y',
      ),
    });
    expect(other.status).toBe(401);
    expect(other.json.error).toContain(`x-forwarded-client-cert names no peer identity set by ${BRIDGE_ID}`);
    const stranger = await trusting.post([event()], {
      ...json,
      'x-forwarded-client-cert': xfcc('spiffe://cluster.local/ns/shop/sa/cart'),
    });
    expect(stranger.status).toBe(403);
    expect(stranger.json.error).toBe(
      'forwarded identities ["spiffe://cluster.local/ns/shop/sa/cart"] match no producer (auth.producers[].identities)',
    );
  });

  it('ignores the header entirely unless forwardedClientCert.trust is configured', async () => {
    const r = await plain.post([event({ topic: 'acme/bank/account/opened/v1' })], {
      ...json,
      'x-forwarded-client-cert': xfcc('spiffe://cluster.local/ns/bank/sa/accounts'),
    });
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(/^no credentials/);
  });
});
