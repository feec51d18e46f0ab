// Fault tests against the real brokers through a TCP proxy the test breaks.
// Part 1, adapter level: a hung connection makes publish reject with BrokerUnavailableError within
// the adapter's publish timeout; a cut connection is reported (isConnected false) and publish
// rejects at once; when the proxy returns the adapter reconnects by itself and consuming resumes.
// Part 2, end to end with the bridge's Publisher + Spool on top: producers keep getting their
// events accepted while the broker is away, and afterwards every accepted event arrives, in order
// per producer, duplicates only of the same id.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BrokerUnavailableError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ReceivedMessage,
} from '../../broker-bridge/brokers/types.js';
import { Publisher } from '../../broker-bridge/publisher/publisher.js';
import { Spool } from '../../broker-bridge/spool/spool.js';
import { BridgeMetrics } from '../../broker-bridge/admin/metrics.js';
import { brokerReachable } from './broker-env.js';
import type { ConformanceTarget, RunInfo } from './conformance.js';
import { TcpProxy } from './tcp-proxy.js';
import {
  MQTT_PORT,
  mqttAdapter,
  mqttTarget,
  NATS_PORT,
  natsAdapter,
  natsTarget,
  RABBITMQ_PORT,
  rabbitAdapter,
  rabbitTarget,
} from './targets.js';

interface Case {
  name: string;
  port: number;
  make: (run: RunInfo, port: number) => BrokerAdapter;
  target: ConformanceTarget;
}

const cases: Case[] = [
  { name: 'NATS JetStream', port: NATS_PORT, make: natsAdapter, target: natsTarget },
  { name: 'RabbitMQ', port: RABBITMQ_PORT, make: rabbitAdapter, target: rabbitTarget },
  { name: 'Mosquitto (MQTT)', port: MQTT_PORT, make: mqttAdapter, target: mqttTarget },
];
const reachable = await Promise.all(cases.map((c) => brokerReachable(c.name, c.port)));

const WAIT_MS = 20_000;
async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const msg = (id: string, topic: string): BrokerMessage => ({
  id,
  topic,
  body: Buffer.from(JSON.stringify({ id })),
});

for (const [i, c] of cases.entries()) {
  const d = reachable[i] ? describe : describe.skip;
  d(`${c.name} through a broken network`, () => {
    const run: RunInfo = { id: `f${Date.now().toString(36)}${i}`, replica: 0 };
    const consumerNames: string[] = [];
    const closers: Array<() => Promise<unknown>> = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      await c.target.cleanup?.(run, consumerNames.splice(0));
    });

    async function setup(
      consumer: string,
      maxInFlight: number,
    ): Promise<{ proxy: TcpProxy; adapter: BrokerAdapter; got: ReceivedMessage[] }> {
      const proxy = await new TcpProxy(c.port).start();
      closers.push(() => proxy.stop());
      const adapter = c.make(run, proxy.port);
      closers.push(() => adapter.close());
      await adapter.connect();
      const got: ReceivedMessage[] = [];
      consumerNames.push(consumer);
      const sub: Consumer = await adapter.subscribe(
        { name: consumer, patterns: [`${run.id}/${consumer}/>`], maxInFlight },
        async (m) => void got.push(m),
      );
      closers.push(() => sub.close());
      return { proxy, adapter, got };
    }

    it('fails connect() fast with BrokerUnavailableError when the broker refuses connections', async () => {
      const proxy = await new TcpProxy(c.port).start();
      await proxy.cut(); // the port now refuses
      const adapter = c.make(run, proxy.port);
      closers.push(() => adapter.close());
      await expect(adapter.connect()).rejects.toThrow(BrokerUnavailableError);
      expect(adapter.isConnected()).toBe(false);
    });

    it('rejects publishes while the network is hung or cut, reconnects, and resumes consuming', async () => {
      const { proxy, adapter, got } = await setup('adapter', 16);
      const t = `${run.id}/adapter/x`;
      await adapter.publish([msg('before', t)]);
      await until('the first delivery', () => got.some((m) => m.id === 'before'));

      proxy.blackhole();
      await expect(adapter.publish([msg('hung', t)])).rejects.toThrow(BrokerUnavailableError);

      await proxy.cut();
      await until('the adapter to notice the cut', () => !adapter.isConnected());
      await expect(adapter.publish([msg('cut', t)])).rejects.toThrow(BrokerUnavailableError);

      await proxy.restore();
      await until('the adapter to reconnect', () => adapter.isConnected());
      await adapter.publish([msg('after', t)]);
      await until('the delivery after the outage', () => got.some((m) => m.id === 'after'));
      expect(got.map((m) => m.id)).not.toContain('cut');
    });

    it('end to end: the publisher spools while the broker is away and every accepted event arrives in order', async () => {
      // One event in flight: a delivery lost in the cut is redelivered before anything after it.
      // (With more in flight, JetStream hands out later events while the lost one waits for ack_wait.)
      const { proxy, adapter, got } = await setup('e2e', 1);
      const dir = await mkdtemp(join(tmpdir(), 'sidecast-faults-'));
      closers.push(() => rm(dir, { recursive: true, force: true }));
      const spool = await Spool.open(dir);
      closers.push(() => spool.close());
      const publisher = new Publisher(
        adapter,
        spool,
        new BridgeMetrics(),
        { warn: () => {} },
        { backoffInitialMs: 20, backoffMaxMs: 200 },
      );
      closers.push(() => publisher.drain());
      publisher.start();

      const producers = ['p0', 'p1', 'p2'];
      const perProducer = 40;
      let submitted = 0;
      let spooledWhileCut = 0;
      const outage = (async () => {
        await until('some events through', () => submitted >= 30);
        await proxy.cut();
        await until('events accepted during the outage', () => submitted >= 75);
        spooledWhileCut = spool.depth;
        await proxy.restore();
      })();
      await Promise.all(
        producers.map(async (p) => {
          for (let n = 0; n < perProducer; n++) {
            const outcome = await publisher.submit([
              msg(`${p}-${String(n).padStart(3, '0')}`, `${run.id}/e2e/${p}`),
            ]);
            expect(outcome).toEqual([null]); // accepted: held by the broker or the spool
            submitted++;
            await sleep(2);
          }
        }),
      );
      await outage;
      expect(spooledWhileCut).toBeGreaterThan(0);

      const accepted = producers.flatMap((p) =>
        Array.from({ length: perProducer }, (_, n) => `${p}-${String(n).padStart(3, '0')}`),
      );
      await until('every accepted event', () => accepted.every((id) => got.some((m) => m.id === id)));
      for (const m of got) expect(Buffer.from(m.body).toString()).toBe(JSON.stringify({ id: m.id })); // a duplicate is the same event
      for (const p of producers) {
        const firstSeen = [...new Set(got.filter((m) => m.topic.endsWith(`/${p}`)).map((m) => m.id))];
        expect(firstSeen).toEqual(accepted.filter((id) => id.startsWith(`${p}-`)));
      }
      expect(new Set(got.map((m) => m.id)).size).toBe(accepted.length);
    });
  });
}
