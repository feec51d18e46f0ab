// Envoy resources and a running server for the xds-server suites. Resources are real protos,
// encoded (and checked) with Envoy's API through proto/envoy.ts.
import * as grpc from '@grpc/grpc-js';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { SnapshotCache } from '../../xds-server/cache/snapshot-cache.js';
import type { FleetResources } from '../../xds-server/cache/types.js';
import type { XdsNode } from '../../xds-server/server/messages.js';
import { XdsServer, type XdsServerOptions } from '../../xds-server/server/xds-server.js';
import { adsClient } from './ads-client.js';

export { TYPE };
const enc = (type: string, json: unknown, where: string) => envoyChecker().encode(type, json, where);

export const cluster = (name: string, connectTimeout = '1s'): Uint8Array =>
  enc(
    'envoy.config.cluster.v3.Cluster',
    { name, type: 'EDS', connect_timeout: connectTimeout, eds_cluster_config: { eds_config: { ads: {} } } },
    `cluster ${name}`,
  );

export const endpoints = (name: string, ports: number[]): Uint8Array =>
  enc(
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
    {
      cluster_name: name,
      endpoints: [
        {
          locality: { region: 'local' },
          lb_endpoints: ports.map((port) => ({
            endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
          })),
        },
      ],
    },
    `endpoints ${name}`,
  );

/** A gRPC-client (API) listener whose HttpConnectionManager fetches `routeName` over ADS. */
export const apiListener = (name: string, routeName: string): Uint8Array =>
  enc(
    'envoy.config.listener.v3.Listener',
    {
      name,
      api_listener: {
        api_listener: {
          '@type':
            'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: name,
          rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
          http_filters: [
            {
              name: 'router',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
            },
          ],
        },
      },
    },
    `listener ${name}`,
  );

export const route = (name: string, domain: string, clusterName: string): Uint8Array =>
  enc(
    'envoy.config.route.v3.RouteConfiguration',
    {
      name,
      virtual_hosts: [
        {
          name: `${name}-vh`,
          domains: [domain],
          routes: [{ match: { prefix: '' }, route: { cluster: clusterName } }],
        },
      ],
    },
    `route ${name}`,
  );

export type GroupResources = Record<string, Record<string, Uint8Array>>;

export function fleet(groups: Record<string, GroupResources>): FleetResources {
  return new Map(
    Object.entries(groups).map(([g, types]) => [
      g,
      new Map(Object.entries(types).map(([t, items]) => [t, new Map(Object.entries(items))])),
    ]),
  );
}

export const groupByClusterOrId = (node: XdsNode): string => node.cluster || node.id;

export interface Running {
  cache: SnapshotCache;
  server: XdsServer;
  address: string;
  client: grpc.Client;
  close(): Promise<void>;
}

// Servers started by the current test; `stopServers` (an afterEach hook) closes them.
const started: Running[] = [];

export async function stopServers(): Promise<void> {
  await Promise.all(started.splice(0).map((r) => r.close()));
}

export async function startServer(
  initial: Record<string, GroupResources>,
  options: Partial<XdsServerOptions> = {},
): Promise<Running> {
  const cache = new SnapshotCache();
  cache.setFleet(fleet(initial));
  const server = new XdsServer({ cache, groupOf: groupByClusterOrId, ...options });
  const port = await server.listen('127.0.0.1:0');
  const address = `127.0.0.1:${port}`;
  const client = adsClient(address);
  const running: Running = {
    cache,
    server,
    address,
    client,
    async close() {
      client.close();
      await server.close();
    },
  };
  started.push(running);
  return running;
}

export const ENVOY_NODE = (id: string, cluster = 'g') => ({ id, cluster, user_agent_name: 'envoy' });
export const GRPC_NODE = (id: string, cluster = 'g') => ({
  id,
  cluster,
  user_agent_name: 'gRPC Node Pure JS',
});
