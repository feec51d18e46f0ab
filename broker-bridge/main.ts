// Command-line entry: `tsx broker-bridge/main.ts [--config bridge.yaml]` (or SIDECAST_BRIDGE_CONFIG).
// Stops gracefully on SIGINT/SIGTERM: in-flight events are published or spooled first.

import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createBridge, loadBridgeConfig } from './index.js';

const logger = pino({ name: 'sidecast-bridge', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  const config = loadBridgeConfig(values.config ?? process.env.SIDECAST_BRIDGE_CONFIG);
  if (config.auth.allowUnauthenticated) logger.warn('unauthenticated ingest is enabled (auth.allowUnauthenticated); use it for local development only');
  const bridge = await createBridge(config, { logger });
  await bridge.start();
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    bridge.stop().then(
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
