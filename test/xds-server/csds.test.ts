// CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) read by a real grpc-js client made
// from Envoy's csds.proto with @grpc/proto-loader: per node, which resources it was sent and
// whether it ACKed them, NACKed them (with the error) or has not answered (STALE).
import { afterEach, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ENVOY_PROTO_DIRS } from '../../proto/envoy.js';
import { registerCsds } from '../../xds-server/server/csds.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import { XdsServer } from '../../xds-server/server/xds-server.js';
import { adsClient, sotwAck, sotwNack, sotwStream } from './ads-client.js';
import { cluster, endpoints, ENVOY_NODE, fleet, groupByClusterOrId, TYPE } from './fixtures.js';

interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info: string;
  config_status: string;
  client_status: string;
  xds_config?: { type_url: string };
  error_state?: { details: string; version_info: string };
}
interface ClientStatusResponse {
  config: Array<{ node: { id: string }; generic_xds_configs: GenericXdsConfig[] }>;
}
type CsdsClient = grpc.Client & {
  FetchClientStatus(
    req: object,
    md: grpc.Metadata,
    cb: (e: grpc.ServiceError | null, r?: ClientStatusResponse) => void,
  ): void;
  StreamClientStatus(md: grpc.Metadata): grpc.ClientDuplexStream<object, ClientStatusResponse>;
};

function csdsClient(address: string): CsdsClient {
  const def = protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
    includeDirs: [...ENVOY_PROTO_DIRS],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: {
      service: {
        status: {
          v3: { ClientStatusDiscoveryService: new (a: string, c: grpc.ChannelCredentials) => CsdsClient };
        };
      };
    };
  };
  return new pkg.envoy.service.status.v3.ClientStatusDiscoveryService(
    address,
    grpc.credentials.createInsecure(),
  );
}

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function start(token?: string) {
  const cache = new SnapshotCache();
  cache.setFleet(
    fleet({
      g: {
        [TYPE.cluster]: { a: cluster('a'), b: cluster('b') },
        [TYPE.endpoint]: { a: endpoints('a', [1]) },
      },
    }),
  );
  const server = new XdsServer({ cache, groupOf: groupByClusterOrId });
  const port = await server.listen('127.0.0.1:0', undefined, {}, (g) => registerCsds(g, server, token));
  const address = `127.0.0.1:${port}`;
  const ads = adsClient(address);
  closers.push(
    () => server.close(),
    () => ads.close(),
  );
  return { server, address, ads };
}

const fetchStatus = (c: CsdsClient, req: object, md = new grpc.Metadata()) =>
  new Promise<ClientStatusResponse>((resolve, reject) =>
    c.FetchClientStatus(req, md, (e, r) => (e ? reject(e) : resolve(r!))),
  );

describe('CSDS', () => {
  it('reports ACKed, NACKed and stale nodes per resource, selectable by node id', async () => {
    const { server, address, ads } = await start();
    const acked = sotwStream(ads);
    acked.send({ node: ENVOY_NODE('acked-0'), type_url: TYPE.cluster, resource_names: [] });
    acked.send(sotwAck(await acked.next(), []));
    const nacked = sotwStream(ads);
    nacked.send({ node: ENVOY_NODE('nacked-0'), type_url: TYPE.cluster, resource_names: [] });
    nacked.send(sotwNack(await nacked.next(), [], '', 'cluster b: connect_timeout too small'));
    const stale = sotwStream(ads);
    stale.send({ node: ENVOY_NODE('stale-0'), type_url: TYPE.endpoint, resource_names: ['a', 'missing'] });
    await stale.next(); // never answered
    // Wait (by polling the server's own view) until the two replies were processed.
    for (
      let i = 0;
      i < 200 && server.nackLog().length + server.syncz().filter((s) => s.types[0]?.acked).length < 2;
      i++
    )
      await new Promise((r) => setTimeout(r, 10));

    const csds = csdsClient(address);
    closers.push(() => csds.close());
    const all = await fetchStatus(csds, {});
    const byNode = new Map(all.config.map((c) => [c.node.id, c.generic_xds_configs]));
    expect([...byNode.keys()].sort()).toEqual(['acked-0', 'nacked-0', 'stale-0']);

    const a = byNode.get('acked-0')!;
    expect(a.map((x) => [x.type_url, x.name, x.config_status, x.client_status])).toEqual([
      [TYPE.cluster, 'a', 'SYNCED', 'ACKED'],
      [TYPE.cluster, 'b', 'SYNCED', 'ACKED'],
    ]);
    expect(a[0]!.version_info).toMatch(/^[0-9a-f]{16}$/);
    expect(a[0]!.xds_config?.type_url).toBe(TYPE.cluster);

    const n = byNode.get('nacked-0')!;
    expect(n.every((x) => x.config_status === 'ERROR' && x.client_status === 'NACKED')).toBe(true);
    expect(n[0]!.error_state?.details).toBe('cluster b: connect_timeout too small');

    const s = byNode.get('stale-0')!;
    expect(s.map((x) => [x.name, x.config_status, x.client_status])).toEqual([
      ['a', 'STALE', 'REQUESTED'],
      ['missing', 'NOT_SENT', 'REQUESTED'],
    ]);

    // Node matchers and exclude_resource_contents, over the streaming method too.
    const call = csds.StreamClientStatus(new grpc.Metadata());
    call.write({ node_matchers: [{ node_id: { prefix: 'nack' } }], exclude_resource_contents: true });
    const one = await new Promise<ClientStatusResponse>((resolve) => call.once('data', resolve));
    expect(one.config.map((c) => c.node.id)).toEqual(['nacked-0']);
    expect(one.config[0]!.generic_xds_configs.every((x) => !x.xds_config)).toBe(true);
    call.end();
    for (const x of [acked, nacked, stale]) x.close();
  });

  it('needs the admin token when one is set', async () => {
    const { address } = await start('s3cret');
    const csds = csdsClient(address);
    closers.push(() => csds.close());
    await expect(fetchStatus(csds, {})).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer s3cret');
    expect((await fetchStatus(csds, {}, md)).config).toEqual([]);
  });
});
