// Schema-checked documents → the mesh model, with the checks no schema can do: unique names,
// references between documents, topic grammar, template sources.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { parsePattern, parseTopic } from '../../common/topic.js';
import type { MeshDocument } from './documents.js';
import type {
  DataContract,
  EmitterRule,
  EventRouteSpec,
  HostPort,
  MeshConfig,
  MeshIssue,
  MeshSettings,
  ServiceSpec,
  SubscriptionSpec,
} from './types.js';

export const BRIDGE_GROUP = 'sidecast-bridge';
export const DEFAULT_WASM_FILE = '/etc/sidecast/event-emitter.wasm';
export const DEFAULT_INBOUND_PORT = 15006;
export const DEFAULT_OUTBOUND_PORT = 15001;

/** Only to tell a user early that a dataSchema is no JSON Schema; the bridges compile their own. */
const schemaCompiler = new Ajv({ strict: false, logger: false, validateFormats: false });

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- shape guaranteed by schema.ts

/** Template sources the emitter understands (docs/interfaces.md §1). */
const TEMPLATE_SOURCE =
  /^(path\.[A-Za-z0-9_]+|request\.header\.[a-z0-9-]+|(request|response)\.body\.[A-Za-z0-9_.-]+|request\.method|request\.path|response\.status|route\.name)$/;

export interface ModelOptions {
  /**
   * Endpoints of a Service document that lists none (on Kubernetes: its EndpointSlices). Without
   * it, `spec.endpoints` is required.
   */
  endpointsOf?: (doc: MeshDocument) => HostPort[];
}

export function buildModel(
  docs: MeshDocument[],
  files: string[],
  issues: MeshIssue[],
  options: ModelOptions = {},
): MeshConfig {
  const byKind = (kind: MeshDocument['kind']) =>
    docs.filter((d) => d.kind === kind).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  uniqueNames(docs, issues);

  const meshDocs = byKind('Mesh');
  for (const extra of meshDocs.slice(1))
    issues.push(extra.issue([], `only one Mesh document is allowed (another is in ${meshDocs[0]!.file})`));
  const mesh = meshSettings(meshDocs[0]);
  if (meshDocs[0]) durationLimits(meshDocs[0], issues);

  const services = byKind('Service').map((d) => service(d, issues, options));
  const known = new Set(services.map((s) => s.name));
  const mustExist = (d: MeshDocument, path: (string | number)[], ref: string) => {
    if (!known.has(ref))
      issues.push(d.issue(path, `service "${ref}" is not defined by any Service document`));
  };
  for (const d of byKind('Service')) {
    if (d.name === BRIDGE_GROUP)
      issues.push(d.issue(['metadata', 'name'], `"${BRIDGE_GROUP}" is reserved for the broker-bridge`));
    ((d.spec.calls as string[] | undefined) ?? []).forEach((c, i) => mustExist(d, ['spec', 'calls', i], c));
  }

  const eventRoutes = byKind('EventRoute').map((d): EventRouteSpec => {
    mustExist(d, ['spec', 'service'], d.spec.service as string);
    const contract = dataContract(d, issues);
    const rule = emitterRule(d, issues);
    // The emitter stamps the route's events with the contract's id (CloudEvents `dataschema`).
    if (contract) rule.event.dataschema = contract.schemaId;
    return {
      name: d.name,
      service: d.spec.service as string,
      origin: { file: d.file, document: d.index },
      rule,
      ...(contract ? { contract } : {}),
    };
  });

  const subscriptions = byKind('Subscription').map((d): SubscriptionSpec => {
    const s = d.spec as Spec;
    mustExist(d, ['spec', 'service'], s.service);
    (s.topics as string[]).forEach((t, i) =>
      checkTopic(() => parsePattern(t), d, ['spec', 'topics', i], issues),
    );
    if (s.delivery.deadLetterTopic)
      checkTopic(
        () => parseTopic(s.delivery.deadLetterTopic),
        d,
        ['spec', 'delivery', 'deadLetterTopic'],
        issues,
      );
    const r = s.delivery.retry as Spec | undefined;
    const b = s.delivery.batch as Spec | undefined;
    return {
      name: d.name,
      service: s.service,
      topics: s.topics,
      delivery: {
        path: s.delivery.path,
        timeout: protoDuration(s.delivery.timeout),
        retry: r && {
          attempts: r.attempts,
          backoff: r.backoff?.toUpperCase(),
          base_delay: protoDuration(r.baseDelay),
          max_delay: protoDuration(r.maxDelay),
          retry_after_cap: protoDuration(r.retryAfterCap),
        },
        deadLetterTopic: s.delivery.deadLetterTopic,
        orderByKey: s.delivery.orderByKey,
        concurrency: s.delivery.concurrency,
        batch: b && { max_events: b.maxEvents as number, max_wait: protoDuration(b.maxWait) },
      },
      ...(s.filter ? { filter: s.filter as string } : {}),
      ...(s.routes ? { routes: s.routes as Array<{ filter: string; path: string }> } : {}),
    };
  });

  return { mesh, services, eventRoutes, subscriptions, files };
}

function uniqueNames(docs: MeshDocument[], issues: MeshIssue[]): void {
  const first = new Map<string, MeshDocument>();
  for (const d of docs) {
    const key = `${d.kind}/${d.name}`;
    const prev = first.get(key);
    if (prev)
      issues.push(
        d.issue(
          ['metadata', 'name'],
          `duplicate ${d.kind} "${d.name}" (first defined in ${prev.file} document ${prev.index})`,
        ),
      );
    else first.set(key, d);
  }
}

function meshSettings(d: MeshDocument | undefined): MeshSettings {
  const s = (d?.spec ?? {}) as Spec;
  const b = s.bridge ?? {};
  const e = s.emitter ?? {};
  return {
    name: d?.name ?? 'sidecast',
    bridge: {
      host: b.address ?? '127.0.0.1',
      port: b.port ?? 8090,
      authority: b.authority ?? 'sidecast-bridge',
      path: b.path ?? '/v1/events',
      timeoutMs: b.timeout ? durationMs(b.timeout) : 2000,
      token: b.token,
    },
    source: s.source ?? `//${d?.name ?? 'sidecast'}`,
    emitter: {
      wasmFile: e.wasmFile ?? DEFAULT_WASM_FILE,
      annotateRoutes: e.annotateRoutes,
      batch: e.batch && {
        max_events: e.batch.maxEvents,
        max_bytes: e.batch.maxBytes,
        flush_interval_ms: e.batch.flushInterval && durationMs(e.batch.flushInterval),
        max_buffered_events: e.batch.maxBufferedEvents,
      },
      retry: e.retry && {
        max_attempts: e.retry.maxAttempts,
        base_delay_ms: e.retry.baseDelay && durationMs(e.retry.baseDelay),
        max_delay_ms: e.retry.maxDelay && durationMs(e.retry.maxDelay),
      },
    },
  };
}

/** The emitter refuses these out of range (Envoy would NACK the filter), so refuse them here first. */
const DURATION_LIMITS: [path: string[], maxMs: number][] = [
  [['bridge', 'timeout'], 300_000],
  [['emitter', 'batch', 'flushInterval'], 60_000],
  [['emitter', 'retry', 'baseDelay'], 60_000],
  [['emitter', 'retry', 'maxDelay'], 600_000],
];

function durationLimits(d: MeshDocument, issues: MeshIssue[]): void {
  for (const [path, maxMs] of DURATION_LIMITS) {
    const v = path.reduce<unknown>((o, k) => (o as Spec | undefined)?.[k], d.spec);
    if (typeof v !== 'string') continue;
    const ms = durationMs(v);
    if (ms < 1 || ms > maxMs)
      issues.push(d.issue(['spec', ...path], `must be between 1ms and ${maxMs / 1000}s, got ${v}`));
  }
}

/** Model objects by spec object: the watcher's DocumentCache hands back the same spec for an unchanged document. */
const serviceSpecs = new WeakMap<object, ServiceSpec>();

function service(d: MeshDocument, issues: MeshIssue[], options: ModelOptions): ServiceSpec {
  // Endpoints from elsewhere (options.endpointsOf, e.g. EndpointSlices) are never reused.
  const own = (d.spec as Spec).endpoints !== undefined;
  const hit = own ? serviceSpecs.get(d.spec) : undefined;
  if (hit?.name === d.name) return hit;
  const built = buildService(d, issues, options);
  if (own) serviceSpecs.set(d.spec, built);
  return built;
}

function buildService(d: MeshDocument, issues: MeshIssue[], options: ModelOptions): ServiceSpec {
  const s = d.spec as Spec;
  let endpoints: HostPort[] = [];
  if (s.endpoints) endpoints = (s.endpoints as string[]).map(hostPort);
  else if (options.endpointsOf) endpoints = options.endpointsOf(d);
  else issues.push(d.issue(['spec', 'endpoints'], 'is required'));
  return {
    name: d.name,
    endpoints,
    sidecar: {
      inboundPort: s.sidecar?.inboundPort ?? DEFAULT_INBOUND_PORT,
      outboundPort: s.sidecar?.outboundPort ?? DEFAULT_OUTBOUND_PORT,
      set: s.sidecar?.inboundPort !== undefined,
    },
    calls: [...((s.calls as string[] | undefined) ?? [])].sort(),
  };
}

function emitterRule(d: MeshDocument, issues: MeshIssue[]): EmitterRule {
  const { match: m, event: e } = d.spec as Spec;
  for (const key of ['topic', 'subject', 'partitionKey'] as const) {
    if (e[key] === undefined) continue;
    for (const [, source] of (e[key] as string).matchAll(/\{([^}]*)\}/g)) {
      if (!TEMPLATE_SOURCE.test(source!))
        issues.push(
          d.issue(
            ['spec', 'event', key],
            `unknown template source {${source}}; use path.<param>, request.header.<name>, request.body.<a.b>, response.body.<a.b>, request.method, request.path, response.status or route.name`,
          ),
        );
    }
  }
  // A topic template must be a valid topic whatever its placeholders expand to.
  checkTopic(
    () => parseTopic((e.topic as string).replace(/\{[^}]*\}/g, 'x')),
    d,
    ['spec', 'event', 'topic'],
    issues,
  );
  if (m.path) {
    const params = new Set(
      [...(m.path as string).matchAll(/\{([A-Za-z0-9_]+)(\.\.\.)?\}/g)].map((x) => x[1]),
    );
    for (const key of ['topic', 'subject', 'partitionKey'] as const)
      for (const [, p] of ((e[key] as string | undefined) ?? '').matchAll(/\{path\.([A-Za-z0-9_]+)\}/g))
        if (!params.has(p))
          issues.push(
            d.issue(['spec', 'event', key], `{path.${p}} is not a parameter of match.path ${m.path}`),
          );
  }
  if (e.data?.from === 'none' && (e.data.field || e.data.redact))
    issues.push(
      d.issue(['spec', 'event', 'data'], 'field and redact need from: request_body or response_body'),
    );
  if (e.deadline && e.delivery !== 'guaranteed')
    issues.push(d.issue(['spec', 'event', 'deadline'], 'only applies when delivery is "guaranteed"'));
  if (e.onFailure && e.delivery !== 'guaranteed')
    issues.push(d.issue(['spec', 'event', 'onFailure'], 'only applies when delivery is "guaranteed"'));
  return {
    name: d.name,
    match: prune({
      route_name: m.routeName,
      method: m.method,
      path: m.path,
      host: m.host,
      headers: m.headers,
      status: m.status,
    }),
    event: prune({
      type: e.type,
      topic: e.topic,
      subject: e.subject,
      partitionkey: e.partitionKey,
      data: e.data && prune({ from: e.data.from, field: e.data.field ?? undefined, redact: e.data.redact }),
      max_body_bytes: e.maxBodyBytes,
      sampling: e.sampling,
      delivery: e.delivery,
      deadline_ms: e.deadline && durationMs(e.deadline),
      on_failure: e.onFailure,
    }),
  };
}

/** `event.dataSchema` (+ `schemaPolicy`) → the contract the bridges enforce; problems become issues. */
function dataContract(d: MeshDocument, issues: MeshIssue[]): DataContract | undefined {
  const e = (d.spec as Spec).event;
  const path = ['spec', 'event', e.dataSchemaFile !== undefined ? 'dataSchemaFile' : 'dataSchema'];
  if (e.dataSchema === undefined && e.dataSchemaFile === undefined) {
    if (e.schemaPolicy !== undefined)
      issues.push(
        d.issue(['spec', 'event', 'schemaPolicy'], 'only applies with event.dataSchema or dataSchemaFile'),
      );
    return undefined;
  }
  if (e.dataSchema !== undefined && e.dataSchemaFile !== undefined) {
    issues.push(d.issue(path, 'give dataSchema (inline) or dataSchemaFile, not both'));
    return undefined;
  }
  let schema: unknown = e.dataSchema;
  if (e.dataSchemaFile !== undefined) {
    const file = resolve(dirname(d.file), e.dataSchemaFile as string);
    try {
      schema = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      issues.push(d.issue(path, `cannot read the schema file ${file}: ${(err as Error).message}`));
      return undefined;
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      issues.push(d.issue(path, `${file} does not hold a JSON Schema object`));
      return undefined;
    }
  }
  try {
    schemaCompiler.compile(schema as object);
  } catch (err) {
    issues.push(d.issue(path, `not a valid JSON Schema: ${(err as Error).message}`));
    return undefined;
  }
  const name = `${d.spec.service as string}/${d.name}`;
  const schemaJson = JSON.stringify(schema);
  const digest = createHash('sha256').update(schemaJson).digest('hex').slice(0, 16);
  return {
    type: e.type as string,
    schemaJson,
    schemaId: `urn:sidecast:schema:${name}:${digest}`,
    policy: (e.schemaPolicy as DataContract['policy'] | undefined) ?? 'reject',
    deadLetterTopic: `sidecast/deadletter/schema/${name}`,
  };
}

function checkTopic(
  parse: () => unknown,
  d: MeshDocument,
  path: (string | number)[],
  issues: MeshIssue[],
): void {
  try {
    parse();
  } catch (err) {
    issues.push(d.issue(path, (err as Error).message));
  }
}

function hostPort(s: string): HostPort {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(s.slice(i + 1)) };
}

/** "500ms" | "5s" | "2m" | "1h" → milliseconds (the schema guarantees the shape). */
export function durationMs(d: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/.exec(d)!;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms']);
}

/** Mesh duration → proto3 JSON Duration ("1.5s"). */
export function protoDuration(d: string | undefined): string | undefined {
  return d === undefined ? undefined : `${durationMs(d) / 1000}s`;
}

/** Drops undefined values so the emitted JSON carries only what the user set. */
export function prune<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
