// What `sidecast start` (and so `npm start`) runs: the bank example end to end on one machine. The
// xds-server watching the mesh file, a broker-bridge (embedded broker unless told otherwise) that
// takes its subscriptions from that xds-server, the bank's sample services on the endpoints the
// mesh declares, and a demo sidecar (the real event-emitter.wasm in the proxy-wasm test host) in
// front of each service with EventRoutes; then where everything listens and the curl to try.
// Everything runs in this one process, so a signal to it (or to npm in front of it) stops it all.
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { createBridge } from '../../broker-bridge/index.js';
import { bridgeConfig } from '../commands/bridge.js';
import { startAccounts } from '../../examples/bank/services/accounts.js';
import { startAnalytics, startAudit, startNotifications } from '../../examples/bank/services/event-logger.js';
import type { RunningService } from '../../examples/bank/services/http-service.js';
import { formatIssue, loadMesh, MeshConfigError } from '../../xds-server/mesh/index.js';
import { startXdsServer, type MeshChange } from '../../xds-server/index.js';
import { green, red } from '../output.js';
import { startDemoSidecar } from './demo-sidecar.js';

export interface DemoOptions {
  mesh: string;
  /** Broker URL; undefined = the embedded broker under <dataDir>/broker. */
  broker?: string;
  bridgeConfig?: string;
  xdsGrpc: string;
  xdsAdmin: string;
  /** Where the embedded broker and the spool keep their state (git-ignored by default). */
  dataDir: string;
  /** build/event-emitter.wasm, or null when there is none (the ingest curl still works). */
  emitterWasm: string | null;
  logger: Logger;
  say: (line: string) => void;
}

export interface Demo {
  stop(): Promise<void>;
}

const SERVICES: Record<string, (port: number, log: (line: string) => void) => Promise<RunningService>> = {
  accounts: startAccounts,
  notifications: startNotifications,
  audit: startAudit,
  analytics: startAnalytics,
};

/** One line for a mesh edit the xds-server applied or refused. */
export function meshChangeLine(change: MeshChange): string {
  if (change.result === 'applied')
    return `${green('mesh edit applied')}: version ${change.version}, ${change.groupsChanged} group(s) changed`;
  const e = change.error;
  const first =
    e instanceof MeshConfigError && e.issues[0] ? formatIssue(e.issues[0]) : e.message.split('\n')[0];
  const more = e instanceof MeshConfigError && e.issues.length > 1 ? ` (+${e.issues.length - 1} more)` : '';
  return `${red('mesh edit refused')}: ${first}${more}; still serving ${change.serving ? `version ${change.serving}` : 'nothing'}`;
}

/** Starts the demo; on failure part-way, what started is stopped again before the error is thrown. */
export async function startDemo(o: DemoOptions, onStarted: (stopper: Demo) => void): Promise<void> {
  const closers: Array<() => Promise<void>> = [];
  const demo: Demo = {
    stop: async () => {
      for (const close of closers.splice(0).reverse()) await close();
    },
  };
  onStarted(demo);
  try {
    await run(o, closers);
  } catch (e) {
    await demo.stop();
    throw e;
  }
}

async function run(o: DemoOptions, closers: Array<() => Promise<void>>): Promise<void> {
  const { say, logger } = o;
  const mesh = loadMesh(o.mesh);
  const services: RunningService[] = [];
  for (const s of mesh.services) {
    const start = SERVICES[s.name];
    const ep = s.endpoints[0];
    if (!start || !ep) continue;
    const svc = await start(ep.port, (line) => say(`  [${s.name}] ${line.replace(/^\w+: /, '')}`));
    services.push(svc);
    closers.push(() => svc.close());
  }

  let started = false;
  const xds = await startXdsServer({
    mesh: o.mesh,
    grpcAddress: o.xdsGrpc,
    adminAddress: o.xdsAdmin,
    logger: logger.child({ component: 'xds-server' }),
    // The first load is the banner's business; every later one gets its line.
    onMeshChange: (change) => started && say(meshChangeLine(change)),
  });
  closers.push(() => xds.close());

  const config = bridgeConfig(o.bridgeConfig);
  if (!o.bridgeConfig) {
    // The demo: the bridge listens where the mesh says sidecars reach it, and takes events without tokens.
    config.http = {
      host: mesh.mesh.bridge.host,
      port: process.env.SIDECAST_HTTP_PORT ? config.http.port : mesh.mesh.bridge.port,
    };
    if (process.env.SIDECAST_ALLOW_UNAUTHENTICATED === undefined) config.auth.allowUnauthenticated = true;
    if (!process.env.SIDECAST_BROKER_URL) config.broker.url = `embedded://${resolve(o.dataDir, 'broker')}`;
    if (!process.env.SIDECAST_SPOOL_DIR) config.spool.dir = resolve(o.dataDir, 'spool');
  }
  if (o.broker) config.broker.url = o.broker;
  const bridge = await createBridge(config, { logger: logger.child({ component: 'bridge' }) });
  await bridge.start();
  closers.push(() => bridge.stop());
  const delivery = await attachDelivery(bridge, {
    xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: 'sidecast-bridge-0' },
  });

  const ingest = `http://${config.http.host}:${bridge.ports.http}/v1/events`;
  const sidecars: Array<{ url: string; service: string }> = [];
  for (const s of mesh.services) {
    const ep = s.endpoints[0];
    if (!s.sidecar.set || !ep || !mesh.eventRoutes.some((r) => r.service === s.name)) continue;
    if (!o.emitterWasm) {
      say(
        `(no build/event-emitter.wasm for the ${s.name} sidecar: run npm run build:wasm; the ingest curl below still works)`,
      );
      continue;
    }
    const sc = await startDemoSidecar({
      mesh,
      service: s.name,
      port: s.sidecar.inboundPort,
      appUrl: `http://${ep.host}:${ep.port}`,
      bridgeUrl: `http://127.0.0.1:${bridge.ports.http}`,
      wasmFile: o.emitterWasm,
    });
    // Sidecars stop first, before the bridge their filters send to.
    closers.push(() => sc.close());
    sidecars.push({ url: sc.url, service: s.name });
  }
  started = true;

  const event = {
    specversion: '1.0',
    id: 'demo-1',
    source: '//bank.example/accounts',
    type: 'acme.bank.account.opened.v1',
    topic: 'acme/bank/account/opened/v1',
    partitionkey: 'acc-1',
    subject: 'acc-1',
    datacontenttype: 'application/json',
    data: { id: 'acc-1', owner: 'Ada' },
  };
  const admin = xds.adminPort
    ? `admin http://${o.xdsAdmin.replace(/:\d+$/, '')}:${xds.adminPort}/debug/syncz`
    : '';
  say('');
  say(`sidecast is running — bank example from ${o.mesh}`);
  say(`  xds-server   grpc 127.0.0.1:${xds.grpcPort} (ADS, delta + SotW)   ${admin}`);
  say(
    `  bridge       ingest ${ingest}   broker ${config.broker.url.replace(/\/\/[^/@]*@/, '//***@')}${bridge.ports.admin ? `   admin http://127.0.0.1:${bridge.ports.admin}/metrics` : ''}`,
  );
  for (const s of services) say(`  ${s.name.padEnd(13)} ${s.url}`);
  for (const s of sidecars)
    say(
      `  ${`${s.service} sidecar`.padEnd(13)} ${s.url}  (event-emitter.wasm in the proxy-wasm test host, ECDS config from the mesh)`,
    );
  say(
    `  subscriptions from xDS: ${
      delivery
        .status()
        .subscriptions.map((s) => `${s.name} (${s.topics.join(', ')} → ${s.url})`)
        .join('; ') || 'none yet'
    }`,
  );
  if (config.auth.allowUnauthenticated) say('  (ingest accepts unauthenticated events: local demo only)');
  say('');
  const accounts = sidecars.find((s) => s.service === 'accounts');
  if (accounts) {
    say('Open an account through the accounts sidecar; its 201 becomes an "account opened" event:');
    say(
      `  curl -s -X POST ${accounts.url}/accounts -H 'content-type: application/json' -d '{"owner":"Ada","ssn":"123-45-6789"}'`,
    );
    say('Or publish a CloudEvent straight to the bridge:');
  } else {
    say('Publish an "account opened" event (as the accounts sidecar would after POST /accounts → 201):');
  }
  say(`  curl -s ${ingest} -H 'content-type: application/cloudevents+json' -d '${JSON.stringify(event)}'`);
  say(
    'notifications, audit and analytics log it below. Edit the mesh file to add or drop subscriptions; Ctrl-C stops.',
  );
  say('');
}
