// The Kafka adapter against a real single-node Kafka (KRaft) started by testcontainers, through
// the shared conformance suite. Without a container runtime the suite is skipped with one line
// (Kafka has no package on this machine; see docs/brokers.md).
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { createServer } from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaAdapter } from '../../broker-bridge/brokers/kafka/adapter.js';
import { runConformance } from '../broker-bridge/conformance.js';
import { containerRuntimeFor } from './container-runtime.js';

/** Kafka must advertise the port clients reach it on, so the host port is chosen before start. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

if (await containerRuntimeFor('Kafka conformance suite (apache/kafka:3.8.0)')) {
  const port = await freePort();
  let kafka: StartedTestContainer | undefined;
  beforeAll(async () => {
    kafka = await new GenericContainer('apache/kafka:3.8.0')
      .withExposedPorts({ container: port, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
        KAFKA_NUM_PARTITIONS: '1',
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .start();
  }, 240_000);
  afterAll(async () => {
    await kafka?.stop();
  });

  runConformance('kafka', {
    make: (run) =>
      new KafkaAdapter({
        brokers: [`127.0.0.1:${port}`],
        clientId: `sc-${run.id}-r${run.replica}`,
        topicLevels: 1, // every suite topic starts with the run id: one Kafka topic, one partition, one order
        publishTimeoutMs: 10_000,
        redeliveryDelayMs: 100,
        reconnect: { initialMs: 50, maxMs: 500 },
      }),
    // With topicLevels 1 only the run-id level names the Kafka topic; every deeper level rides in a
    // header, so the suite checks that the awkward topics round-trip (refusals: translate.test.ts).
    unrepresentable: [],
    sharesWorkOnOneTopic: false,
    async cleanup(run) {
      const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [run.id] }).catch(() => {});
      await admin.disconnect();
    },
  });
} else {
  describe('kafka adapter conformance', () => it.skip('no container runtime', () => {}));
}
