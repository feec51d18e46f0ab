// Can a broker carry this topic or pattern? Asks the bridge's own translators (the functions the
// adapters publish and subscribe with), so analyze and the running bridge never disagree.
// Default adapter options: NATS subject prefix `sidecast`, no MQTT prefix, Kafka topicLevels 1.
import { amqpBindingKey, amqpRoutingKey } from '../../broker-bridge/brokers/translate/amqp.js';
import { kafkaSubscription, kafkaTopicName } from '../../broker-bridge/brokers/translate/kafka.js';
import { mqttFilter, mqttTopic } from '../../broker-bridge/brokers/translate/mqtt.js';
import { natsFilter, natsSubject } from '../../broker-bridge/brokers/translate/nats.js';

export const BROKER_KINDS = ['embedded', 'nats', 'rabbitmq', 'mqtt', 'kafka'] as const;
export type BrokerKind = (typeof BROKER_KINDS)[number];

const TRANSLATORS: Record<BrokerKind, { topic: (t: string) => unknown; pattern: (p: string) => unknown }> = {
  embedded: { topic: () => undefined, pattern: () => undefined },
  nats: { topic: (t) => natsSubject('sidecast', t), pattern: (p) => natsFilter('sidecast', p) },
  rabbitmq: { topic: amqpRoutingKey, pattern: amqpBindingKey },
  mqtt: { topic: (t) => mqttTopic('', t), pattern: (p) => mqttFilter('', p) },
  kafka: { topic: (t) => kafkaTopicName(t, 1), pattern: (p) => kafkaSubscription(p, 1) },
};

/** null when `broker` can carry it, else the broker's reason. */
export function carryProblem(broker: BrokerKind, kind: 'topic' | 'pattern', value: string): string | null {
  try {
    TRANSLATORS[broker][kind](value);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
