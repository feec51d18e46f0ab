// Command-line entry: `tsx broker-bridge/main.ts [--config bridge.yaml] [--xds host:port]` (or
// SIDECAST_BRIDGE_CONFIG / SIDECAST_XDS_SERVER). With an xds-server, subscriptions come from it and
// are delivered (node id: --node-id / SIDECAST_BRIDGE_NODE_ID, default sidecast-bridge-<host name>).
// Stops gracefully on SIGINT/SIGTERM: in-flight events are published or spooled first.

import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { attachDelivery } from './delivery/index.js';
import { createBridge, loadBridgeConfig } from './index.js';
import { tracingFromEnv } from './tracing/setup.js';

const logger = pino({ name: 'sidecast-bridge', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', short: 'c' },
      xds: { type: 'string' },
      'node-id': { type: 'string' },
    },
  });
  const config = loadBridgeConfig(values.config ?? process.env.SIDECAST_BRIDGE_CONFIG);
  if (!config.auth.allowUnauthenticated && config.auth.producers.length === 0) {
    logger.warn(
      'no producers configured (auth.producers) and unauthenticated ingest is off: every ingest request will get 401',
    );
  }
  if (config.auth.allowUnauthenticated)
    logger.warn(
      'unauthenticated ingest is enabled (auth.allowUnauthenticated); use it for local development only',
    );
  // Off unless OTEL_TRACES_EXPORTER / OTEL_EXPORTER_OTLP_ENDPOINT ask for it (docs/tracing.md).
  const tracing = tracingFromEnv();
  if (tracing) logger.info('tracing on: spans exported as the OTEL_* environment says');
  const bridge = await createBridge(config, {
    logger,
    ...(tracing ? { tracerProvider: tracing.provider } : {}),
  });
  await bridge.start();
  const xds = values.xds ?? process.env.SIDECAST_XDS_SERVER;
  if (xds) {
    const nodeId =
      values['node-id'] ?? process.env.SIDECAST_BRIDGE_NODE_ID ?? `sidecast-bridge-${hostname()}`;
    await attachDelivery(bridge, { xds: { server: xds, nodeId } });
  } else {
    logger.warn(
      'no xds-server given (--xds / SIDECAST_XDS_SERVER): ingest only, nothing is delivered to subscribers',
    );
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // Spans of the last deliveries are flushed after delivery has stopped.
    bridge
      .stop()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (e: Error) => {
          logger.error({ err: e.message }, 'stop failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: Error) => {
  logger.fatal({ err: e.message }, 'bridge failed to start');
  process.exit(1);
});
