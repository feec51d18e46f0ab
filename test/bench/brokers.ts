// Broker adapter overhead: `tsx test/bench/brokers.ts`. For each local broker (NATS JetStream
// :4222, RabbitMQ :5672, Mosquitto :1883; a SKIPPED line for one that is down) and batch sizes 1
// and 64, with 4 batches in flight:
//   baseline — the bare client doing the same durable work (JetStream publish with Nats-Msg-Id and
//              every PubAck awaited; RabbitMQ confirm channel, persistent, every confirm awaited;
//              MQTT QoS 1, every PUBACK awaited),
//   adapter  — BrokerAdapter.publish(batch) (translation, validation, the same acknowledgements),
// then events/s for both (best of two alternating rounds) and the ratio adapter/baseline, same run.
import { connect as natsConnect, headers } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as amqpConnect } from 'amqplib';
import { connectAsync as mqttConnect } from 'mqtt';
import type { BrokerAdapter, BrokerMessage } from '../../broker-bridge/brokers/types.js';
import { tcpReachable } from '../broker-bridge/broker-env.js';
import { mqttAdapter, natsAdapter, rabbitAdapter } from '../broker-bridge/targets.js';
import { record, sized } from './harness.js';

const IN_FLIGHT = 4;
const EVENTS = Number(process.env.BENCH_EVENTS ?? sized(20_000, 1_000));
const body = Buffer.from(
  JSON.stringify({
    specversion: '1.0',
    id: 'x',
    source: '//bench',
    type: 'bench.v1',
    data: { n: 1, s: 'x'.repeat(200) },
  }),
);

/** Sends EVENTS events in batches of `batch`, IN_FLIGHT batches at a time; returns events/s. */
async function drive(
  batch: number,
  send: (msgs: BrokerMessage[]) => Promise<void>,
  tag: string,
): Promise<number> {
  const calls = Math.floor(EVENTS / batch);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < calls) {
        const k = next++;
        await send(
          Array.from({ length: batch }, (_, i) => ({
            id: `${tag}-${k}-${i}`,
            topic: `bench/${tag}/e/${i % 8}`,
            key: `k${i % 16}`,
            body,
          })),
        );
      }
    }),
  );
  return (calls * batch) / ((performance.now() - t0) / 1000);
}

interface Case {
  name: string;
  port: number;
  /** Opens the bare client; returns its send function and a closer. */
  bare(
    runId: string,
  ): Promise<{ send: (msgs: BrokerMessage[]) => Promise<void>; close: () => Promise<void> }>;
  adapter(runId: string): BrokerAdapter;
  cleanup(runId: string): Promise<void>;
}

const cases: Case[] = [
  {
    name: 'NATS JetStream',
    port: 4222,
    async bare(runId) {
      const nc = await natsConnect({ servers: 'nats://127.0.0.1:4222' });
      const js = jetstream(nc);
      return {
        send: async (msgs) => {
          await Promise.all(
            msgs.map((m) => {
              const h = headers();
              if (m.key) h.set('Sidecast-Key', m.key);
              return js.publish(`sc${runId}.${m.topic.split('/').join('.')}`, m.body, {
                msgID: m.id,
                headers: h,
              });
            }),
          );
        },
        close: () => nc.close(),
      };
    },
    adapter: (runId) => natsAdapter({ id: runId, replica: 0 }),
    async cleanup(runId) {
      const nc = await natsConnect({ servers: 'nats://127.0.0.1:4222' });
      await (await jetstreamManager(nc)).streams.delete(`SC_${runId}`);
      await nc.close();
    },
  },
  {
    name: 'RabbitMQ',
    port: 5672,
    async bare(runId) {
      const conn = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange(`sc.${runId}`, 'topic', { durable: true });
      return {
        send: (msgs) =>
          Promise.all(
            msgs.map(
              (m) =>
                new Promise<void>((resolve, reject) =>
                  ch.publish(
                    `sc.${runId}`,
                    m.topic.split('/').join('.'),
                    Buffer.from(m.body),
                    { persistent: true, messageId: m.id },
                    (e) => (e ? reject(e) : resolve()),
                  ),
                ),
            ),
          ).then(() => undefined),
        close: () => conn.close(),
      };
    },
    adapter: (runId) => rabbitAdapter({ id: runId, replica: 0 }),
    async cleanup(runId) {
      const conn = await amqpConnect('amqp://guest:guest@127.0.0.1:5672');
      await (await conn.createChannel()).deleteExchange(`sc.${runId}`);
      await conn.close();
    },
  },
  {
    name: 'MQTT (Mosquitto)',
    port: 1883,
    async bare() {
      const c = await mqttConnect('mqtt://127.0.0.1:1883', { protocolVersion: 5 });
      return {
        send: (msgs) =>
          Promise.all(
            msgs.map((m) =>
              c.publishAsync(`sidecast-test/${m.topic}`, Buffer.from(m.body), {
                qos: 1,
                properties: { userProperties: { 'ce-id': m.id } },
              }),
            ),
          ).then(() => undefined),
        close: () => c.endAsync(),
      };
    },
    adapter: (runId) => mqttAdapter({ id: runId, replica: 0 }),
    async cleanup() {},
  },
];

for (const c of cases) {
  if (!(await tcpReachable(c.port))) {
    console.log(`SKIPPED: ${c.name} not reachable on 127.0.0.1:${c.port}`);
    continue;
  }
  const runId = `b${Date.now().toString(36)}`;
  const adapter = c.adapter(runId);
  await adapter.connect(); // also creates the NATS stream the bare client publishes into
  const bare = await c.bare(runId);
  for (const batch of [1, 64]) {
    await drive(batch, bare.send, 'warm'); // warm-up, not counted
    // Alternate the two twice and keep the best of each: the machine is shared, so single runs are noisy.
    let [base, viaAdapter] = [0, 0];
    for (const round of [1, 2]) {
      base = Math.max(base, await drive(batch, bare.send, `base${batch}r${round}`));
      viaAdapter = Math.max(
        viaAdapter,
        await drive(batch, (m) => adapter.publish(m), `adapter${batch}r${round}`),
      );
    }
    console.log(
      `${c.name.padEnd(17)} batch ${String(batch).padStart(2)}: bare ${Math.round(base).toString().padStart(6)} ev/s  adapter ${Math.round(viaAdapter).toString().padStart(6)} ev/s  ratio ${(viaAdapter / base).toFixed(2)}`,
    );
    record('brokers', {
      path: `${c.name} adapter publish, batch ${batch}`,
      metric: 'ev/s',
      value: viaAdapter,
      better: 'higher',
      baseline: { name: 'the official client alone', value: base },
    });
  }
  await bare.close();
  await adapter.close();
  await c.cleanup(runId);
}
