// Producer authentication and topic ACLs: bearer tokens over HTTP and gRPC, mTLS identities with
// certificates made in the test by the openssl CLI (a private CA, a rogue CA, several clients).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import type { AuthConfig } from '../../broker-bridge/auth/producers.js';
import {
  encodeBatch,
  event,
  grpcPublish,
  removeDir,
  startBridge,
  tempDir,
  type Reply,
  type Running,
} from './ingest-fixture.js';

const TOKEN = 'orders-token-0123456789abcdef';
const AUTH: AuthConfig = {
  allowUnauthenticated: false,
  producers: [
    { name: 'orders', tokens: [TOKEN], topics: ['acme/orders/>'] },
    {
      name: 'payments-mtls',
      identities: ['spiffe://cluster.local/ns/bank/sa/payments'],
      topics: ['acme/payments/*/v1'],
    },
  ],
};

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI)
      throw new Error('the openssl CLI is needed to make test certificates (apt-get install openssl)');
    console.log('SKIPPED: mTLS ingest tests need the openssl CLI; install openssl to run them');
    return false;
  }
}

interface Pem {
  key: string;
  cert: string;
}
/** A CA, then leaf certificates it signs (with SANs). */
function makePki(dir: string) {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  // A new EC key for `name`, as a self-signed certificate (extra: -x509 …) or a CSR.
  const newKey = (name: string, cn: string, out: string, ...extra: string[]): void =>
    run(
      'req',
      ...extra,
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      out,
      '-subj',
      `/CN=${cn}`,
    );
  const pem = (name: string): Pem => ({
    key: readFileSync(join(dir, `${name}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
  });
  const ca = (name: string): Pem => {
    newKey(name, name, `${name}.crt`, '-x509', '-days', '2');
    return pem(name);
  };
  const leaf = (name: string, signer: string, cn: string, san: string): Pem => {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    newKey(name, cn, `${name}.csr`);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${signer}.crt`,
      '-CAkey',
      `${signer}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
    return pem(name);
  };
  const root = ca('ca');
  ca('rogue');
  return {
    ca: root.cert,
    server: leaf('server', 'ca', 'localhost', 'DNS:localhost,IP:127.0.0.1'),
    payments: leaf('payments', 'ca', 'payments-sidecar', 'URI:spiffe://cluster.local/ns/bank/sa/payments'),
    stranger: leaf('stranger', 'ca', 'stranger', 'URI:spiffe://cluster.local/ns/bank/sa/stranger'),
    rogue: leaf(
      'rogue-client',
      'rogue',
      'payments-sidecar',
      'URI:spiffe://cluster.local/ns/bank/sa/payments',
    ),
  };
}

describe('bearer tokens and topic ACLs', () => {
  let b: Running;
  beforeAll(async () => {
    b = await startBridge({ edit: (c) => (c.auth = AUTH) });
  });
  afterAll(async () => {
    await b.stop();
    await removeDir(b.dir);
  });
  const json = { 'content-type': 'application/cloudevents-batch+json' };
  const orderEvent = () => event({ topic: 'acme/orders/created/v1' });

  it('401 without credentials when unauthenticated ingest is off', async () => {
    const r = await b.post([orderEvent()]);
    expect(r.status).toBe(401);
    expect(r.json.error).toBe(
      'no credentials: send "Authorization: Bearer <token>" or a client certificate (unauthenticated ingest is disabled)',
    );
  });

  it('401 for a malformed Authorization header and for an unknown token', async () => {
    const basic = await b.post([orderEvent()], { ...json, authorization: 'Basic b3JkZXJzOnB3' });
    expect(basic.status).toBe(401);
    expect(basic.json.error).toBe('Authorization header is not "Bearer <token>"');
    const wrong = await b.post([orderEvent()], { ...json, authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe('bearer token is not known to this bridge (auth.producers[].tokens)');
  });

  it('accepts allowed topics and rejects the others per event, naming producer and allowed patterns', async () => {
    const ok = orderEvent();
    const denied = event({ topic: 'acme/payments/settled/v1' });
    const r = await b.post([ok, denied], { ...json, authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(207);
    expect(r.json.results).toEqual([
      { id: ok.id, status: 'accepted' },
      {
        id: denied.id,
        status: 'rejected',
        reason:
          'event #1: producer "orders" may not publish to topic "acme/payments/settled/v1" (allowed: acme/orders/>)',
      },
    ]);
  });

  it('applies the same rules to gRPC metadata', async () => {
    const batch = encodeBatch([
      {
        id: 'ga',
        source: '//o',
        spec_version: '1.0',
        type: 't.v1',
        attributes: { topic: { ce_string: 'acme/orders/x' } },
      },
    ]);
    const err = await grpcPublish(b.bridge.ports.grpc!, batch).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((err as grpc.ServiceError).details).toContain('no credentials');
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    expect((await grpcPublish(b.bridge.ports.grpc!, batch, { metadata: md })).results).toEqual([
      { id: 'ga', status: 'ACCEPTED' },
    ]);
  });

  it('refuses a config whose ACL pattern breaks the topic grammar, naming the field', async () => {
    const bad: AuthConfig = {
      allowUnauthenticated: false,
      producers: [{ name: 'x', tokens: ['t'.repeat(20)], topics: ['acme/>/x'] }],
    };
    await expect(startBridge({ edit: (c) => (c.auth = bad) })).rejects.toThrow(
      'auth.producers[0] (x).topics: invalid topic "acme/>/x": ">" may only be the last level',
    );
  });
});

const pkiAvailable = haveOpenssl();
(pkiAvailable ? describe : describe.skip)('mTLS producer identities', () => {
  let b: Running;
  let pki: ReturnType<typeof makePki>;
  let certDir: string;
  beforeAll(async () => {
    certDir = await tempDir();
    pki = makePki(certDir);
    const tls = { key: pki.server.key, cert: pki.server.cert, ca: pki.ca };
    b = await startBridge({
      edit: (c) => {
        c.auth = AUTH;
        c.http.tls = tls;
        c.grpc!.tls = tls;
      },
    });
  });
  afterAll(async () => {
    await b.stop();
    await removeDir(b.dir);
    await removeDir(certDir);
  });

  function post(body: unknown, client?: Pem): Promise<{ status: number; json: Reply }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: b.bridge.ports.http,
          path: '/v1/events',
          method: 'POST',
          ca: pki.ca,
          servername: 'localhost',
          ...(client ?? {}),
          headers: { 'content-type': 'application/cloudevents-batch+json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Reply }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  it('names the producer by the SPIFFE URI of a trusted client certificate and applies its ACL', async () => {
    const ok = event({ topic: 'acme/payments/settled/v1' });
    const denied = event({ topic: 'acme/orders/created/v1' });
    const r = await post([ok, denied], pki.payments);
    expect(r.status).toBe(207);
    expect(r.json.results[0]).toEqual({ id: ok.id, status: 'accepted' });
    expect(r.json.results[1]!.reason).toBe(
      'event #1: producer "payments-mtls" may not publish to topic "acme/orders/created/v1" (allowed: acme/payments/*/v1)',
    );
  });

  it('401 for a certificate from another CA, even with a known identity', async () => {
    const r = await post([event({ topic: 'acme/payments/settled/v1' })], pki.rogue);
    expect(r.status).toBe(401);
    expect(r.json.error).toMatch(
      /^client certificate is not trusted \(.+\); it must chain to the configured CA \(tls.ca\)$/,
    );
  });

  it('403 for a trusted certificate whose identity is no producer', async () => {
    const r = await post([event()], pki.stranger);
    expect(r.status).toBe(403);
    expect(r.json.error).toBe(
      'client certificate identities ["spiffe://cluster.local/ns/bank/sa/stranger","stranger"] match no producer (auth.producers[].identities)',
    );
  });

  it('401 over TLS without any client certificate or token', async () => {
    const r = await post([event()]);
    expect(r.status).toBe(401);
  });

  it('accepts gRPC from a client certificate and applies its ACL', async () => {
    const creds = grpc.credentials.createSsl(
      Buffer.from(pki.ca),
      Buffer.from(pki.payments.key),
      Buffer.from(pki.payments.cert),
    );
    const batch = encodeBatch([
      {
        id: 'm1',
        source: '//p',
        spec_version: '1.0',
        type: 't.v1',
        attributes: { topic: { ce_string: 'acme/payments/settled/v1' } },
      },
      {
        id: 'm2',
        source: '//p',
        spec_version: '1.0',
        type: 't.v1',
        attributes: { topic: { ce_string: 'acme/orders/x' } },
      },
    ]);
    const res = await grpcPublish(b.bridge.ports.grpc!, batch, {
      credentials: creds,
      options: { 'grpc.ssl_target_name_override': 'localhost' },
    });
    expect(res.results[0]).toEqual({ id: 'm1', status: 'ACCEPTED' });
    expect(res.results[1]).toMatchObject({ id: 'm2', status: 'REJECTED' });
    expect(res.results[1]!.reason).toContain('producer "payments-mtls" may not publish');
  });
});
