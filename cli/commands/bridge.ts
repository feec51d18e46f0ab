// `sidecast bridge`: the broker-bridge alone (docs/broker-bridge.md): ingest, broker, spool, and
// delivery to subscribers when an xds-server is given. State goes under .sidecast-data/ unless the
// config file says otherwise.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { createBridge, loadBridgeConfig, type BridgeConfig } from '../../broker-bridge/index.js';
import { tracingFromEnv } from '../../broker-bridge/tracing/setup.js';
import { CliError, EXIT } from '../exit-codes.js';
import { action, logFormatOf } from '../action.js';
import { stopOnSignals } from '../lifecycle.js';
import { createLogger } from '../output.js';
import { brokerUrl } from './broker-url.js';

/** The bridge config file (or defaults); a missing or invalid file is the user's input to fix. */
export function bridgeConfig(file: string | undefined): BridgeConfig {
  try {
    return loadBridgeConfig(file);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.invalid);
  }
}

interface BridgeOptions {
  config?: string;
  broker?: string;
  xds?: string;
  nodeId?: string;
  logLevel: string;
}

export function register(program: Command): void {
  program
    .command('bridge')
    .description(
      'run the broker-bridge: CloudEvents ingest → broker (spooled while it is down) → subscribers',
    )
    .addOption(new Option('-c, --config <file>', 'bridge config, YAML or JSON').env('SIDECAST_BRIDGE_CONFIG'))
    .addOption(
      new Option(
        '--broker <url|kind>',
        'broker URL (nats://…, amqp://…, mqtt://…, kafka://…, embedded:///dir) or a kind for its local default',
      ).env('SIDECAST_BROKER_URL'),
    )
    .addOption(
      new Option('--xds <host:port>', 'xds-server to take subscriptions from (none: ingest only)').env(
        'SIDECAST_XDS_SERVER',
      ),
    )
    .addOption(
      new Option('--node-id <id>', 'this bridge’s xDS node id (default sidecast-bridge-<host name>)').env(
        'SIDECAST_BRIDGE_NODE_ID',
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'trace|debug|info|warn|error').env('LOG_LEVEL').default('info'),
    )
    .addHelpText('after', '\nExample: sidecast bridge --broker nats://127.0.0.1:4222 --xds 127.0.0.1:18000')
    .action(
      action('bridge', async (o: BridgeOptions, cmd: Command) => {
        const logger = createLogger(logFormatOf(cmd), o.logLevel, 'sidecast-bridge');
        const config = bridgeConfig(o.config);
        if (o.broker) config.broker.url = brokerUrl(o.broker, resolve('.sidecast-data/broker'));
        if (!config.auth.allowUnauthenticated && config.auth.producers.length === 0)
          logger.warn(
            'no producers configured (auth.producers) and unauthenticated ingest is off: every ingest request will get 401',
          );
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
        // Spans of the last deliveries are flushed after delivery has stopped.
        stopOnSignals(
          async () => {
            await bridge.stop();
            await tracing?.shutdown();
          },
          { say: (line) => logger.info(line) },
        );
        if (o.xds) {
          await attachDelivery(bridge, {
            xds: { server: o.xds, nodeId: o.nodeId ?? `sidecast-bridge-${hostname()}` },
          });
        } else {
          logger.warn(
            'no xds-server given (--xds / SIDECAST_XDS_SERVER): ingest only, nothing is delivered to subscribers',
          );
        }
      }),
    );
}
