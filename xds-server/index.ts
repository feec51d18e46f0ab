// The xds-server assembled: mesh config source → translation → snapshot cache → ADS servers,
// plus the admin API. `startXdsServer` is what `sidecast xds-server` (cli/) and the end-to-end tests run.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { envoyChecker } from '../proto/envoy.js';
import { sidecastChecker } from '../proto/sidecast.js';
import { startAdmin, type AdminServer, type MeshStatus } from './admin/admin-server.js';
import { SnapshotCache } from './cache/snapshot-cache.js';
import type { KubernetesSourceOptions } from './kubernetes/index.js';
import { groupOf, nodeProblem, watchMesh, type MeshWatcher } from './mesh/index.js';
import { XdsServer, type ResourceTtl } from './server/xds-server.js';
import { registerCsds } from './server/csds.js';

export { SnapshotCache } from './cache/snapshot-cache.js';
export type { CachedResource, FleetResources, TypeSnapshot } from './cache/types.js';
export { XdsServer, type XdsServerOptions, type ResourceTtl } from './server/xds-server.js';
export type { XdsNode } from './server/messages.js';
export { startAdmin } from './admin/admin-server.js';

export interface TlsFiles {
  cert: string;
  key: string;
  /** CA bundle for client certificates: when set, clients must present one (mTLS). */
  clientCa?: string;
}

export interface XdsServerConfig {
  /** Mesh config file or directory (watched); with `kubernetes`, the Mesh settings beside the CRs. */
  mesh: string;
  /** Read EventRoutes, Subscriptions and MeshServices from the cluster (docs/kubernetes.md). */
  kubernetes?: KubernetesSourceOptions;
  /** gRPC listen address, host:port (port 0 = any). */
  grpcAddress: string;
  /** Admin HTTP address, host:port; null disables the admin API. */
  adminAddress: string | null;
  adminToken?: string;
  tls?: TlsFiles;
  /** Quiet period before a config edit is published (default 100 ms). */
  debounceMs?: number;
  controlPlaneId?: string;
  pushConcurrency?: number;
  newStreamsPerSecond?: number;
  /** See XdsServerOptions. */
  writeTimeoutMs?: number;
  maxNodeBytes?: number;
  maxRequestBytes?: number;
  ttl?: ResourceTtl;
  /** Connections older than this get a GOAWAY so clients reconnect (rebalancing replicas); default 30 min, 0 = never. */
  maxConnectionAgeMs?: number;
  /** How long streams of a GOAWAY'd connection may go on before it is closed (default 10 s). */
  maxConnectionAgeGraceMs?: number;
  logger?: Logger;
  /** Told of every load of the mesh config: published (with the version) or refused (with why). */
  onMeshChange?: (change: MeshChange) => void;
}

export type MeshChange =
  | { result: 'applied'; version: string; groupsChanged: number }
  | { result: 'refused'; error: Error; serving: string | undefined };

export interface RunningXdsServer {
  server: XdsServer;
  cache: SnapshotCache;
  registry: Registry;
  watcher: MeshWatcher;
  grpcPort: number;
  adminPort: number | undefined;
  close(): Promise<void>;
}

function credentials(tls: TlsFiles | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`cannot read TLS ${what} ${path}: ${(e as Error).message}`);
    }
  };
  const ca = tls.clientCa ? read('client CA', tls.clientCa) : null;
  return grpc.ServerCredentials.createSsl(
    ca,
    [{ cert_chain: read('certificate', tls.cert), private_key: read('key', tls.key) }],
    ca !== null,
  );
}

/** Decodes a published resource to proto3 JSON for /debug/config_dump. */
function describe(typeUrl: string, bytes: Uint8Array): unknown {
  const checker = typeUrl.startsWith('type.googleapis.com/sidecast.') ? sidecastChecker() : envoyChecker();
  return checker.decode(typeUrl, bytes, typeUrl);
}

export async function startXdsServer(cfg: XdsServerConfig): Promise<RunningXdsServer> {
  const log = cfg.logger ?? pino({ name: 'sidecast-xds' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reloads = new Counter({
    name: 'sidecast_mesh_reloads_total',
    help: 'Mesh config loads by result (ok|error)',
    labelNames: ['result'],
    registers: [registry],
  });
  const configError = new Gauge({
    name: 'sidecast_mesh_config_error',
    help: '1 while the last mesh config edit is rejected (the last good one keeps serving)',
    registers: [registry],
  });

  const cache = new SnapshotCache();
  let meshVersion: string | undefined;
  const publish = (resources: Parameters<SnapshotCache['setFleet']>[0], version: string) => {
    const changes = cache.setFleet(resources);
    meshVersion = version;
    reloads.inc({ result: 'ok' });
    configError.set(0);
    log.info({ meshVersion: version, groupsChanged: changes.size }, 'mesh config published');
    cfg.onMeshChange?.({ result: 'applied', version, groupsChanged: changes.size });
  };
  const reject = (err: Error) => {
    reloads.inc({ result: 'error' });
    configError.set(1);
    log.error(
      { err: err.message },
      cache.ready
        ? 'mesh config rejected; still serving the last good version'
        : 'mesh config rejected; nothing to serve yet',
    );
    cfg.onMeshChange?.({ result: 'refused', error: err, serving: meshVersion });
  };
  // The Kubernetes client loads only when that source is used.
  const watcher = cfg.kubernetes
    ? (await import('./kubernetes/index.js')).watchKubernetesMesh(
        cfg.mesh,
        { debounceMs: cfg.debounceMs, ...cfg.kubernetes },
        publish,
        reject,
        log,
      )
    : watchMesh(cfg.mesh, publish, reject, { debounceMs: cfg.debounceMs });

  const server = new XdsServer({
    cache,
    groupOf,
    registry,
    controlPlaneId: cfg.controlPlaneId,
    pushConcurrency: cfg.pushConcurrency,
    newStreamsPerSecond: cfg.newStreamsPerSecond,
    writeTimeoutMs: cfg.writeTimeoutMs,
    maxNodeBytes: cfg.maxNodeBytes,
    maxRequestBytes: cfg.maxRequestBytes,
    ttl: cfg.ttl,
    nodeProblem,
    logger: log,
  });
  let admin: AdminServer | undefined;
  let grpcPort: number;
  try {
    const age = cfg.maxConnectionAgeMs ?? 30 * 60_000;
    grpcPort = await server.listen(
      cfg.grpcAddress,
      credentials(cfg.tls),
      {
        ...(age > 0
          ? {
              'grpc.max_connection_age_ms': age,
              'grpc.max_connection_age_grace_ms': cfg.maxConnectionAgeGraceMs ?? 10_000,
            }
          : {}),
      },
      (grpcServer) => registerCsds(grpcServer, server, cfg.adminToken),
    );
    const mesh = (): MeshStatus => {
      const s = watcher.current();
      return {
        source: cfg.kubernetes ? `kubernetes (+ ${cfg.mesh})` : cfg.mesh,
        version: meshVersion,
        error: s.error?.message,
        errorAt: s.errorAt?.toISOString(),
      };
    };
    if (cfg.adminAddress !== null) {
      admin = await startAdmin(
        { server, cache, registry, mesh, groupOfNodeId: (id) => groupOf({ id }), describe },
        { address: cfg.adminAddress, token: cfg.adminToken },
      );
    }
  } catch (e) {
    watcher.close();
    await server.close();
    throw e;
  }
  log.info(
    {
      grpcPort,
      adminPort: admin?.port,
      controlPlane: server.controlPlaneId,
      tls: !!cfg.tls,
      mtls: !!cfg.tls?.clientCa,
    },
    'xds-server listening',
  );
  return {
    server,
    cache,
    registry,
    watcher,
    grpcPort,
    adminPort: admin?.port,
    async close() {
      watcher.close();
      await admin?.close();
      await server.close();
    },
  };
}
