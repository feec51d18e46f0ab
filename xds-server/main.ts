// CLI: `tsx xds-server/main.ts --mesh examples/bank --grpc 127.0.0.1:18000 --admin 127.0.0.1:18001`.
// Every flag has an environment fallback (SIDECAST_XDS_*), so containers need no arguments.
import { parseArgs } from 'node:util';
import { TYPE } from '../proto/envoy.js';
import { SUBSCRIPTION_TYPE_URL } from '../proto/sidecast.js';
import { startXdsServer, type ResourceTtl } from './index.js';
import { kubernetesOptionsFromEnv } from './kubernetes/options.js';

const HELP = `sidecast xds-server
  --mesh <file|dir>        mesh config (watched)              env SIDECAST_MESH            default examples/bank
  --grpc <host:port>       ADS / xDS gRPC listen address      env SIDECAST_XDS_GRPC        default 127.0.0.1:18000
  --admin <host:port|off>  admin HTTP (health, metrics, debug) env SIDECAST_XDS_ADMIN       default 127.0.0.1:18001
  --admin-token <token>    bearer token required on /debug/*  env SIDECAST_ADMIN_TOKEN
  --tls-cert/--tls-key     serve gRPC over TLS                env SIDECAST_XDS_TLS_CERT / SIDECAST_XDS_TLS_KEY
  --tls-client-ca <file>   require client certificates (mTLS) env SIDECAST_XDS_TLS_CLIENT_CA
  --debounce-ms <n>        quiet time before publishing edits env SIDECAST_XDS_DEBOUNCE_MS   default 100
  --push-concurrency <n>   streams written at once            env SIDECAST_XDS_PUSH_CONCURRENCY default 256
  --new-streams-per-second <n>  admission rate of new streams env SIDECAST_XDS_NEW_STREAMS_PER_SECOND default 1000
  --write-timeout-ms <n>   write deadline; then the stream is slow and its push slot freed  env SIDECAST_XDS_WRITE_TIMEOUT_MS default 2000
  --max-node-bytes <n>     largest node (metadata included)   env SIDECAST_XDS_MAX_NODE_BYTES default 65536
  --max-request-bytes <n>  largest request message            env SIDECAST_XDS_MAX_REQUEST_BYTES default 1048576
  --max-connection-age-ms <n>  GOAWAY after this age (0 = never) env SIDECAST_XDS_MAX_CONNECTION_AGE_MS default 1800000
  --resource-ttl-ms <n>    TTL on resources of --resource-ttl-types for clients that support it  env SIDECAST_XDS_RESOURCE_TTL_MS
  --resource-ttl-types <l> comma-separated: eds,rds,ecds,lds,cds,subscription  env SIDECAST_XDS_RESOURCE_TTL_TYPES default ecds
  --id <string>            control_plane.identifier           env SIDECAST_XDS_ID
  Kubernetes (docs/kubernetes.md): SIDECAST_MESH_SOURCE=kubernetes reads the sidecast CRs beside --mesh
  (which then holds the Mesh settings); SIDECAST_WATCH_NAMESPACES=a,b (default all), POD_NAME,
  POD_NAMESPACE, SIDECAST_STATUS_LEASE; Istio mode: SIDECAST_ISTIO_WASM_URL=oci://…@sha256:…`;

const env = process.env;

function positive(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag} must be a positive integer, got "${raw}"`);
  return n;
}

function nonNegative(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be an integer ≥ 0, got "${raw}"`);
  return n;
}

const TTL_TYPES: Record<string, string> = {
  eds: TYPE.endpoint,
  rds: TYPE.route,
  ecds: TYPE.extensionConfig,
  lds: TYPE.listener,
  cds: TYPE.cluster,
  subscription: SUBSCRIPTION_TYPE_URL,
};

function ttlOption(ms: string | undefined, list: string | undefined): ResourceTtl | undefined {
  const ttlMs = positive('resource-ttl-ms', ms);
  if (ttlMs === undefined) return undefined;
  const types = (list ?? 'ecds').split(',').map((t) => {
    const url = TTL_TYPES[t.trim()];
    if (!url)
      throw new Error(`--resource-ttl-types: unknown type "${t}"; use ${Object.keys(TTL_TYPES).join(', ')}`);
    return url;
  });
  return { ttlMs, types };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mesh: { type: 'string' },
      grpc: { type: 'string' },
      admin: { type: 'string' },
      'admin-token': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-client-ca': { type: 'string' },
      'debounce-ms': { type: 'string' },
      'push-concurrency': { type: 'string' },
      'new-streams-per-second': { type: 'string' },
      'write-timeout-ms': { type: 'string' },
      'max-node-bytes': { type: 'string' },
      'max-request-bytes': { type: 'string' },
      'max-connection-age-ms': { type: 'string' },
      'resource-ttl-ms': { type: 'string' },
      'resource-ttl-types': { type: 'string' },
      id: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }

  const cert = values['tls-cert'] ?? env.SIDECAST_XDS_TLS_CERT;
  const key = values['tls-key'] ?? env.SIDECAST_XDS_TLS_KEY;
  if (!!cert !== !!key) throw new Error('TLS needs both --tls-cert and --tls-key (or neither)');
  const admin = values.admin ?? env.SIDECAST_XDS_ADMIN ?? '127.0.0.1:18001';

  const running = await startXdsServer({
    mesh: values.mesh ?? env.SIDECAST_MESH ?? 'examples/bank',
    kubernetes: kubernetesOptionsFromEnv(env),
    grpcAddress: values.grpc ?? env.SIDECAST_XDS_GRPC ?? '127.0.0.1:18000',
    adminAddress: admin === 'off' ? null : admin,
    adminToken: values['admin-token'] ?? env.SIDECAST_ADMIN_TOKEN,
    tls:
      cert && key
        ? { cert, key, clientCa: values['tls-client-ca'] ?? env.SIDECAST_XDS_TLS_CLIENT_CA }
        : undefined,
    debounceMs: positive('debounce-ms', values['debounce-ms'] ?? env.SIDECAST_XDS_DEBOUNCE_MS),
    pushConcurrency: positive(
      'push-concurrency',
      values['push-concurrency'] ?? env.SIDECAST_XDS_PUSH_CONCURRENCY,
    ),
    newStreamsPerSecond: positive(
      'new-streams-per-second',
      values['new-streams-per-second'] ?? env.SIDECAST_XDS_NEW_STREAMS_PER_SECOND,
    ),
    writeTimeoutMs: positive(
      'write-timeout-ms',
      values['write-timeout-ms'] ?? env.SIDECAST_XDS_WRITE_TIMEOUT_MS,
    ),
    maxNodeBytes: positive('max-node-bytes', values['max-node-bytes'] ?? env.SIDECAST_XDS_MAX_NODE_BYTES),
    maxRequestBytes: positive(
      'max-request-bytes',
      values['max-request-bytes'] ?? env.SIDECAST_XDS_MAX_REQUEST_BYTES,
    ),
    maxConnectionAgeMs: nonNegative(
      'max-connection-age-ms',
      values['max-connection-age-ms'] ?? env.SIDECAST_XDS_MAX_CONNECTION_AGE_MS,
    ),
    ttl: ttlOption(
      values['resource-ttl-ms'] ?? env.SIDECAST_XDS_RESOURCE_TTL_MS,
      values['resource-ttl-types'] ?? env.SIDECAST_XDS_RESOURCE_TTL_TYPES,
    ),
    controlPlaneId: values.id ?? env.SIDECAST_XDS_ID,
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((e: Error) => {
  console.error(`sidecast xds-server: ${e.message}\n(see --help)`);
  process.exit(2);
});
