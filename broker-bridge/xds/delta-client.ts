// A small delta-ADS client (xDS incremental protocol over one gRPC stream) for one resource type.
// @grpc/grpc-js-xds keeps its own client private, so the bridge speaks the protocol itself:
// wildcard subscribe, per-resource versions, ACK/NACK by nonce, removals, keep-last-good while the
// control plane is away, reconnect with backoff and `initial_resource_versions`.
import * as grpc from '@grpc/grpc-js';
import { backoffDelay } from '../delivery/backoff.js';
import {
  adsClientConstructor,
  type DeltaRequest,
  type DeltaResponse,
  type NodeMessage,
  type ResourceMessage,
} from './discovery-proto.js';

/** google.rpc.Code.INVALID_ARGUMENT, the code Envoy uses for rejected config. */
const INVALID_ARGUMENT = 3;

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DeltaClientOptions<T> {
  /** host:port of the xds-server's gRPC listener. */
  server: string;
  node: { id: string; cluster?: string; metadata?: Record<string, string> };
  typeUrl: string;
  /** Decodes and validates one resource; throws an Error whose message becomes the NACK detail. */
  decode(name: string, bytes: Uint8Array): T;
  /** Called with the whole accepted set after every change (never for a response that changed nothing). */
  onChange(resources: ReadonlyMap<string, T>): void;
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  credentials?: grpc.ChannelCredentials;
  logger?: Logger;
  userAgent?: string;
}

export interface DeltaClientStatus {
  server: string;
  connected: boolean;
  /** Responses received on all streams so far. */
  responses: number;
  acks: number;
  nacks: number;
  lastNack?: { nonce: string; detail: string; at: string };
  lastStreamError?: string;
  /** Accepted resource name → version. */
  versions: Record<string, string>;
  /** Resources NACKed and not accepted (or removed) since: name → why. */
  rejected: Record<string, string>;
}

interface Accepted<T> {
  version: string;
  value: T;
}

const silent: Logger = { info() {}, warn() {} };

export class DeltaXdsClient<T> {
  private readonly client: grpc.Client & {
    DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaRequest, DeltaResponse>;
  };
  private readonly accepted = new Map<string, Accepted<T>>();
  /** NACKed resources (last good, if any, still applies): name → the NACK detail for it. */
  private readonly rejected = new Map<string, string>();
  private stream: grpc.ClientDuplexStream<DeltaRequest, DeltaResponse> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private readonly log: Logger;
  private readonly firstUpdate: Promise<void>;
  private resolveFirst!: () => void;
  private readonly stats: Omit<DeltaClientStatus, 'server' | 'versions' | 'connected' | 'rejected'> = {
    responses: 0,
    acks: 0,
    nacks: 0,
  };
  private connected = false;

  constructor(private readonly opts: DeltaClientOptions<T>) {
    const Ads = adsClientConstructor();
    this.client = new Ads(
      opts.server,
      opts.credentials ?? grpc.credentials.createInsecure(),
    ) as unknown as typeof this.client;
    this.log = opts.logger ?? silent;
    this.firstUpdate = new Promise((r) => (this.resolveFirst = r));
  }

  start(): void {
    if (this.closed) throw new Error('DeltaXdsClient: start() after close()');
    this.openStream();
  }

  /** Resolves once a first response has been processed (accepted, partially or fully NACKed). */
  ready(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `no ${this.opts.typeUrl} response from xds-server ${this.opts.server} within ${timeoutMs}ms; is it running?`,
            ),
          ),
        timeoutMs,
      );
    });
    return Promise.race([this.firstUpdate, timeout]).finally(() => clearTimeout(timer));
  }

  resources(): ReadonlyMap<string, T> {
    return new Map([...this.accepted].map(([k, v]) => [k, v.value]));
  }

  status(): DeltaClientStatus {
    return {
      server: this.opts.server,
      connected: this.connected,
      ...this.stats,
      versions: Object.fromEntries([...this.accepted].map(([k, v]) => [k, v.version])),
      rejected: Object.fromEntries(this.rejected),
    };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
  }

  private node(): NodeMessage {
    const { id, cluster, metadata = {} } = this.opts.node;
    return {
      id,
      ...(cluster ? { cluster } : {}),
      metadata: {
        fields: Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { stringValue: v }])),
      },
      user_agent_name: this.opts.userAgent ?? 'sidecast-bridge',
    };
  }

  private openStream(): void {
    const stream = this.client.DeltaAggregatedResources();
    this.stream = stream;
    stream.on('data', (res: DeltaResponse) => {
      if (this.stream !== stream) return;
      this.connected = true;
      this.failures = 0;
      this.onResponse(stream, res);
    });
    stream.on('error', (err: grpc.ServiceError) =>
      this.onStreamEnd(stream, `${err.code} ${err.details || err.message}`),
    );
    stream.on('end', () => this.onStreamEnd(stream, 'stream ended by server'));
    // Node only on the first message; re-state the wildcard and what we hold so the server sends only changes.
    stream.write({
      node: this.node(),
      type_url: this.opts.typeUrl,
      resource_names_subscribe: ['*'],
      initial_resource_versions: this.status().versions,
    });
  }

  private onStreamEnd(stream: grpc.ClientDuplexStream<DeltaRequest, DeltaResponse>, why: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.connected = false;
    stream.cancel();
    if (this.closed) return;
    this.stats.lastStreamError = why;
    this.failures++;
    const delay = backoffDelay(
      { backoff: 'exponential', ...(this.opts.backoff ?? { baseDelayMs: 250, maxDelayMs: 10_000 }) },
      this.failures,
    );
    this.log.warn(
      { server: this.opts.server, why, retryInMs: delay, keptResources: this.accepted.size },
      'xDS stream lost; keeping last good subscriptions',
    );
    this.reconnectTimer = setTimeout(() => this.openStream(), delay);
  }

  private onResponse(stream: grpc.ClientDuplexStream<DeltaRequest, DeltaResponse>, res: DeltaResponse): void {
    this.stats.responses++;
    const errors: string[] = [];
    let changed = false;
    if (res.type_url !== this.opts.typeUrl) {
      errors.push(
        `response type_url ${JSON.stringify(res.type_url)} was not subscribed; expected ${this.opts.typeUrl}`,
      );
    } else {
      const seen = new Set<string>();
      for (const r of res.resources ?? []) {
        const problem = this.applyResource(r, seen);
        if (problem === true) changed = true;
        else if (problem) errors.push(problem);
      }
      for (const name of res.removed_resources ?? []) {
        this.rejected.delete(name);
        if (this.accepted.delete(name)) changed = true;
      }
    }
    if (changed) this.opts.onChange(this.resources());
    const ack: DeltaRequest = { type_url: res.type_url, response_nonce: res.nonce };
    if (errors.length > 0) {
      const detail = errors.join('; ');
      ack.error_detail = { code: INVALID_ARGUMENT, message: detail };
      this.stats.nacks++;
      this.stats.lastNack = { nonce: res.nonce, detail, at: new Date().toISOString() };
      this.log.warn(
        { nonce: res.nonce, detail },
        'NACK: rejected subscription resources (valid ones in the same response were applied)',
      );
    } else {
      this.stats.acks++;
    }
    stream.write(ack);
    this.resolveFirst();
  }

  /** true = applied a change, undefined = nothing to do, string = why the resource was rejected. */
  private applyResource(r: ResourceMessage, seen: Set<string>): true | string | undefined {
    const name = r.name;
    if (!name) return 'a resource has no name';
    if (seen.has(name)) return `resource ${JSON.stringify(name)} appears twice in one response`;
    seen.add(name);
    if (!r.resource) return undefined; // TTL heartbeat: same version, no body.
    if (r.resource.type_url !== this.opts.typeUrl)
      return `resource ${JSON.stringify(name)} has type ${JSON.stringify(r.resource.type_url)}, expected ${this.opts.typeUrl}`;
    const prev = this.accepted.get(name);
    if (prev && prev.version === r.version && r.version !== '') return undefined;
    try {
      const value = this.opts.decode(name, r.resource.value ?? new Uint8Array());
      this.accepted.set(name, { version: r.version, value });
      this.rejected.delete(name);
      return true;
    } catch (e) {
      const why = (e as Error).message;
      this.rejected.set(name, why);
      return why;
    }
  }
}
