// A Subscription whose pattern the broker cannot carry (`nc/v1.2/>` on NATS: "." separates NATS
// subject tokens) is NACKed by the bridge with the reason, shows in the xds-server's /debug/syncz, in
// the bridge's /readyz and in a gauge, while every other subscription keeps consuming. Real NATS
// JetStream, a real xds-server watching a mesh file, delta ADS between them.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createBridge, defaultConfig } from '../../broker-bridge/index.js';
import { attachDelivery } from '../../broker-bridge/delivery/index.js';
import { startXdsServer } from '../../xds-server/index.js';
import { eventually, ingest, meshYaml, running } from '../e2e/stack.js';
import { brokerReachable } from './broker-env.js';
import { HttpSubscriber } from './http-subscriber.js';
import { scratchStream } from './nats-scratch.js';
import { NATS_PORT } from './targets.js';

const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
});

if (await brokerReachable('NATS JetStream', NATS_PORT)) {
  describe('a Subscription the broker cannot carry', () => {
    it('is NACKed with the reason (syncz, /readyz, gauge) and the other subscriptions keep consuming', async () => {
      const run = randomUUID().slice(0, 8);
      const scratch = scratchStream(run);
      closers.push(() => scratch.remove());
      const dir = await mkdtemp(join(tmpdir(), 'sidecast-nack-'));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      const sub = await new HttpSubscriber().start(0);
      closers.push(() => sub.stop());
      const mesh = join(dir, 'mesh.yaml');
      await writeFile(
        mesh,
        meshYaml([
          { name: 'good', service: 'svc', port: sub.port, topics: [`nc${run}/ok/>`] },
          { name: 'dotted', service: 'svc', port: sub.port, topics: [`nc${run}/v1.2/>`, `nc${run}/ok/>`] },
        ]),
      );
      const xds = await startXdsServer({
        mesh,
        grpcAddress: '127.0.0.1:0',
        adminAddress: '127.0.0.1:0',
        debounceMs: 20,
        logger: pino({ level: 'silent' }),
      });
      closers.push(() => xds.close());

      const cfg = defaultConfig(join(dir, 'bridge'));
      cfg.broker.url = `nats://127.0.0.1:${NATS_PORT}`;
      cfg.broker.options = { nats: scratch.options };
      cfg.http = { host: '127.0.0.1', port: 0 };
      cfg.grpc = null;
      cfg.admin = { host: '127.0.0.1', port: 0 };
      cfg.auth = { allowUnauthenticated: true, producers: [] };
      cfg.shutdownTimeoutMs = 2000;
      const bridge = await createBridge(cfg, { logger: pino({ level: 'silent' }) });
      await bridge.start();
      closers.push(() => bridge.stop());
      const delivery = await attachDelivery(bridge, {
        xds: { server: `127.0.0.1:${xds.grpcPort}`, nodeId: `bridge-${run}` },
      });

      // The bridge refused only that resource, naming the pattern and why.
      await eventually('the NACK', () => Object.keys(delivery.status().xds?.rejected ?? {}).length > 0);
      const rejected = delivery.status().xds!.rejected;
      expect(Object.keys(rejected)).toEqual(['svc/dotted']); // resources are named <service>/<subscription>
      expect(rejected['svc/dotted']).toContain(`topics[0] "nc${run}/v1.2/>"`);
      expect(rejected['svc/dotted']).toContain('nats cannot carry');
      await eventually('good consuming', () => running({ delivery } as never).includes('svc/good'));
      expect(delivery.status().subscriptions.map((s) => s.name)).toEqual(['svc/good']);

      // The other subscription works: an event published now is delivered to it.
      const url = `http://127.0.0.1:${bridge.ports.http}/v1/events`;
      await ingest(url, [{ id: `e-${run}`, topic: `nc${run}/ok/1`, data: { n: 1 } }]);
      await sub.waitFor(1);
      expect(sub.received[0]!.headers['ce-id']).toBe(`e-${run}`);

      // The xds-server records the NACK with the bridge's detail.
      const syncz = (await (await fetch(`http://127.0.0.1:${xds.adminPort}/debug/syncz`)).json()) as {
        nacks: Array<{ nodeId: string; detail?: string; message?: string }>;
      };
      const mine = syncz.nacks.filter((n) => n.nodeId === `bridge-${run}`);
      expect(JSON.stringify(mine)).toContain(`nc${run}/v1.2/>`);

      // /readyz lists it (the bridge stays ready: it still takes events) and the gauge is 1.
      const admin = `http://127.0.0.1:${bridge.ports.admin}`;
      const ready = await fetch(`${admin}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as {
        subscriptions: { rejected: Record<string, string> };
        reasons: string[];
      };
      expect(Object.keys(body.subscriptions.rejected)).toEqual(['svc/dotted']);
      expect(body.reasons.some((r) => r.startsWith('subscription svc/dotted refused (NACK):'))).toBe(true);
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      expect(metrics).toMatch(/sidecast_delivery_subscription_rejected\{subscription="svc\/dotted"\} 1/);

      // Fixing the pattern clears it everywhere.
      await writeFile(
        mesh,
        meshYaml([
          { name: 'good', service: 'svc', port: sub.port, topics: [`nc${run}/ok/>`] },
          { name: 'dotted', service: 'svc', port: sub.port, topics: [`nc${run}/v1-2/>`, `nc${run}/ok/>`] },
        ]),
      );
      await eventually('the fixed subscription consuming', () =>
        running({ delivery } as never).includes('svc/dotted'),
      );
      expect(delivery.status().xds!.rejected).toEqual({});
      expect(await (await fetch(`${admin}/metrics`)).text()).not.toMatch(
        /sidecast_delivery_subscription_rejected\{subscription="svc\/dotted"\} 1/,
      );
    });
  });
} else {
  describe('a Subscription the broker cannot carry', () => it.skip('NATS JetStream not reachable', () => {}));
}
