// `sidecast start` (what `npm start` runs): the bank example end to end in this one process —
// xds-server, broker-bridge, the sample services and a demo sidecar (cli/start/demo.ts).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { action, logFormatOf } from '../action.js';
import { CliError, EXIT } from '../exit-codes.js';
import { stopOnSignals } from '../lifecycle.js';
import { createLogger } from '../output.js';
import { packageRoot } from '../package-root.js';
import { ensureEmitterWasm } from '../start/build-emitter.js';
import { startDemo, type Demo } from '../start/demo.js';
import { brokerUrl } from './broker-url.js';

interface StartOptions {
  mesh?: string;
  broker?: string;
  bridgeConfig?: string;
  xdsGrpc: string;
  xdsAdmin: string;
  dataDir: string;
  logLevel: string;
  build: boolean;
}

/** The mesh to run: the flag, else ./examples/bank/mesh.yaml, else the copy shipped in the package. */
function meshPath(flag: string | undefined): string {
  if (flag) {
    if (!existsSync(flag))
      throw new CliError(`mesh config ${flag} not found (--mesh / SIDECAST_MESH)`, EXIT.invalid);
    return resolve(flag);
  }
  for (const candidate of [
    resolve('examples/bank/mesh.yaml'),
    join(packageRoot(), 'examples/bank/mesh.yaml'),
  ])
    if (existsSync(candidate)) return candidate;
  throw new CliError('no mesh config: give --mesh <file|dir> (or SIDECAST_MESH)', EXIT.invalid);
}

export function register(program: Command): void {
  program
    .command('start')
    .description('run the bank example end to end: xds-server, bridge, sample services and a demo sidecar')
    .addOption(
      new Option('--mesh <file|dir>', 'mesh config to serve and watch (default examples/bank/mesh.yaml)').env(
        'SIDECAST_MESH',
      ),
    )
    .addOption(
      new Option(
        '--broker <url|kind>',
        'broker URL or kind (nats, rabbitmq, mqtt, kafka at their local ports; default the embedded broker)',
      ).env('SIDECAST_BROKER_URL'),
    )
    .addOption(
      new Option('--bridge-config <file>', 'bridge config file instead of the demo settings').env(
        'SIDECAST_BRIDGE_CONFIG',
      ),
    )
    .addOption(
      new Option('--xds-grpc <host:port>', 'xDS gRPC listen address')
        .env('SIDECAST_XDS_GRPC')
        .default('127.0.0.1:18000'),
    )
    .addOption(
      new Option('--xds-admin <host:port>', 'xds-server admin address')
        .env('SIDECAST_XDS_ADMIN')
        .default('127.0.0.1:18001'),
    )
    .addOption(
      new Option('--data-dir <dir>', 'state of the embedded broker and the spool')
        .env('SIDECAST_DATA_DIR')
        .default('.sidecast-data'),
    )
    .addOption(
      new Option('--log-level <level>', 'trace|debug|info|warn|error').env('LOG_LEVEL').default('warn'),
    )
    .option('--no-build', 'do not rebuild build/event-emitter.wasm when its sources changed')
    .addHelpText('after', '\nExamples:\n  sidecast start\n  sidecast start --broker nats --mesh my-mesh/')
    .action(
      action('start', async (o: StartOptions, cmd: Command) => {
        const logger = createLogger(logFormatOf(cmd), o.logLevel, 'sidecast');
        const say = (line: string) => process.stdout.write(`${line}\n`);
        const mesh = meshPath(o.mesh);
        const dataDir = resolve(o.dataDir);
        const broker = o.broker ? brokerUrl(o.broker, resolve(dataDir, 'broker')) : undefined;
        let demo: Demo | undefined;
        const stopRequested = new AbortController();
        // Signals are taken from the first moment: a stop during start-up stops what has started.
        stopOnSignals(
          async () => {
            stopRequested.abort();
            await demo?.stop();
          },
          { say },
        );
        const root = packageRoot();
        const emitterWasm = o.build
          ? await ensureEmitterWasm(root, stopRequested.signal)
          : existsSync(join(root, 'build/event-emitter.wasm'))
            ? join(root, 'build/event-emitter.wasm')
            : null;
        if (stopRequested.signal.aborted) return;
        await startDemo(
          {
            mesh,
            broker,
            bridgeConfig: o.bridgeConfig,
            xdsGrpc: o.xdsGrpc,
            xdsAdmin: o.xdsAdmin,
            dataDir,
            emitterWasm,
            logger,
            say,
          },
          (d) => (demo = d),
        );
      }),
    );
}
