// Admin HTTP API of the xds-server (localhost by default): health, readiness, Prometheus metrics
// and the debug views — who has which config (/debug/syncz) and what a node would get
// (/debug/config_dump?node=). /debug/* require a bearer token when one is configured.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { SnapshotCache } from '../cache/snapshot-cache.js';
import type { XdsServer } from '../server/xds-server.js';

export interface MeshStatus {
  source: string;
  version?: string;
  error?: string;
  errorAt?: string;
}

export interface AdminSources {
  server: XdsServer;
  cache: SnapshotCache;
  registry: Registry;
  mesh: () => MeshStatus;
  /** Group of a node id that has no open stream (config_dump of a node not connected yet). */
  groupOfNodeId: (nodeId: string) => string;
  /** Decodes a resource for config_dump (JSON); absent or throwing ⇒ only name/version/size are shown. */
  describe?: (typeUrl: string, bytes: Uint8Array) => unknown;
}

export interface AdminOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  /** Required as `Authorization: Bearer <token>` on /debug/* when set. */
  token?: string;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

const ROUTES = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/debug/syncz',
  '/debug/config_dump?node=<id>|group=<group>',
  '/debug/mesh',
];

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(text);
}

function configDump(src: AdminSources, group: string, node?: string): unknown {
  return {
    node,
    group,
    types: src.cache.typesOf(group).map((typeUrl) => {
      const snap = src.cache.get(group, typeUrl);
      return {
        typeUrl,
        version: snap.version,
        resources: [...snap.resources.values()].map((r) => {
          let config: unknown;
          try {
            config = src.describe?.(typeUrl, r.bytes);
          } catch (e) {
            config = { error: `cannot decode: ${(e as Error).message}` };
          }
          return {
            name: r.name,
            version: r.version,
            bytes: r.bytes.length,
            ...(config === undefined ? {} : { config }),
          };
        }),
      };
    }),
  };
}

async function route(
  src: AdminSources,
  opts: AdminOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  if (req.method !== 'GET')
    return send(res, 405, { error: `${req.method} not allowed; the admin API is read-only (GET)` });
  if (
    url.pathname.startsWith('/debug/') &&
    opts.token &&
    req.headers.authorization !== `Bearer ${opts.token}`
  ) {
    return send(res, 401, {
      error:
        'debug endpoints need "Authorization: Bearer <admin token>" (--admin-token / SIDECAST_ADMIN_TOKEN)',
    });
  }
  switch (url.pathname) {
    case '/healthz':
      return send(res, 200, 'ok\n', 'text/plain');
    case '/readyz': {
      const mesh = src.mesh();
      if (!src.cache.ready)
        return send(res, 503, {
          ready: false,
          reason: `no mesh config loaded yet from ${mesh.source}`,
          error: mesh.error,
        });
      return send(res, 200, { ready: true, meshVersion: mesh.version, lastError: mesh.error });
    }
    case '/metrics':
      return send(res, 200, await src.registry.metrics(), src.registry.contentType);
    case '/debug/syncz':
      return send(res, 200, {
        controlPlane: src.server.controlPlaneId,
        streams: src.server.syncz(),
        nacks: src.server.nackLog(),
      });
    case '/debug/mesh':
      return send(res, 200, { ...src.mesh(), groups: src.cache.groupNames() });
    case '/debug/config_dump': {
      const node = url.searchParams.get('node') ?? undefined;
      const group =
        url.searchParams.get('group') ??
        (node && (src.server.groupOfConnectedNode(node) ?? src.groupOfNodeId(node)));
      if (!group)
        return send(res, 400, {
          error: 'give ?node=<node id> or ?group=<group>',
          groups: src.cache.groupNames(),
        });
      return send(res, 200, configDump(src, group, node));
    }
    default:
      return send(res, 404, { error: `no such endpoint ${url.pathname}`, endpoints: ROUTES });
  }
}

export async function startAdmin(src: AdminSources, opts: AdminOptions): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    route(src, opts, req, res).catch((e: Error) => send(res, 500, { error: e.message }));
  });
  const idx = opts.address.lastIndexOf(':');
  const host = opts.address.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(opts.address.slice(idx + 1));
  if (idx < 0 || !Number.isInteger(port))
    throw new Error(`admin address "${opts.address}" must be host:port (e.g. 127.0.0.1:18001)`);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new Error(`admin HTTP server could not listen on ${opts.address}: ${e.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
