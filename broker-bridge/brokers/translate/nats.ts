// sidecast topic <-> NATS subject. Topic `a/b/c` under prefix `sidecast` is subject
// `sidecast.a.b.c`; pattern wildcards map 1:1 ('*' -> '*', '>' -> '>', both one-or-more exact),
// so NATS itself never over-matches a single pattern. Several patterns on one durable consumer
// are folded into the narrowest single filter that covers them all (filter_subjects needs
// nats-server 2.10); what that filter lets through beyond the patterns is dropped by PatternSet.
import { dotSeparatorVeto, patternLevels, topicLevels, type LevelVeto } from './levels.js';

const veto: LevelVeto = (level) => dotSeparatorVeto('NATS')(level);

/** Checks a subject prefix such as `sidecast` or `acme.events` (dot-separated literal tokens). */
export function checkSubjectPrefix(prefix: string): string {
  const bad = prefix.split('.').find((t) => t.length === 0 || /[\s*>]/.test(t));
  if (bad !== undefined) {
    throw new Error(
      `NATS subjectPrefix ${JSON.stringify(prefix)} is invalid: tokens must be non-empty and contain no whitespace, "*" or ">"`,
    );
  }
  return prefix;
}

export function natsSubject(prefix: string, topic: string): string {
  return `${prefix}.${topicLevels('nats', topic, veto).join('.')}`;
}

export function natsFilter(prefix: string, pattern: string): string {
  return `${prefix}.${patternLevels('nats', pattern, veto).join('.')}`;
}

/** The sidecast topic of a subject published by natsSubject under the same prefix. */
export function topicOfSubject(prefix: string, subject: string): string {
  return subject
    .slice(prefix.length + 1)
    .split('.')
    .join('/');
}

/** One NATS filter subject covering every pattern (narrowest this simple fold can find). */
export function coveringFilter(prefix: string, patterns: readonly string[]): string {
  const all = patterns.map((p) => patternLevels('nats', p, veto));
  if (all.length === 1) return `${prefix}.${all[0]!.join('.')}`;
  const sameLength = all.every((l) => l.length === all[0]!.length && !l.includes('>'));
  // Either every level position is merged, or a prefix that leaves each pattern >= 1 level for '>'.
  const keep = sameLength
    ? all[0]!.length
    : Math.min(...all.map((l) => (l.includes('>') ? l.indexOf('>') : l.length - 1)));
  const merged: string[] = [];
  for (let i = 0; i < keep; i++) {
    const first = all[0]![i]!;
    merged.push(all.every((l) => l[i] === first) ? first : '*');
  }
  if (!sameLength) merged.push('>');
  return `${prefix}.${merged.join('.')}`;
}
