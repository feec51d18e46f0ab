// `sidecast xds-server`: the control plane alone (docs/xds-server.md). Every flag has an
// environment fallback, so containers need no arguments.
import { type Command, Option } from 'commander';
import { TYPE } from '../../proto/envoy.js';
import { SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';
import { startXdsServer, type ResourceTtl } from '../../xds-server/index.js';
import { kubernetesOptionsFromEnv } from '../../xds-server/kubernetes/options.js';
import { action } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';
import { stopOnSignals } from '../lifecycle.js';
import { createLogger } from '../output.js';
import { logFormatOf } from '../action.js';

export function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliError(`--${flag} must be a positive integer, got "${raw}"`, EXIT.usage);
  return n;
}

function nonNegativeInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`--${flag} must be an integer ≥ 0, got "${raw}"`, EXIT.usage);
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

function ttlOption(ms: string | undefined, list: string): ResourceTtl | undefined {
  const ttlMs = positiveInt('resource-ttl-ms', ms);
  if (ttlMs === undefined) return undefined;
  const types = list.split(',').map((t) => {
    const url = TTL_TYPES[t.trim()];
    if (!url)
      throw new CliError(
        `--resource-ttl-types: unknown type "${t}"; use ${Object.keys(TTL_TYPES).join(', ')}`,
        EXIT.usage,
      );
    return url;
  });
  return { ttlMs, types };
}

interface XdsOptions {
  mesh: string;
  grpc: string;
  admin: string;
  adminToken?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  debounceMs?: string;
  pushConcurrency?: string;
  newStreamsPerSecond?: string;
  writeTimeoutMs?: string;
  maxNodeBytes?: string;
  maxRequestBytes?: string;
  maxConnectionAgeMs?: string;
  resourceTtlMs?: string;
  resourceTtlTypes: string;
  id?: string;
  logLevel: string;
}

const opt = (flags: string, description: string, env: string, def?: string): Option => {
  const o = new Option(flags, description).env(env);
  return def === undefined ? o : o.default(def);
};

export function register(program: Command): void {
  program
    .command('xds-server')
    .description(
      'run the xDS control plane: watches a mesh config and serves ADS (delta + SotW) and an admin API',
    )
    .addOption(opt('--mesh <file|dir>', 'mesh config (watched)', 'SIDECAST_MESH', 'examples/bank'))
    .addOption(
      opt('--grpc <host:port>', 'ADS / xDS gRPC listen address', 'SIDECAST_XDS_GRPC', '127.0.0.1:18000'),
    )
    .addOption(
      opt(
        '--admin <host:port|off>',
        'admin HTTP (health, metrics, /debug/*)',
        'SIDECAST_XDS_ADMIN',
        '127.0.0.1:18001',
      ),
    )
    .addOption(opt('--admin-token <token>', 'bearer token required on /debug/*', 'SIDECAST_ADMIN_TOKEN'))
    .addOption(opt('--tls-cert <file>', 'serve gRPC over TLS (with --tls-key)', 'SIDECAST_XDS_TLS_CERT'))
    .addOption(opt('--tls-key <file>', 'TLS private key', 'SIDECAST_XDS_TLS_KEY'))
    .addOption(
      opt('--tls-client-ca <file>', 'require client certificates (mTLS)', 'SIDECAST_XDS_TLS_CLIENT_CA'),
    )
    .addOption(
      opt(
        '--debounce-ms <n>',
        'quiet time before publishing edits (default 100)',
        'SIDECAST_XDS_DEBOUNCE_MS',
      ),
    )
    .addOption(
      opt('--push-concurrency <n>', 'streams written at once (default 256)', 'SIDECAST_XDS_PUSH_CONCURRENCY'),
    )
    .addOption(
      opt(
        '--new-streams-per-second <n>',
        'admission rate of new streams (default 1000)',
        'SIDECAST_XDS_NEW_STREAMS_PER_SECOND',
      ),
    )
    .addOption(
      opt(
        '--write-timeout-ms <n>',
        'write deadline; then the stream is slow and its push slot freed (default 2000)',
        'SIDECAST_XDS_WRITE_TIMEOUT_MS',
      ),
    )
    .addOption(
      opt(
        '--max-node-bytes <n>',
        'largest node, metadata included (default 65536)',
        'SIDECAST_XDS_MAX_NODE_BYTES',
      ),
    )
    .addOption(
      opt(
        '--max-request-bytes <n>',
        'largest request message (default 1048576)',
        'SIDECAST_XDS_MAX_REQUEST_BYTES',
      ),
    )
    .addOption(
      opt(
        '--max-connection-age-ms <n>',
        'GOAWAY after this age, 0 = never (default 1800000)',
        'SIDECAST_XDS_MAX_CONNECTION_AGE_MS',
      ),
    )
    .addOption(
      opt(
        '--resource-ttl-ms <n>',
        'TTL on resources of --resource-ttl-types for clients that support it',
        'SIDECAST_XDS_RESOURCE_TTL_MS',
      ),
    )
    .addOption(
      opt(
        '--resource-ttl-types <list>',
        'comma-separated: eds,rds,ecds,lds,cds,subscription',
        'SIDECAST_XDS_RESOURCE_TTL_TYPES',
        'ecds',
      ),
    )
    .addOption(opt('--id <string>', 'control_plane.identifier', 'SIDECAST_XDS_ID'))
    .addOption(opt('--log-level <level>', 'trace|debug|info|warn|error', 'LOG_LEVEL', 'info'))
    .addHelpText(
      'after',
      '\nExample: sidecast xds-server --mesh examples/bank/mesh.yaml --grpc 0.0.0.0:18000',
    )
    .action(
      action('xds-server', async (o: XdsOptions, cmd: Command) => {
        if (!!o.tlsCert !== !!o.tlsKey)
          throw new CliError('TLS needs both --tls-cert and --tls-key (or neither)', EXIT.usage);
        const logger = createLogger(logFormatOf(cmd), o.logLevel, 'sidecast-xds');
        const running = await startXdsServer({
          mesh: o.mesh,
          grpcAddress: o.grpc,
          adminAddress: o.admin === 'off' ? null : o.admin,
          adminToken: o.adminToken,
          tls:
            o.tlsCert && o.tlsKey ? { cert: o.tlsCert, key: o.tlsKey, clientCa: o.tlsClientCa } : undefined,
          debounceMs: positiveInt('debounce-ms', o.debounceMs),
          pushConcurrency: positiveInt('push-concurrency', o.pushConcurrency),
          newStreamsPerSecond: positiveInt('new-streams-per-second', o.newStreamsPerSecond),
          writeTimeoutMs: positiveInt('write-timeout-ms', o.writeTimeoutMs),
          maxNodeBytes: positiveInt('max-node-bytes', o.maxNodeBytes),
          maxRequestBytes: positiveInt('max-request-bytes', o.maxRequestBytes),
          maxConnectionAgeMs: nonNegativeInt('max-connection-age-ms', o.maxConnectionAgeMs),
          ttl: ttlOption(o.resourceTtlMs, o.resourceTtlTypes),
          controlPlaneId: o.id,
          // SIDECAST_MESH_SOURCE=kubernetes etc. (docs/kubernetes.md)
          kubernetes: kubernetesOptionsFromEnv(process.env),
          logger,
        });
        stopOnSignals(() => running.close(), { say: (line) => logger.info(line) });
      }),
    );
}
