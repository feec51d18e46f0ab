// The whole delivery path for end-to-end tests, every piece real: an xds-server watching a mesh
// file, broker-bridges that get their subscriptions from it over delta ADS, a real broker, and
// HTTP subscribers on loopback. Events enter through the bridge's HTTP ingest.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { BrokerOptions } from '../../broker-bridge/brokers/index.js';
import { createBridge, defaultConfig, type Bridge } from '../../broker-bridge/index.js';
import { attachDelivery, type Delivery } from '../../broker-bridge/delivery/index.js';
import { startXdsServer, type RunningXdsServer } from '../../xds-server/index.js';

export interface MeshSubscription {
  name: string;
  service: string;
  port: number;
  topics: string[];
  path?: string;
  deadLetterTopic?: string;
  attempts?: number;
  orderByKey?: boolean;
  filter?: string;
  routes?: Array<{ filter: string; path: string }>;
}

export function meshYaml(subs: MeshSubscription[]): string {
  const services = new Map(subs.map((s) => [s.service, s.port]));
  const docs = [...services].map(
    ([name, port]) =>
      `apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: ${name} }\nspec:\n  endpoints: ["127.0.0.1:${port}"]\n`,
  );
  for (const s of subs) {
    docs.push(
      [
        'apiVersion: sidecast.io/v1',
        'kind: Subscription',
        `metadata: { name: ${s.name} }`,
        'spec:',
        `  service: ${s.service}`,
        `  topics: ${JSON.stringify(s.topics)}`,
        '  delivery:',
        `    path: ${s.path ?? '/events'}`,
        '    timeout: 2s',
        `    retry: { attempts: ${s.attempts ?? 3}, backoff: exponential, baseDelay: 20ms, maxDelay: 200ms, retryAfterCap: 1s }`,
        ...(s.deadLetterTopic ? [`    deadLetterTopic: ${s.deadLetterTopic}`] : []),
        ...(s.orderByKey ? ['    orderByKey: true'] : []),
        // JSON strings are YAML double-quoted scalars: CEL's quotes and operators pass unharmed.
        ...(s.filter ? [`  filter: ${JSON.stringify(s.filter)}`] : []),
        ...(s.routes ? [`  routes: ${JSON.stringify(s.routes)}`] : []),
        '',
      ].join('\n'),
    );
  }
  return docs.join('---\n');
}

export interface RunningBridge {
  bridge: Bridge;
  delivery: Delivery;
  ingestUrl: string;
  stop(): Promise<void>;
}

export class Stack {
  xds!: RunningXdsServer;
  readonly bridges: RunningBridge[] = [];
  private dir = '';
  meshFile = '';

  constructor(
    readonly brokerUrl: (dir: string) => string,
    private readonly brokerOptions: BrokerOptions = {},
    private readonly cleanup: () => Promise<void> = async () => {},
  ) {}

  async start(subs: MeshSubscription[]): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'sidecast-e2e-'));
    this.meshFile = join(this.dir, 'mesh.yaml');
    await writeFile(this.meshFile, meshYaml(subs));
    this.xds = await startXdsServer({
      mesh: this.meshFile,
      grpcAddress: '127.0.0.1:0',
      adminAddress: null,
      debounceMs: 20,
      logger: pino({ level: 'silent' }),
    });
  }

  /** Stops the xds-server and starts a new one on the same port (control plane outage + recovery). */
  async restartXds(whileDown: () => Promise<void>): Promise<void> {
    const port = this.xds.grpcPort;
    await this.xds.close();
    await whileDown();
    this.xds = await startXdsServer({
      mesh: this.meshFile,
      grpcAddress: `127.0.0.1:${port}`,
      adminAddress: null,
      debounceMs: 20,
      logger: pino({ level: 'silent' }),
    });
  }

  /** Rewrites the mesh file; the xds-server notices and pushes the change to every bridge. */
  async setSubscriptions(subs: MeshSubscription[]): Promise<void> {
    await writeFile(this.meshFile, meshYaml(subs));
  }

  async addBridge(nodeId: string): Promise<RunningBridge> {
    const cfg = defaultConfig(join(this.dir, nodeId));
    cfg.broker.url = this.brokerUrl(this.dir);
    // Replicas on one host need distinct MQTT client ids (the default is the host name).
    cfg.broker.options = { ...this.brokerOptions, mqtt: { ...this.brokerOptions.mqtt, replicaId: nodeId } };
    cfg.http = { host: '127.0.0.1', port: 0 };
    cfg.grpc = null;
    cfg.admin = null;
    cfg.auth = { allowUnauthenticated: true, producers: [] };
    cfg.shutdownTimeoutMs = 2000;
    const bridge = await createBridge(cfg, { logger: pino({ level: process.env.E2E_LOG ?? 'silent' }) });
    await bridge.start();
    const delivery = await attachDelivery(bridge, {
      xds: { server: `127.0.0.1:${this.xds.grpcPort}`, nodeId },
    });
    let stopped = false;
    const rb: RunningBridge = {
      bridge,
      delivery,
      ingestUrl: `http://127.0.0.1:${bridge.ports.http}/v1/events`,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await bridge.stop();
      },
    };
    this.bridges.push(rb);
    return rb;
  }

  async stop(): Promise<void> {
    for (const b of this.bridges) await b.stop();
    await this.xds?.close();
    await this.cleanup();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Waits until `check` holds, polling; throws `what` if it does not within `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The subscription names a bridge is consuming for right now. */
export function running(b: RunningBridge): string[] {
  return b.delivery
    .status()
    .subscriptions.filter((s) => s.state === 'running')
    .map((s) => s.name);
}

export interface TestEvent {
  id: string;
  topic: string;
  data: unknown;
  partitionkey?: string;
}

/** POSTs a batch to the bridge's ingest and checks that every event was accepted. */
export async function ingest(url: string, events: TestEvent[]): Promise<void> {
  const body = events.map((e) => ({
    specversion: '1.0',
    source: '//e2e',
    type: 'acme.bank.account.opened.v1',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    ...e,
  }));
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${text}`);
  const { results } = JSON.parse(text) as { results: Array<{ id: string; status: string; reason?: string }> };
  const rejected = results.filter((r) => r.status !== 'accepted');
  if (rejected.length > 0) throw new Error(`ingest rejected: ${JSON.stringify(rejected)}`);
}
