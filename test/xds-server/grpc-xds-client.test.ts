// The real xDS client @grpc/grpc-js-xds (which we did not write) resolves xds:///greeter from our
// server — mesh YAML → translation → cache → ADS — and calls a local grpc-js backend; then the
// mesh file changes (greeter moves to another endpoint) and the same channel follows, no restart.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { TYPE } from '../../proto/envoy.js';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';

register();

const WHO = '/sidecast.test.Who/Name';
const raw = (b: Buffer) => b;

async function backend(name: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(
    {
      Name: {
        path: WHO,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    { Name: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)) },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { port, server };
}

const meshYaml = (greeterPort: number) => `
apiVersion: sidecast.io/v1
kind: Service
metadata: { name: caller }
spec:
  endpoints: ["127.0.0.1:1"]
  calls: [greeter]
---
apiVersion: sidecast.io/v1
kind: Service
metadata: { name: greeter }
spec:
  endpoints: ["127.0.0.1:${greeterPort}"]
`;

let dir: string;
let meshFile: string;
let xds: RunningXdsServer;
let backends: Array<{ port: number; server: grpc.Server }>;
let client: grpc.Client;

beforeAll(async () => {
  backends = [await backend('backend-1'), await backend('backend-2')];
  dir = mkdtempSync(join(tmpdir(), 'sidecast-xds-'));
  meshFile = join(dir, 'mesh.yaml');
  writeFileSync(meshFile, meshYaml(backends[0]!.port));
  xds = await startXdsServer({
    mesh: meshFile,
    grpcAddress: '127.0.0.1:0',
    adminAddress: '127.0.0.1:0',
    debounceMs: 20,
    logger: pino({ level: 'silent' }),
  });
  const bootstrap = {
    xds_servers: [
      {
        server_uri: `127.0.0.1:${xds.grpcPort}`,
        channel_creds: [{ type: 'insecure' }],
        server_features: ['xds_v3'],
      },
    ],
    node: { id: 'caller-1', cluster: 'caller', locality: {} },
  };
  // Per-channel bootstrap (grpc-js-xds's test hook), so this file needs no process-wide env.
  client = new grpc.Client('xds:///greeter', grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
});

afterAll(async () => {
  client?.close();
  await xds?.close();
  for (const b of backends ?? []) b.server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

const call = () =>
  new Promise<string>((resolve, reject) =>
    client.makeUnaryRequest(WHO, raw, raw, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, v) =>
      err ? reject(err) : resolve(v!.toString()),
    ),
  );

/** Calls until `want` answers; each call is real, so this only waits for the push to land. */
async function until(want: string, attempts = 100): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const got = await call();
    seen.push(got);
    if (got === want) return seen;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${want} never answered; got ${[...new Set(seen)].join(', ')}`);
}

const admin = async (path: string) =>
  (await fetch(`http://127.0.0.1:${xds.adminPort}${path}`)).json() as Promise<Record<string, unknown>>;

describe('@grpc/grpc-js-xds against sidecast xds-server', () => {
  it('resolves xds:///greeter and calls the backend', async () => {
    expect(await call()).toBe('backend-1');
    type Syncz = {
      streams: Array<{
        nodeId: string;
        group: string;
        protocol: string;
        types: Array<{ typeUrl: string; state: string }>;
      }>;
    };
    // The client ACKs right after applying, possibly just after our call returned: poll briefly.
    let syncz = (await admin('/debug/syncz')) as Syncz;
    for (let i = 0; i < 50 && syncz.streams[0]?.types.some((t) => t.state !== 'SYNCED'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      syncz = (await admin('/debug/syncz')) as Syncz;
    }
    const stream = syncz.streams.find((s) => s.nodeId === 'caller-1')!;
    expect(stream).toMatchObject({ group: 'proxyless/caller', protocol: 'sotw' });
    expect(Object.fromEntries(stream.types.map((t) => [t.typeUrl, t.state]))).toEqual({
      [TYPE.listener]: 'SYNCED',
      [TYPE.route]: 'SYNCED',
      [TYPE.cluster]: 'SYNCED',
      [TYPE.endpoint]: 'SYNCED',
    });
  });

  it('follows a mesh file edit to the new endpoint without restart', async () => {
    writeFileSync(meshFile, meshYaml(backends[1]!.port));
    const seen = await until('backend-2');
    expect(seen.at(-1)).toBe('backend-2');
    expect(await call()).toBe('backend-2'); // and stays there
    const dump = (await admin('/debug/config_dump?node=caller-1')) as {
      group: string;
      types: Array<{ typeUrl: string; resources: Array<{ name: string; config: unknown }> }>;
    };
    expect(dump.group).toBe('proxyless/caller');
    const cla = dump.types.find((t) => t.typeUrl === TYPE.endpoint)!.resources[0]!;
    expect(JSON.stringify(cla.config)).toContain(String(backends[1]!.port));
  });

  it('keeps serving the last good config on a bad edit and reports it', async () => {
    writeFileSync(
      meshFile,
      'apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: greeter }\nspec: { endpoints: [42] }\n',
    );
    let mesh: Record<string, unknown> = {};
    for (let i = 0; i < 100 && !mesh.error; i++) {
      await new Promise((r) => setTimeout(r, 50));
      mesh = await admin('/debug/mesh');
    }
    expect(String(mesh.error)).toMatch(/mesh\.yaml/);
    expect(await call()).toBe('backend-2');
    const metrics = await (await fetch(`http://127.0.0.1:${xds.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/^sidecast_mesh_config_error 1$/m);
    expect(metrics).toMatch(/^sidecast_xds_connected_proxies\{type="lds",protocol="sotw"\} 1$/m);
  });
});
