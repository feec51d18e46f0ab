// The validated mesh model (docs/interfaces.md §5, docs/mesh-config.md) and the translator's output.

/** group → type URL → resource name → serialized resource (docs/interfaces.md §4). */
export type FleetResources = Map<string, Map<string, Map<string, Uint8Array>>>;

export interface HostPort {
  host: string;
  port: number;
}

export interface MeshSettings {
  name: string;
  bridge: HostPort & { authority: string; path: string; timeoutMs: number; token?: string };
  /** CloudEvent `source` prefix; a service's source is `<source>/<service>`. */
  source: string;
  emitter: {
    /** Path of event-emitter.wasm on the sidecar's file system. */
    wasmFile: string;
    batch?: {
      max_events?: number;
      max_bytes?: number;
      flush_interval_ms?: number;
      max_buffered_events?: number;
    };
    retry?: { max_attempts?: number; base_delay_ms?: number; max_delay_ms?: number };
    /** EventRoutes as route metadata on the generated routes (route-annotations.ts). */
    annotateRoutes?: boolean;
  };
}

export interface ServiceSpec {
  name: string;
  endpoints: HostPort[];
  sidecar: { inboundPort: number; outboundPort: number; set: boolean };
  calls: string[];
}

/** One emitter rule, already in the emitter's JSON shape (docs/interfaces.md §1). */
export interface EmitterRule {
  name: string;
  match: Record<string, unknown>;
  event: Record<string, unknown>;
}

export interface EventRouteSpec {
  name: string;
  service: string;
  /** Where it was defined, so later checks (the emitter schema) can point at it. */
  origin: { file: string; document: number };
  rule: EmitterRule;
  /** `event.dataSchema`, resolved: served to bridges as a sidecast.v1.EventContract. */
  contract?: DataContract;
}

export interface DataContract {
  /** CloudEvents type of the route's events. */
  type: string;
  /** The JSON Schema, as compact JSON text. */
  schemaJson: string;
  /** `urn:sidecast:schema:<service>/<route>:<sha-256 prefix>`; the events' `dataschema`. */
  schemaId: string;
  policy: 'reject' | 'deadLetter' | 'warn';
  deadLetterTopic: string;
}

export interface SubscriptionSpec {
  name: string;
  service: string;
  topics: string[];
  delivery: {
    path: string;
    timeout?: string;
    retry?: {
      attempts?: number;
      backoff?: 'EXPONENTIAL' | 'LINEAR';
      base_delay?: string;
      max_delay?: string;
      retry_after_cap?: string;
    };
    deadLetterTopic?: string;
    orderByKey?: boolean;
    concurrency?: number;
    /** Batched delivery; durations already in proto form. */
    batch?: { max_events: number; max_wait?: string };
  };
  /** CEL expression selecting the events delivered. */
  filter?: string;
  /** First matching filter picks the delivery path. */
  routes?: Array<{ filter: string; path: string }>;
}

export interface MeshConfig {
  mesh: MeshSettings;
  /** Sorted by name, like every list here, so translation is deterministic. */
  services: ServiceSpec[];
  eventRoutes: EventRouteSpec[];
  subscriptions: SubscriptionSpec[];
  /** Files the config was read from (sorted). */
  files: string[];
}

/** Where a problem is: file, 1-based document index, the document's kind/name, field path, line. */
export interface MeshIssue {
  file: string;
  document?: number;
  kind?: string;
  name?: string;
  field?: string;
  line?: number;
  message: string;
}

export class MeshConfigError extends Error {
  constructor(readonly issues: MeshIssue[]) {
    super(
      `invalid mesh configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.name = 'MeshConfigError';
  }
}

export function formatIssue(i: MeshIssue): string {
  const at = [i.line ? `${i.file}:${i.line}` : i.file];
  if (i.document)
    at.push(`document ${i.document}${i.kind ? ` (${i.kind}${i.name ? ` ${i.name}` : ''})` : ''}`);
  if (i.field) at.push(`field ${i.field}`);
  return `${at.join(', ')}: ${i.message}`;
}
