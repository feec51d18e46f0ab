// Bridge configuration: a YAML/JSON file (all fields optional, unknown fields refused), environment
// overrides for the common knobs, and defaults that run the embedded broker under ./.sidecast-data (git-ignored).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import type { AuthConfig } from './auth/producers.js';
import type { BrokerOptions } from './brokers/index.js';
import type { PublisherOptions } from './publisher/publisher.js';
import { DEFAULT_LIMITS, type IngestLimits } from './validate/cloudevent.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** Client certificates must chain to this CA; enables mTLS producer identities. */
  ca?: string;
}

export interface Listen {
  host: string;
  /** 0 = any free port (see Bridge.ports after start). */
  port: number;
}

export interface BridgeConfig {
  broker: { url: string; options: BrokerOptions };
  spool: { dir: string; maxBytes: number; segmentBytes: number };
  http: Listen & { tls?: TlsMaterial };
  /** null disables gRPC ingest. */
  grpc: (Listen & { tls?: TlsMaterial }) | null;
  /** null disables the admin server. */
  admin: Listen | null;
  limits: IngestLimits;
  auth: AuthConfig;
  publisher: Partial<PublisherOptions>;
  /** Longest a graceful stop waits for in-flight requests before closing connections. */
  shutdownTimeoutMs: number;
}

export function defaultConfig(dataDir = '.sidecast-data'): BridgeConfig {
  return {
    broker: { url: `embedded://${path.resolve(dataDir, 'broker')}`, options: {} },
    spool: {
      dir: path.resolve(dataDir, 'spool'),
      maxBytes: 256 * 1024 * 1024,
      segmentBytes: 16 * 1024 * 1024,
    },
    http: { host: '127.0.0.1', port: 8090 },
    grpc: { host: '127.0.0.1', port: 8091 },
    admin: { host: '127.0.0.1', port: 9090 },
    limits: { ...DEFAULT_LIMITS },
    auth: { allowUnauthenticated: false, producers: [] },
    publisher: {},
    shutdownTimeoutMs: 10_000,
  };
}

const listen = (extra: Record<string, unknown> = {}) => ({
  type: 'object',
  additionalProperties: false,
  properties: { host: { type: 'string' }, port: { type: 'integer', minimum: 0, maximum: 65535 }, ...extra },
});
const tlsFiles = {
  type: 'object',
  additionalProperties: false,
  required: ['keyFile', 'certFile'],
  properties: { keyFile: { type: 'string' }, certFile: { type: 'string' }, caFile: { type: 'string' } },
};
const positive = { type: 'integer', minimum: 1 };

/** The file format: like BridgeConfig, with TLS material given as file paths. */
const FILE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    broker: {
      type: 'object',
      additionalProperties: false,
      properties: { url: { type: 'string', minLength: 1 }, options: { type: 'object' } },
    },
    spool: {
      type: 'object',
      additionalProperties: false,
      properties: { dir: { type: 'string' }, maxBytes: positive, segmentBytes: positive },
    },
    http: listen({ tls: tlsFiles }),
    grpc: { oneOf: [{ type: 'null' }, listen({ tls: tlsFiles })] },
    admin: { oneOf: [{ type: 'null' }, listen()] },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: { maxEventBytes: positive, maxBatchBytes: positive, maxBatchEvents: positive },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        allowUnauthenticated: { type: 'boolean' },
        anonymousTopics: { type: 'array', items: { type: 'string' } },
        forwardedClientCert: {
          type: 'object',
          additionalProperties: false,
          required: ['trust'],
          properties: {
            trust: { type: 'boolean' },
            by: { type: 'array', items: { type: 'string', minLength: 1 } },
          },
        },
        producers: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'topics'],
            properties: {
              name: { type: 'string', minLength: 1 },
              tokens: { type: 'array', items: { type: 'string', minLength: 16 } },
              identities: { type: 'array', items: { type: 'string', minLength: 1 } },
              topics: { type: 'array', items: { type: 'string' }, minItems: 1 },
            },
          },
        },
      },
    },
    publisher: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBatch: positive,
        maxInFlightBatches: positive,
        replayBatch: positive,
        backoffInitialMs: positive,
        backoffMaxMs: positive,
        retryAfterSeconds: positive,
      },
    },
    shutdownTimeoutMs: positive,
  },
};

const validateFile = new Ajv({ allErrors: true }).compile(FILE_SCHEMA);

function explain(errors: ErrorObject[], source: string): string {
  return errors
    .map((e) => {
      const at = e.instancePath || '(top level)';
      const extra =
        e.keyword === 'additionalProperties'
          ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"`
          : '';
      return `${source}: ${at} ${e.message}${extra}`;
    })
    .join('\n');
}

interface TlsFiles {
  keyFile: string;
  certFile: string;
  caFile?: string;
}

function readTls(t: TlsFiles | undefined, base: string, field: string): TlsMaterial | undefined {
  if (!t) return undefined;
  const read = (f: string, name: string): string => {
    try {
      return readFileSync(path.resolve(base, f), 'utf8');
    } catch (e) {
      throw new Error(`${field}.${name}: cannot read ${f}: ${(e as Error).message}`);
    }
  };
  return {
    key: read(t.keyFile, 'keyFile'),
    cert: read(t.certFile, 'certFile'),
    ...(t.caFile ? { ca: read(t.caFile, 'caFile') } : {}),
  };
}

/** Builds a config from a parsed file object (paths resolve against `base`). Throws naming every bad field. */
export function configFromObject(obj: unknown, source: string, base = process.cwd()): BridgeConfig {
  if (obj === null || obj === undefined) obj = {};
  if (!validateFile(obj))
    throw new Error(`invalid bridge config:\n${explain(validateFile.errors ?? [], source)}`);
  const f = obj as Record<string, Record<string, unknown> | null | undefined>;
  const cfg = defaultConfig(path.resolve(base, '.sidecast-data'));
  if (f.broker?.url) cfg.broker.url = f.broker.url as string;
  if (f.broker?.options) cfg.broker.options = f.broker.options as BrokerOptions;
  if (f.spool)
    cfg.spool = {
      ...cfg.spool,
      ...f.spool,
      dir: path.resolve(base, (f.spool.dir as string | undefined) ?? cfg.spool.dir),
    };
  if (f.http)
    cfg.http = { ...cfg.http, ...f.http, tls: readTls(f.http.tls as TlsFiles | undefined, base, 'http.tls') };
  if (f.grpc === null) cfg.grpc = null;
  else if (f.grpc)
    cfg.grpc = {
      ...cfg.grpc!,
      ...f.grpc,
      tls: readTls(f.grpc.tls as TlsFiles | undefined, base, 'grpc.tls'),
    };
  if (f.admin === null) cfg.admin = null;
  else if (f.admin) cfg.admin = { ...cfg.admin!, ...f.admin };
  if (f.limits) cfg.limits = { ...cfg.limits, ...f.limits };
  if (f.auth) cfg.auth = { ...cfg.auth, ...(f.auth as Partial<AuthConfig>) };
  if (f.publisher) cfg.publisher = f.publisher as Partial<PublisherOptions>;
  if (f.shutdownTimeoutMs) cfg.shutdownTimeoutMs = f.shutdownTimeoutMs as unknown as number;
  return cfg;
}

/**
 * Loads the bridge config: file (YAML or JSON) if given, then environment overrides:
 * SIDECAST_BROKER_URL, SIDECAST_HTTP_PORT, SIDECAST_GRPC_PORT, SIDECAST_ADMIN_PORT,
 * SIDECAST_SPOOL_DIR, SIDECAST_ALLOW_UNAUTHENTICATED=true.
 */
export function loadBridgeConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): BridgeConfig {
  let cfg: BridgeConfig;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read bridge config ${file}: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = parseYaml(text);
    } catch (e) {
      throw new Error(`bridge config ${file} is not valid YAML/JSON: ${(e as Error).message}`);
    }
    cfg = configFromObject(obj, file, path.dirname(path.resolve(file)));
  } else {
    cfg = defaultConfig();
  }
  const port = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(`${name}=${JSON.stringify(v)} is not a port number`);
    return n;
  };
  if (env.SIDECAST_BROKER_URL) cfg.broker.url = env.SIDECAST_BROKER_URL;
  if (env.SIDECAST_SPOOL_DIR) cfg.spool.dir = path.resolve(env.SIDECAST_SPOOL_DIR);
  cfg.http.port = port('SIDECAST_HTTP_PORT') ?? cfg.http.port;
  if (cfg.grpc) cfg.grpc.port = port('SIDECAST_GRPC_PORT') ?? cfg.grpc.port;
  if (cfg.admin) cfg.admin.port = port('SIDECAST_ADMIN_PORT') ?? cfg.admin.port;
  if (env.SIDECAST_ALLOW_UNAUTHENTICATED !== undefined) {
    const v = env.SIDECAST_ALLOW_UNAUTHENTICATED;
    if (v !== 'true' && v !== 'false')
      throw new Error(`SIDECAST_ALLOW_UNAUTHENTICATED=${JSON.stringify(v)} must be "true" or "false"`);
    cfg.auth.allowUnauthenticated = v === 'true';
  }
  return cfg;
}
