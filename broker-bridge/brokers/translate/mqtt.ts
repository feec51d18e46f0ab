// sidecast topic <-> MQTT topic name / filter. Levels map 1:1 under an optional prefix
// (`prefix/a/b`); '*' -> '+', '>' -> '#'. MQTT's '#' also matches the parent level (zero levels),
// so `a/>` subscribed as `a/#` lets `a` through: consumers drop it with PatternSet. Topics whose
// first level starts with '$' are reserved by brokers ($SYS, $share) and never match wildcards.
import { patternLevels, topicLevels, type LevelVeto } from './levels.js';
import { UnrepresentableTopicError } from '../types.js';

const MAX_MQTT_TOPIC_BYTES = 65535;

const veto: LevelVeto = (level) => {
  if (level.includes('+') || level.includes('#')) return 'contains "+" or "#", the MQTT wildcards';
  return null;
};

function finish(what: string, levels: string[], prefix: string): string {
  if (prefix === '' && levels[0]!.startsWith('$')) {
    throw new UnrepresentableTopicError(
      'mqtt',
      what,
      `level ${JSON.stringify(levels[0])} starts with "$", which MQTT brokers reserve`,
    );
  }
  const name = prefix === '' ? levels.join('/') : `${prefix}/${levels.join('/')}`;
  if (Buffer.byteLength(name) > MAX_MQTT_TOPIC_BYTES)
    throw new UnrepresentableTopicError('mqtt', what, `longer than ${MAX_MQTT_TOPIC_BYTES} bytes`);
  return name;
}

/** Checks a topic prefix ('' for none): concrete levels, no wildcards, not '$'-reserved. */
export function checkMqttPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  try {
    finish(prefix, topicLevels('mqtt', prefix, veto), '');
  } catch (e) {
    throw new Error(`MQTT topicPrefix ${JSON.stringify(prefix)} is invalid: ${(e as Error).message}`);
  }
  return prefix;
}

export function mqttTopic(prefix: string, topic: string): string {
  return finish(topic, topicLevels('mqtt', topic, veto), prefix);
}

export function mqttFilter(prefix: string, pattern: string): string {
  const levels = patternLevels('mqtt', pattern, veto).map((l) => (l === '*' ? '+' : l === '>' ? '#' : l));
  return finish(pattern, levels, prefix);
}

/** `$share/<group>/<filter>` (MQTT 5 and Mosquitto/EMQX/HiveMQ/Solace shared subscriptions). */
export function sharedFilter(group: string, filter: string): string {
  if (group.length === 0 || /[/+#\s]/.test(group)) {
    throw new Error(
      `consumer name ${JSON.stringify(group)} cannot be an MQTT shared-subscription group: it must be non-empty without "/", "+", "#" or whitespace`,
    );
  }
  return `$share/${group}/${filter}`;
}

export function topicOfMqtt(prefix: string, name: string): string {
  return prefix === '' ? name : name.slice(prefix.length + 1);
}
