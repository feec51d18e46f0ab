// The spool drain starts on the adapter's reconnect event (BrokerAdapter.onReconnect), not on the
// publisher's next backoff timer, on every real broker: the network to it is cut through a TCP proxy
// until the replay loop is deep in its backoff (production settings: 100 ms doubling to 5 s), then
// restored. The publisher's log says what woke the drain.
import { afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrokerAdapter } from '../../broker-bridge/brokers/types.js';
import { BridgeMetrics } from '../../broker-bridge/admin/metrics.js';
import { Publisher } from '../../broker-bridge/publisher/publisher.js';
import { Spool } from '../../broker-bridge/spool/spool.js';
import { brokerReachable } from './broker-env.js';
import type { ConformanceTarget, RunInfo } from './conformance.js';
import { removeDir, tempDir } from './ingest-fixture.js';
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

const cases: Array<{
  name: string;
  port: number;
  make: (run: RunInfo, port: number) => BrokerAdapter;
  target: ConformanceTarget;
}> = [
  { name: 'NATS JetStream', port: NATS_PORT, make: natsAdapter, target: natsTarget },
  { name: 'RabbitMQ', port: RABBITMQ_PORT, make: rabbitAdapter, target: rabbitTarget },
  { name: 'Mosquitto (MQTT)', port: MQTT_PORT, make: mqttAdapter, target: mqttTarget },
];
const reachable = await Promise.all(cases.map((c) => brokerReachable(c.name, c.port)));

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

for (const [i, c] of cases.entries()) {
  const d = reachable[i] ? describe : describe.skip;
  d(`${c.name}: spool replay after an outage`, () => {
    const run: RunInfo = { id: `rr${Date.now().toString(36)}${i}`, replica: 0 };
    const closers: Array<() => Promise<unknown>> = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      await c.target.cleanup?.(run, []);
    });

    it('starts the drain on the client reconnect event, not on the backoff timer', async () => {
      const proxy = await new TcpProxy(c.port).start();
      closers.push(() => proxy.stop());
      const adapter = c.make(run, proxy.port);
      closers.push(() => adapter.close());
      await adapter.connect();
      const dir = await tempDir();
      closers.push(() => removeDir(dir));
      const spool = await Spool.open(dir);
      closers.push(() => spool.close());
      const logs: Array<{ msg: string; trigger?: unknown }> = [];
      const publisher = new Publisher(adapter, spool, new BridgeMetrics(), {
        info: (o, msg) => void logs.push({ msg, ...o }),
        warn: (o, msg) => void logs.push({ msg, ...o }),
      });
      closers.push(() => publisher.drain());

      await proxy.cut();
      await until('the adapter to notice the cut', () => !adapter.isConnected());
      const ids = ['a', 'b', 'c'].map((x) => `${run.id}-${x}`);
      const outcome = await publisher.submit(
        ids.map((id) => ({ id, topic: `${run.id}/replay/x`, body: Buffer.from(id) })),
      );
      expect(outcome).toEqual([null, null, null]); // spooled
      const failures = (): number => logs.filter((l) => l.msg === 'spool replay failed').length;
      await until('the replay loop to back off (its 5th wait is 1.6 s)', () => failures() >= 5);
      await proxy.restore();
      await until('the spool to drain', () => spool.depth === 0);
      const resumed = logs.filter((l) => l.msg === 'spool replay resumed');
      expect(resumed.map((l) => l.trigger)).toEqual(['reconnect']);
    });
  });
}
