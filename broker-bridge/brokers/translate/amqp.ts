// sidecast topic <-> AMQP 0-9-1 topic-exchange routing key. Levels join with '.'; '*' stays '*'
// and '>' becomes '#'. AMQP's '#' also matches zero words, so `a/>` bound as `a.#` lets a message
// on plain `a` through: consumers drop it with PatternSet. Routing keys are at most 255 bytes.
import { dotSeparatorVeto, patternLevels, topicLevels, type LevelVeto } from './levels.js';
import { UnrepresentableTopicError } from '../types.js';

const MAX_ROUTING_KEY_BYTES = 255;

const topicVeto: LevelVeto = dotSeparatorVeto('AMQP routing keys');
// In a binding key a literal '#' word would be read as the wildcard, so it cannot be asked for.
const patternVeto: LevelVeto = (level) => (level === '#' ? 'is the AMQP multi-word wildcard and cannot be bound literally' : topicVeto(level));

function checkLength(topic: string, key: string): string {
  if (Buffer.byteLength(key) > MAX_ROUTING_KEY_BYTES) {
    throw new UnrepresentableTopicError('rabbitmq', topic, `routing key is longer than ${MAX_ROUTING_KEY_BYTES} bytes`);
  }
  return key;
}

export function amqpRoutingKey(topic: string): string {
  return checkLength(topic, topicLevels('rabbitmq', topic, topicVeto).join('.'));
}

export function amqpBindingKey(pattern: string): string {
  const levels = patternLevels('rabbitmq', pattern, patternVeto);
  return checkLength(pattern, levels.map((l) => (l === '>' ? '#' : l)).join('.'));
}

export function topicOfRoutingKey(key: string): string {
  return key.split('.').join('/');
}
