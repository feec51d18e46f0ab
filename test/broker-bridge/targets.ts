// How the test suites build each real-broker adapter (conformance and fault tests share these).
// Short redelivery and publish timeouts keep the suites quick; names are unique per run.
import { NatsAdapter } from '../../broker-bridge/brokers/nats/adapter.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as amqpConnect } from 'amqplib';
import { RabbitMqAdapter } from '../../broker-bridge/brokers/rabbitmq/adapter.js';
import { connectAsync as mqttConnect } from 'mqtt';
import { MqttAdapter } from '../../broker-bridge/brokers/mqtt/adapter.js';
import { brokerSafeName } from '../../broker-bridge/brokers/shared/names.js';
import type { ConformanceTarget, RunInfo } from './conformance.js';

export const NATS_PORT = 4222;

export function natsAdapter(run: RunInfo, port = NATS_PORT): NatsAdapter {
  return new NatsAdapter({
    servers: `nats://127.0.0.1:${port}`,
    stream: `SC_${run.id}`,
    subjectPrefix: `sc${run.id}`,
    publishTimeoutMs: 2_000,
    redeliveryDelayMs: 100,
    ackWaitMs: 2_000,
    reconnect: { initialMs: 50, maxMs: 500 },
    pingIntervalMs: 2_000,
  });
}

export const natsTarget: ConformanceTarget = {
  make: (run) => natsAdapter(run),
  unrepresentable: [{ topic: 'v1.2/x', level: 'v1.2' }],
  async cleanup(run) {
    const nc = await connect({ servers: `nats://127.0.0.1:${NATS_PORT}` });
    try {
      await (await jetstreamManager(nc)).streams.delete(`SC_${run.id}`).catch((e: Error) => {
        if (!/stream not found/.test(e.message)) throw e; // a test that never connected created none
      });
    } finally {
      await nc.close();
    }
  },
};

export const RABBITMQ_PORT = 5672;

export function rabbitAdapter(run: RunInfo, port = RABBITMQ_PORT): RabbitMqAdapter {
  return new RabbitMqAdapter({
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    exchange: `sc.${run.id}`,
    queuePrefix: `sc.${run.id}.`,
    publishTimeoutMs: 2_000,
    redeliveryDelayMs: 100,
    heartbeatSeconds: 2,
    reconnect: { initialMs: 50, maxMs: 500 },
  });
}

export const rabbitTarget: ConformanceTarget = {
  make: (run) => rabbitAdapter(run),
  unrepresentable: [
    { topic: 'v1.2/x', level: 'v1.2' },
    { topic: 'x/#', level: '#' },
  ],
  async cleanup(run, consumerNames) {
    const conn = await amqpConnect(`amqp://guest:guest@127.0.0.1:${RABBITMQ_PORT}`);
    try {
      const ch = await conn.createChannel();
      for (const name of consumerNames) await ch.deleteQueue(`sc.${run.id}.${brokerSafeName(name)}`);
      await ch.deleteExchange(`sc.${run.id}`);
    } finally {
      await conn.close();
    }
  },
};

export const MQTT_PORT = 1883;

export function mqttAdapter(run: RunInfo, port = MQTT_PORT, protocolVersion: 4 | 5 = 5): MqttAdapter {
  return new MqttAdapter({
    protocolVersion,
    url: `mqtt://127.0.0.1:${port}`,
    topicPrefix: 'sidecast-test',
    clientIdPrefix: `sc${run.id}-`,
    replicaId: `r${run.replica}`,
    sessionExpirySeconds: 300,
    publishTimeoutMs: 2_000,
    redeliveryDelayMs: 100,
    keepaliveSeconds: 5,
    reconnect: { initialMs: 50, maxMs: 500 },
  });
}

export const mqttTarget: ConformanceTarget = mqttTargetFor(5);

/** MQTT 5, or 3.1.1 (4): ids and keys then come from the CloudEvent body. */
export function mqttTargetFor(protocolVersion: 4 | 5): ConformanceTarget {
  return {
    make: (run) => mqttAdapter(run, MQTT_PORT, protocolVersion),
    unrepresentable: [
      { topic: 'a+b/x', level: 'a+b' },
      { topic: 'x/#', level: '#' },
    ],
    async cleanup(run, consumerNames) {
      // Connecting with clean=true discards each persistent session the suite left behind.
      for (const name of consumerNames) {
        for (const replica of [0, 1]) {
          const c = await mqttConnect(`mqtt://127.0.0.1:${MQTT_PORT}`, {
            clientId: `sc${run.id}-${brokerSafeName(name)}-r${replica}`,
            clean: true,
            protocolVersion,
          });
          await c.endAsync();
        }
      }
    },
  };
}
