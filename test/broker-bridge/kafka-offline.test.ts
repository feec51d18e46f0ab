// The Kafka adapter's paths that need no Kafka (the broker suite itself runs through
// testcontainers in test/integration/kafka.test.ts): refusing a closed port, refusing
// unrepresentable topics before any I/O, and honest state before and after.
import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { KafkaAdapter } from '../../broker-bridge/brokers/kafka/adapter.js';
import { BrokerUnavailableError, UnrepresentableTopicError } from '../../broker-bridge/brokers/types.js';

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

describe('kafka adapter without a Kafka', () => {
  it('refuses a bad topicLevels setting when constructed', () => {
    expect(() => new KafkaAdapter({ brokers: ['127.0.0.1:9'], topicLevels: 0 })).toThrow('topicLevels');
  });

  it('fails connect() with BrokerUnavailableError against a refusing port and stays disconnected', async () => {
    const a = new KafkaAdapter({ brokers: [`127.0.0.1:${await closedPort()}`] });
    await expect(a.connect()).rejects.toThrow(BrokerUnavailableError);
    expect(a.isConnected()).toBe(false);
    await a.close();
  });

  it('refuses an unrepresentable topic before anything else, then says it is not connected', async () => {
    const a = new KafkaAdapter({ brokers: ['127.0.0.1:9'], topicLevels: 2 });
    const body = Buffer.from('{}');
    const bad = a.publish([{ id: '1', topic: 'acme/v1.2/x', body }]);
    await expect(bad).rejects.toThrow(UnrepresentableTopicError);
    await expect(bad).rejects.toThrow('"v1.2"');
    await expect(a.publish([{ id: '2', topic: 'acme/v1-2/x', body }])).rejects.toThrow(
      BrokerUnavailableError,
    );
    await expect(
      a.subscribe({ name: 'n', patterns: ['acme/v1.2/>'], maxInFlight: 1 }, async () => {}),
    ).rejects.toThrow(UnrepresentableTopicError);
  });
});
