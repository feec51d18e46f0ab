// The main job (`npm start`): the bank example end to end on one machine. Starts the xds-server
// watching examples/bank/mesh.yaml, a broker-bridge (embedded broker unless SIDECAST_BROKER_URL
// says otherwise) that takes its subscriptions from that xds-server, the bank's sample services on
// the endpoints the mesh file declares, and a demo sidecar (the real event-emitter.wasm in the
// proxy-wasm test host) in front of accounts; then prints where everything listens and the curl to
// try. Edit the mesh file while it runs: subscriptions follow live.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { attachDelivery } from '../broker-bridge/delivery/index.js';
import { createBridge, loadBridgeConfig } from '../broker-bridge/index.js';
import { startAccounts } from '../examples/bank/services/accounts.js';
import { startAnalytics, startAudit, startNotifications } from '../examples/bank/services/event-logger.js';
import type { RunningService } from '../examples/bank/services/http-service.js';
import { loadMesh } from '../xds-server/mesh/index.js';
import { startXdsServer } from '../xds-server/index.js';
import { startDemoSidecar, type DemoSidecar } from './demo-sidecar.js';

const env = process.env;
const meshPath = resolve(env.SIDECAST_MESH ?? 'examples/bank/mesh.yaml');
const xdsGrpc = env.SIDECAST_XDS_GRPC ?? '127.0.0.1:18000';
const xdsAdmin = env.SIDECAST_XDS_ADMIN ?? '127.0.0.1:18001';
const logger = pino({ level: env.LOG_LEVEL ?? 'warn' });
const say = (line: string) => console.log(line);
const emitterWasm = resolve('build/event-emitter.wasm');

const SERVICES: Record<string, (port: number, log: (line: string) => void) => Promise<RunningService>> = {
  accounts: startAccounts,
  notifications: startNotifications,
  audit: startAudit,
  analytics: startAnalytics,
};

async function main(): Promise<void> {
  const mesh = loadMesh(meshPath);
  const services: RunningService[] = [];
  for (const s of mesh.services) {
    const start = SERVICES[s.name];
    const ep = s.endpoints[0];
    if (start && ep)
      services.push(await start(ep.port, (line) => say(`  [${s.name}] ${line.replace(/^\w+: /, '')}`)));
  }

  const xds = await startXdsServer({
    mesh: meshPath,
    grpcAddress: xdsGrpc,
    adminAddress: xdsAdmin,
    logger: logger.child({ component: 'xds-server' }),
  });

  const config = loadBridgeConfig(env.SIDECAST_BRIDGE_CONFIG);
  if (!env.SIDECAST_BRIDGE_CONFIG) {
    // The demo: the bridge listens where the mesh says sidecars reach it, and takes events without tokens.
    config.http = {
      host: mesh.mesh.bridge.host,
      port: env.SIDECAST_HTTP_PORT ? config.http.port : mesh.mesh.bridge.port,
    };
    if (env.SIDECAST_ALLOW_UNAUTHENTICATED === undefined) config.auth.allowUnauthenticated = true;
    // State of the demo lives in .sidecast-data/ (git-ignored), not ./data.
    if (!env.SIDECAST_BROKER_URL) config.broker.url = `embedded://${resolve('.sidecast-data/broker')}`;
    if (!env.SIDECAST_SPOOL_DIR) config.spool.dir = resolve('.sidecast-data/spool');
  }
  const bridge = await createBridge(config, { logger: logger.child({ component: 'bridge' }) });
  await bridge.start();
  const delivery = await attachDelivery(bridge, {
    xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: 'sidecast-bridge-0' },
  });

  const ingest = `http://${config.http.host}:${bridge.ports.http}/v1/events`;
  // Services with EventRoutes and a declared sidecar get the demo sidecar (the real filter, no Envoy).
  const sidecars: Array<DemoSidecar & { service: string }> = [];
  for (const s of mesh.services) {
    const ep = s.endpoints[0];
    if (!s.sidecar.set || !ep || !mesh.eventRoutes.some((r) => r.service === s.name)) continue;
    if (!existsSync(emitterWasm)) {
      say(
        `(no ${emitterWasm}: run npm run build:wasm for the ${s.name} sidecar; the ingest curl below still works)`,
      );
      continue;
    }
    const sc = await startDemoSidecar({
      mesh,
      service: s.name,
      port: s.sidecar.inboundPort,
      appUrl: `http://${ep.host}:${ep.port}`,
      bridgeUrl: `http://127.0.0.1:${bridge.ports.http}`,
      wasmFile: emitterWasm,
    });
    sidecars.push({ ...sc, service: s.name });
  }
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
  say('');
  say(`sidecast is running — bank example from ${meshPath}`);
  say(
    `  xds-server   grpc 127.0.0.1:${xds.grpcPort} (ADS, delta + SotW)   admin http://${xdsAdmin}/debug/syncz`,
  );
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

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all(sidecars.map((s) => s.close()));
    await bridge.stop();
    await xds.close();
    await Promise.all(services.map((s) => s.close()));
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (!existsSync(meshPath)) {
  console.error(
    `sidecast: mesh config ${meshPath} not found; run from the repository root or set SIDECAST_MESH`,
  );
  process.exit(1);
}
main().catch((e: Error) => {
  console.error(`sidecast: ${e.message}`);
  process.exit(1);
});
