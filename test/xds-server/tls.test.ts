// Optional TLS / mTLS on the gRPC port (through startXdsServer, as the CLI runs it), with
// certificates made by openssl for this test.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';
import { sotwStream } from './ads-client.js';
import { ENVOY_NODE, TYPE } from './fixtures.js';

let dir: string;
let xds: RunningXdsServer;
const file = (name: string) => join(dir, name);

function issue(name: string, subject: string, ext: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file(`${name}.key`),
    '-subj',
    subject,
    '-out',
    file(`${name}.csr`),
  );
  writeFileSync(file(`${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    file(`${name}.csr`),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-out',
    file(`${name}.crt`),
    '-extfile',
    file(`${name}.ext`),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sidecast-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '1',
      '-subj',
      '/CN=sidecast-test-ca',
    ],
    { stdio: 'pipe' },
  );
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  issue('client', '/CN=envoy-tls', 'extendedKeyUsage=clientAuth\n');
  writeFileSync(
    file('mesh.yaml'),
    'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: tls-svc }\nspec:\n  endpoints: ["127.0.0.1:8080"]\n',
  );
  xds = await startXdsServer({
    mesh: file('mesh.yaml'),
    grpcAddress: '127.0.0.1:0',
    adminAddress: null,
    tls: { cert: file('server.crt'), key: file('server.key'), clientCa: file('ca.crt') },
    logger: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await xds?.close();
  rmSync(dir, { recursive: true, force: true });
});

const connect = (creds: grpc.ChannelCredentials) => new grpc.Client(`127.0.0.1:${xds.grpcPort}`, creds);

describe('gRPC TLS', () => {
  it('serves a client presenting a certificate from the client CA (mTLS)', async () => {
    const client = connect(
      grpc.credentials.createSsl(
        readFileSync(file('ca.crt')),
        readFileSync(file('client.key')),
        readFileSync(file('client.crt')),
      ),
    );
    const s = sotwStream(client);
    s.send({ node: ENVOY_NODE('envoy-tls', 'tls-svc'), type_url: TYPE.cluster, resource_names: [] });
    const r = await s.next();
    expect(r.resources.length).toBeGreaterThan(0);
    s.close();
    client.close();
  });

  it('refuses a client without a certificate', async () => {
    const client = connect(grpc.credentials.createSsl(readFileSync(file('ca.crt'))));
    const s = sotwStream(client);
    s.send({ node: ENVOY_NODE('anon', 'tls-svc'), type_url: TYPE.cluster, resource_names: [] });
    const st = await s.status(10_000);
    expect(st.code).toBe(grpc.status.UNAVAILABLE);
    client.close();
  });
});
