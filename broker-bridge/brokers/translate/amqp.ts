// sidecast topic <-> AMQP 0-9-1 topic-exchange routing key. Levels join with '.'; '*' stays '*'
// and '>' becomes '#'. AMQP's '#' also matches zero words, so `a/>` bound as `a.#` lets a message
// on plain `a` through: consumers drop it with PatternSet. A literal '#' level is refused. Routing keys are at most 255 bytes.
import { dotSeparatorVeto, patternLevels, topicLevels, type LevelVeto } from './levels.js';
import { UnrepresentableTopicError } from '../types.js';

const MAX_ROUTING_KEY_BYTES = 255;

const dotVeto: LevelVeto = dotSeparatorVeto('AMQP routing keys');
// In a binding key a literal '#' word is read as the wildcard; a topic with such a level could be
// published but never subscribed to by name, so it is refused on both sides.
const veto: LevelVeto = (level) =>
  level === '#' ? 'is the AMQP multi-word wildcard and cannot be bound literally' : dotVeto(level);

function checkLength(topic: string, key: string): string {
  if (Buffer.byteLength(key) > MAX_ROUTING_KEY_BYTES) {
    throw new UnrepresentableTopicError(
      'rabbitmq',
      topic,
      `routing key is longer than ${MAX_ROUTING_KEY_BYTES} bytes`,
    );
  }
  return key;
}

export function amqpRoutingKey(topic: string): string {
  return checkLength(topic, topicLevels('rabbitmq', topic, veto).join('.'));
}

export function amqpBindingKey(pattern: string): string {
  const levels = patternLevels('rabbitmq', pattern, veto);
  return checkLength(pattern, levels.map((l) => (l === '>' ? '#' : l)).join('.'));
}

export function topicOfRoutingKey(key: string): string {
  return key.split('.').join('/');
}
