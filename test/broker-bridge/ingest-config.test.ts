// Bridge configuration and broker selection: bad files are refused naming the field, environment
// overrides apply, the URL scheme picks the adapter.
import { afterAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBroker } from '../../broker-bridge/brokers/index.js';
import { configFromObject, loadBridgeConfig } from '../../broker-bridge/config.js';
import { removeDir, tempDir } from './ingest-fixture.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await removeDir(d);
});

describe('bridge config', () => {
  it('defaults to the embedded broker under the git-ignored .sidecast-data/ with authentication on', () => {
    const c = configFromObject({}, 'bridge.yaml', '/srv/sidecast');
    expect(c.broker.url).toBe('embedded:///srv/sidecast/.sidecast-data/broker');
    expect(c.spool.dir).toBe('/srv/sidecast/.sidecast-data/spool');
    expect(c.auth.allowUnauthenticated).toBe(false);
  });

  it('names every bad field of a file', () => {
    expect(() =>
      configFromObject({ http: { port: 'eighty' }, limits: { maxEventBytes: 0 }, brokr: {} }, 'bridge.yaml'),
    ).toThrow(
      [
        'invalid bridge config:',
        'bridge.yaml: (top level) must NOT have additional properties "brokr"',
        'bridge.yaml: /http/port must be integer',
        'bridge.yaml: /limits/maxEventBytes must be >= 1',
      ].join('\n'),
    );
    expect(() =>
      configFromObject(
        { auth: { producers: [{ name: 'p', tokens: ['short'], topics: ['a/>'] }] } },
        'b.yaml',
      ),
    ).toThrow('b.yaml: /auth/producers/0/tokens/0 must NOT have fewer than 16 characters');
  });

  it('reads YAML, resolves TLS files, and applies environment overrides', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'k.pem'), 'KEY');
    await writeFile(join(dir, 'c.pem'), 'CERT');
    const file = join(dir, 'bridge.yaml');
    await writeFile(
      file,
      'broker: { url: "nats://127.0.0.1:4222" }\nhttp: { port: 8190, tls: { keyFile: k.pem, certFile: c.pem } }\ngrpc: null\n',
    );
    const c = loadBridgeConfig(file, { SIDECAST_HTTP_PORT: '9999', SIDECAST_ALLOW_UNAUTHENTICATED: 'true' });
    expect(c.broker.url).toBe('nats://127.0.0.1:4222');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9999, tls: { key: 'KEY', cert: 'CERT' } });
    expect(c.grpc).toBeNull();
    expect(c.auth.allowUnauthenticated).toBe(true);
    expect(() => loadBridgeConfig(file, { SIDECAST_ADMIN_PORT: 'x' })).toThrow(
      'SIDECAST_ADMIN_PORT="x" is not a port number',
    );
    await writeFile(file, 'http: [');
    expect(() => loadBridgeConfig(file, {})).toThrow(`bridge config ${file} is not valid YAML/JSON`);
    await writeFile(file, 'http: { tls: { keyFile: nope.pem, certFile: c.pem } }');
    expect(() => loadBridgeConfig(file, {})).toThrow('http.tls.keyFile: cannot read nope.pem');
  });
});

describe('broker registry', () => {
  it('picks the adapter by URL scheme without connecting', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    expect((await createBroker(`embedded://${dir}`)).kind).toBe('embedded');
    const nats = await createBroker('nats://127.0.0.1:1');
    expect(nats.kind).toBe('nats');
    expect(nats.isConnected()).toBe(false);
    expect((await createBroker('amqp://guest:guest@127.0.0.1:1')).kind).toBe('rabbitmq');
    expect((await createBroker('mqtt://127.0.0.1:1')).kind).toBe('mqtt');
  });

  it('names the supported schemes for an unknown one', async () => {
    await expect(createBroker('redis://localhost')).rejects.toThrow(
      'broker URL "redis://localhost": unsupported scheme "redis"; use one of embedded://, nats://',
    );
  });
});
