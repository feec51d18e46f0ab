// The broker-bridge as a library: createBridge(config) wires broker, spool, publisher, HTTP and
// gRPC ingest and the admin server. Delivery to subscribers (broker-bridge/delivery/) builds on
// the returned `broker`, `metrics.registry` and `logger`, and registers its own shutdown via onStop.

import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { BridgeMetrics } from './admin/metrics.js';
import { createAdminServer } from './admin/server.js';
import { Authenticator } from './auth/producers.js';
import { createBroker } from './brokers/index.js';
import type { BrokerAdapter } from './brokers/types.js';
import type { BridgeConfig } from './config.js';
import { createGrpcIngest, grpcCredentials } from './ingest/grpc.js';
import { createHttpIngest } from './ingest/http.js';
import { IngestService } from './ingest/service.js';
import { Publisher } from './publisher/publisher.js';
import { Spool } from './spool/spool.js';
import { BridgeTracing } from './tracing/spans.js';
import { ContractRegistry } from './contracts/registry.js';
import type { TracerProvider } from '@opentelemetry/api';

export type { BridgeConfig } from './config.js';
export { defaultConfig, loadBridgeConfig, configFromObject } from './config.js';

export interface BridgePorts {
  http: number;
  grpc: number | null;
  admin: number | null;
}

export interface Bridge {
  readonly config: BridgeConfig;
  readonly broker: BrokerAdapter;
  readonly metrics: BridgeMetrics;
  readonly logger: Logger;
  /** Data contracts ingest checks events against (broker-bridge/contracts/, filled from xDS). */
  readonly contracts: ContractRegistry;
  /** Set when tracing is on (deps.tracerProvider); delivery adds its spans through it. */
  readonly tracing: BridgeTracing | undefined;
  /** Bound ports; filled in by start(). */
  readonly ports: BridgePorts;
  start(): Promise<void>;
  /** Graceful: stops taking requests, finishes in-flight ones, runs onStop steps, closes the broker. */
  stop(): Promise<void>;
  /** A step run by stop() after ingest has drained and before the broker closes (e.g. delivery). */
  onStop(step: () => Promise<void>): void;
  /** Adds a section to the /readyz body (its reasons are listed, never make the bridge unready). */
  addReadinessDetail(name: string, detail: () => { value: unknown; reasons: string[] }): void;
  spoolDepth(): number;
}

export interface BridgeDeps {
  logger?: Logger;
  /** Use this adapter instead of one made from config.broker.url (tests, embedding). */
  broker?: BrokerAdapter;
  /** Turns tracing on (broker-bridge/tracing/setup.ts builds one from the OTEL_* environment). */
  tracerProvider?: TracerProvider;
}

function listen(server: HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes the server; connections still busy after `timeoutMs` are cut. */
function closeHttp(server: HttpServer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    // Keep-alive connections turn idle as their last response goes out; close them as they do.
    const sweep = setInterval(() => server.closeIdleConnections(), 20);
    server.close(() => {
      clearTimeout(timer);
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export async function createBridge(config: BridgeConfig, deps: BridgeDeps = {}): Promise<Bridge> {
  const logger = deps.logger ?? pino({ name: 'sidecast-bridge', level: process.env.LOG_LEVEL ?? 'info' });
  const broker = deps.broker ?? (await createBroker(config.broker.url, config.broker.options));
  const auth = new Authenticator(config.auth);
  const contracts = new ContractRegistry();
  const tracing = deps.tracerProvider ? new BridgeTracing(deps.tracerProvider, broker.kind) : undefined;
  // Exemplars (trace ids on histogram buckets) exist only in the OpenMetrics exposition format.
  const metrics = new BridgeMetrics({ openMetrics: tracing !== undefined });
  const ports: BridgePorts = { http: 0, grpc: null, admin: null };
  const stopSteps: Array<() => Promise<void>> = [];
  let spool: Spool | null = null;
  let publisher: Publisher | null = null;
  let httpServer: HttpServer | null = null;
  let grpcServer: grpc.Server | null = null;
  let adminServer: HttpServer | null = null;
  let stopping = false;
  let connecting: Promise<void> | null = null;
  const stopSignal = new AbortController();

  /** Keeps trying the initial broker connection; adapters handle reconnects after that. */
  const connectInBackground = (): void => {
    connecting = (async () => {
      let delay = 200;
      while (!stopping) {
        try {
          await broker.connect();
          logger.info({ broker: broker.kind }, 'broker connected');
          publisher?.kick();
          return;
        } catch (e) {
          logger.warn(
            { broker: broker.kind, err: (e as Error).message, retryInMs: delay },
            'broker connect failed; ingest goes to the spool meanwhile',
          );
          await sleep(delay, undefined, { signal: stopSignal.signal }).catch(() => undefined);
          delay = Math.min(delay * 2, 10_000);
        }
      }
    })();
  };

  const readinessDetails = new Map<string, () => { value: unknown; reasons: string[] }>();
  const bridge: Bridge = {
    config,
    broker,
    metrics,
    logger,
    tracing,
    contracts,
    ports,
    onStop: (step) => void stopSteps.push(step),
    addReadinessDetail: (name, detail) => void readinessDetails.set(name, detail),
    spoolDepth: () => spool?.depth ?? 0,

    async start() {
      spool = await Spool.open(config.spool.dir, {
        maxBytes: config.spool.maxBytes,
        segmentBytes: config.spool.segmentBytes,
      });
      const s = spool;
      publisher = new Publisher(broker, s, metrics, logger, config.publisher);
      metrics.watch(
        () => s,
        () => broker.isConnected(),
      );
      if (s.depth > 0)
        logger.info({ spoolDepth: s.depth }, 'spool holds events from an earlier run; replaying');
      connectInBackground();
      // Wait briefly for the broker so a healthy start publishes directly from the first event.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([connecting, new Promise((r) => (timer = setTimeout(r, 2000)))]);
      clearTimeout(timer);
      publisher.start();
      const service = new IngestService(publisher, metrics, config.limits, {
        ...(tracing ? { tracing } : {}),
        contracts,
        log: logger,
      });
      httpServer = createHttpIngest(service, auth, config.http.tls);
      ports.http = await listen(httpServer, config.http.host, config.http.port);
      if (config.grpc) {
        const g = createGrpcIngest(service, auth);
        const address = `${config.grpc.host}:${config.grpc.port}`;
        ports.grpc = await new Promise<number>((resolve, reject) =>
          g.bindAsync(address, grpcCredentials(config.grpc!.tls), (err, port) =>
            err
              ? reject(new Error(`grpc ingest cannot listen on ${address}: ${err.message}`))
              : resolve(port),
          ),
        );
        grpcServer = g;
      }
      if (config.admin) {
        adminServer = createAdminServer(metrics, {
          brokerKind: broker.kind,
          brokerConnected: () => broker.isConnected(),
          spool: () => ({ depth: s.depth, bytes: s.bytes, maxBytes: s.maxBytes, full: s.full }),
          stopping: () => stopping,
          details: () => [...readinessDetails].map(([name, d]) => ({ name, ...d() })),
        });
        ports.admin = await listen(adminServer, config.admin.host, config.admin.port);
      }
      logger.info({ ports, broker: broker.kind }, 'bridge started');
    },

    async stop() {
      if (stopping) return;
      stopping = true;
      stopSignal.abort();
      const timeout = config.shutdownTimeoutMs;
      // New requests are refused by the publisher (503); in-flight ones finish or spool.
      const closing: Array<Promise<void>> = [];
      if (httpServer) closing.push(closeHttp(httpServer, timeout));
      const g = grpcServer;
      if (g) {
        closing.push(
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => g.forceShutdown(), timeout);
            g.tryShutdown(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
        );
      }
      await publisher?.drain();
      await Promise.all(closing);
      await connecting;
      for (const step of stopSteps) await step();
      await spool?.close();
      await broker.close();
      if (adminServer) await closeHttp(adminServer, 1000);
      logger.info({ spoolDepth: spool?.depth ?? 0 }, 'bridge stopped');
    },
  };
  return bridge;
}
