// What the real-Envoy suites share: the official Envoy image started by testcontainers with the
// release event-emitter.wasm copied in, configs from envoy-configs/ pointed at the test process
// (testcontainers' host.testcontainers.internal, opened with TestContainers.exposeHostPorts, so no
// host networking is needed), and a broker-bridge with an HTTP subscriber running in this process.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { GenericContainer, TestContainers, Wait, type StartedTestContainer } from 'testcontainers';
import { parse, stringify } from 'yaml';
import { createBridge, defaultConfig, type Bridge } from '../../broker-bridge/index.js';
import { attachDelivery, type Delivery, type DeliveryOptions } from '../../broker-bridge/delivery/index.js';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import { HttpSubscriber } from '../broker-bridge/http-subscriber.js';

const root = new URL('../../', import.meta.url).pathname;

/** The Envoy release envoy-configs/ targets (envoy-configs/README.md). */
export const ENVOY_IMAGE = 'envoyproxy/envoy:v1.36-latest';
/** How a container reaches a port of this process that was opened with TestContainers.exposeHostPorts. */
export const HOST_FROM_CONTAINER = 'host.testcontainers.internal';
export const ADMIN_PORT = 9901;
const WASM_IN_CONTAINER = '/etc/sidecast/event-emitter.wasm';

type Yaml = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** An envoy-configs/ file as data, for a test to re-point its addresses before starting Envoy. */
export function envoyConfig(file: string): Yaml {
  return parse(readFileSync(join(root, 'envoy-configs', file), 'utf8')) as Yaml;
}

/** Rewrites a static cluster to reach `port` on the test host (by name, so STRICT_DNS). */
export function pointClusterAtHost(config: Yaml, cluster: string, port: number): void {
  const c = (config.static_resources.clusters as Yaml[]).find((x) => x.name === cluster);
  if (!c) throw new Error(`envoy config has no static cluster ${cluster}`);
  c.type = 'STRICT_DNS';
  c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = {
    address: HOST_FROM_CONTAINER,
    port_value: port,
  };
}

/**
 * Starts Envoy with `config` (admin moved to 0.0.0.0 so the test can read /ready, /stats and
 * /config_dump), the release wasm at the path the configs name, and `hostPorts` of this process
 * reachable from the container. Resolves once /ready answers 200.
 */
export async function startEnvoy(opts: {
  config: Yaml;
  listenerPorts: number[];
  hostPorts: number[];
}): Promise<StartedTestContainer> {
  opts.config.admin.address.socket_address.address = '0.0.0.0';
  // A rewrite that broke the file fails here with the field named, not as an Envoy start-up error.
  envoyChecker().check(TYPE.bootstrap.split('/')[1]!, opts.config, 'bootstrap handed to Envoy');
  await TestContainers.exposeHostPorts(...opts.hostPorts);
  const container = new GenericContainer(ENVOY_IMAGE)
    .withCopyContentToContainer([
      { content: stringify(opts.config), target: '/etc/envoy/envoy.yaml', mode: 0o644 },
    ])
    .withCopyFilesToContainer([
      { source: join(root, 'build/event-emitter.wasm'), target: WASM_IN_CONTAINER, mode: 0o644 },
    ])
    .withExposedPorts(ADMIN_PORT, ...opts.listenerPorts)
    .withCommand(['envoy', '-c', '/etc/envoy/envoy.yaml', '--log-level', 'info'])
    .withWaitStrategy(Wait.forHttp('/ready', ADMIN_PORT).forStatusCode(200))
    .withStartupTimeout(120_000);
  try {
    return await container.start();
  } catch (e) {
    throw new Error(`${ENVOY_IMAGE} did not become ready: ${(e as Error).message}`);
  }
}

export const urlOf = (envoy: StartedTestContainer, port: number): string =>
  `http://${envoy.getHost()}:${envoy.getMappedPort(port)}`;

/** Envoy's admin /stats lines whose names contain `filter`, as name → value. */
export async function envoyStats(
  envoy: StartedTestContainer,
  filter: string,
): Promise<Record<string, number>> {
  const res = await fetch(`${urlOf(envoy, ADMIN_PORT)}/stats?filter=${encodeURIComponent(filter)}`);
  const out: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^(\S+): (\d+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Envoy's container log, for failure messages. */
export async function envoyLogs(envoy: StartedTestContainer): Promise<string> {
  const chunks: string[] = [];
  const stream = await envoy.logs({ tail: 200 });
  return new Promise((resolve) => {
    stream.on('data', (b: Buffer | string) => chunks.push(b.toString()));
    stream.on('end', () => resolve(chunks.join('')));
    setTimeout(() => resolve(chunks.join('')), 1000);
  });
}

/** A broker-bridge (embedded broker) on 127.0.0.1 in this process, and an HTTP subscriber. */
export interface EventSink {
  bridge: Bridge;
  subscriber: HttpSubscriber;
  ingestPort: number;
  /** Starts delivery to the subscriber: fixed subscriptions, or from an xds-server. */
  attach(source: Pick<DeliveryOptions, 'xds' | 'subscriptions'>): Promise<Delivery>;
  stop(): Promise<void>;
}

export async function startEventSink(): Promise<EventSink> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecast-envoy-'));
  const subscriber = await new HttpSubscriber(() => ({ status: 204 })).start();
  const cfg = defaultConfig(dir);
  cfg.http = { host: '127.0.0.1', port: 0 };
  cfg.grpc = null;
  cfg.admin = null;
  cfg.auth = { allowUnauthenticated: true, producers: [] };
  cfg.shutdownTimeoutMs = 2000;
  const bridge = await createBridge(cfg, { logger: pino({ level: process.env.E2E_LOG ?? 'silent' }) });
  await bridge.start();
  return {
    bridge,
    subscriber,
    ingestPort: bridge.ports.http,
    attach: (source) => attachDelivery(bridge, source),
    async stop() {
      await bridge.stop();
      await subscriber.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
