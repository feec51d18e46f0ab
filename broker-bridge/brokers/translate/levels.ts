// Shared step of every broker translation: parse a sidecast topic or pattern with the common
// grammar, then let the broker veto single levels it cannot carry. A veto becomes an
// UnrepresentableTopicError that names the broker, the topic and the offending level.
import { parsePattern, parseTopic } from '../../../common/topic.js';
import { UnrepresentableTopicError } from '../types.js';

/** Returns why `level` cannot be carried by the broker, or null when it can. */
export type LevelVeto = (level: string) => string | null;

function vetoed(
  broker: string,
  topic: string,
  levels: string[],
  veto: LevelVeto,
  skipWildcards: boolean,
): string[] {
  for (const level of levels) {
    if (skipWildcards && (level === '*' || level === '>')) continue;
    const why = veto(level);
    if (why) throw new UnrepresentableTopicError(broker, topic, `level ${JSON.stringify(level)} ${why}`);
  }
  return levels;
}

/** Levels of a concrete topic the broker can carry; throws TopicError or UnrepresentableTopicError. */
export function topicLevels(broker: string, topic: string, veto: LevelVeto): string[] {
  return vetoed(broker, topic, parseTopic(topic), veto, false);
}

/** Levels of a subscription pattern ('*' and '>' kept as they are) the broker can carry. */
export function patternLevels(broker: string, pattern: string, veto: LevelVeto): string[] {
  return vetoed(broker, pattern, parsePattern(pattern), veto, true);
}

/** Veto for brokers that use '.' as their level separator (NATS subjects, AMQP routing keys). */
export function dotSeparatorVeto(brokerLabel: string): LevelVeto {
  return (level) =>
    level.includes('.') ? `contains "." which ${brokerLabel} uses as its level separator` : null;
}
