// The over-match filter: brokers' wildcards can be wider than sidecast's ('#' in MQTT and AMQP
// also matches zero levels; a covering NATS filter or a Kafka topic regex matches more than the
// patterns asked for). Every adapter runs each received topic through this before the handler.
import { matches, parsePattern } from '../../../common/topic.js';

export class PatternSet {
  private readonly parsed: string[][];

  constructor(readonly patterns: readonly string[]) {
    if (patterns.length === 0)
      throw new Error('a consumer needs at least one topic pattern (ConsumerSpec.patterns is empty)');
    this.parsed = patterns.map((p) => parsePattern(p));
  }

  /** True when `topic` matches at least one pattern under sidecast semantics. */
  accepts(topic: string): boolean {
    const levels = topic.split('/');
    return this.parsed.some((p) => matches(p, levels));
  }
}
