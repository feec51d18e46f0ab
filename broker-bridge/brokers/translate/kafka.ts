// sidecast topic <-> Kafka topic + header. Kafka topics are flat, so the first `levels` levels
// name the Kafka topic (joined with '.') and the full sidecast topic travels in a header.
// Those leading levels may only use Kafka's topic characters minus '.', the join character:
// [A-Za-z0-9_-]. Patterns become a regex over Kafka topic names (kafkajs subscribes to the topics
// that exist when the consumer joins); what the regex lets through is dropped by PatternSet.
import { patternLevels, topicLevels, type LevelVeto } from './levels.js';
import { UnrepresentableTopicError } from '../types.js';

const MAX_KAFKA_TOPIC_CHARS = 249;
const NAME_LEVEL = /^[A-Za-z0-9_-]+$/;
const NAME_LEVEL_RE = '[A-Za-z0-9_-]+';

const anyLevel: LevelVeto = () => null;

function nameVeto(level: string): string | null {
  return NAME_LEVEL.test(level)
    ? null
    : 'is used in the Kafka topic name and may only contain A-Z a-z 0-9 "_" "-"';
}

export function checkLevelsSetting(levels: number): void {
  if (!Number.isInteger(levels) || levels < 1)
    throw new Error(`Kafka topicLevels must be an integer >= 1 (got ${levels})`);
}

/** Joins the name levels of a topic or literal pattern into a Kafka topic name, checking each. */
function nameOf(what: string, head: string[]): string {
  for (const l of head) {
    const why = nameVeto(l);
    if (why) throw new UnrepresentableTopicError('kafka', what, `level ${JSON.stringify(l)} ${why}`);
  }
  const name = head.join('.');
  if (name.length > MAX_KAFKA_TOPIC_CHARS)
    throw new UnrepresentableTopicError(
      'kafka',
      what,
      `Kafka topic name ${name} is longer than ${MAX_KAFKA_TOPIC_CHARS} characters`,
    );
  return name;
}

export function kafkaTopicName(topic: string, levels: number): string {
  checkLevelsSetting(levels);
  return nameOf(topic, topicLevels('kafka', topic, anyLevel).slice(0, levels));
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** Regex over Kafka topic names that every topic matching `pattern` is published to. */
export function kafkaTopicRegex(pattern: string, levels: number): RegExp {
  checkLevelsSetting(levels);
  const head = patternLevels('kafka', pattern, anyLevel).slice(0, levels);
  const parts: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const l = head[i]!;
    if (l === '>') {
      // One level here, then up to the remaining name levels.
      parts.push(`${NAME_LEVEL_RE}(?:\\.${NAME_LEVEL_RE}){0,${levels - i - 1}}`);
      break;
    }
    if (l !== '*') {
      const why = nameVeto(l);
      if (why) throw new UnrepresentableTopicError('kafka', pattern, `level ${JSON.stringify(l)} ${why}`);
    }
    parts.push(l === '*' ? NAME_LEVEL_RE : escapeRegex(l));
  }
  return new RegExp(`^${parts.join('\\.')}$`);
}

/**
 * What a consumer subscribes to for `pattern`: the exact Kafka topic name when the name levels
 * hold no wildcard (the topic can be created and its offsets pinned up front), else the regex.
 */
export function kafkaSubscription(pattern: string, levels: number): string | RegExp {
  checkLevelsSetting(levels);
  const head = patternLevels('kafka', pattern, anyLevel).slice(0, levels);
  if (head.includes('*') || head.includes('>')) return kafkaTopicRegex(pattern, levels);
  return nameOf(pattern, head);
}
