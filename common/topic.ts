// Topic grammar shared by every sidecast component (DESIGN.md "Contracts"):
// topics are '/'-separated levels; patterns add '*' (exactly one level) and '>' (last level only,
// one or more levels). Adapters translate these to their broker's syntax and use `matches` to drop
// what a broker's wider wildcard lets through.

export const MAX_TOPIC_BYTES = 1024;
export const MAX_TOPIC_LEVELS = 64;

export class TopicError extends Error {
  constructor(
    readonly topic: string,
    readonly reason: string,
  ) {
    super(`invalid topic ${JSON.stringify(topic)}: ${reason}`);
    this.name = 'TopicError';
  }
}

/** Returns null when `level` is a valid concrete topic level, else why it is not. */
export function levelProblem(level: string): string | null {
  if (level.length === 0) return 'empty level (leading, trailing or doubled "/")';
  if (level === '*' || level === '>')
    return `wildcard "${level}" is not allowed in a topic (only in a subscription pattern)`;
  if (level.includes('*') || level.includes('>')) return `level "${level}" contains "*" or ">"`;
  // Control characters (incl. NUL) cannot be carried by MQTT or NATS subjects.
  if (/[\u0000-\u001f\u007f]/.test(level)) return `level "${level}" contains a control character`;
  if (/\s/.test(level)) return `level "${level}" contains whitespace`;
  return null;
}

function checkShape(s: string, what: string): string[] {
  if (typeof s !== 'string' || s.length === 0) throw new TopicError(String(s), `${what} is empty`);
  if (Buffer.byteLength(s) > MAX_TOPIC_BYTES)
    throw new TopicError(s, `${what} is longer than ${MAX_TOPIC_BYTES} bytes`);
  const levels = s.split('/');
  if (levels.length > MAX_TOPIC_LEVELS)
    throw new TopicError(s, `${what} has more than ${MAX_TOPIC_LEVELS} levels`);
  return levels;
}

/** Parses a concrete topic into its levels; throws TopicError naming the problem. */
export function parseTopic(topic: string): string[] {
  const levels = checkShape(topic, 'topic');
  for (const l of levels) {
    const p = levelProblem(l);
    if (p) throw new TopicError(topic, p);
  }
  return levels;
}

/** Parses a subscription pattern into its levels; throws TopicError naming the problem. */
export function parsePattern(pattern: string): string[] {
  const levels = checkShape(pattern, 'pattern');
  levels.forEach((l, i) => {
    if (l === '*') return;
    if (l === '>') {
      if (i !== levels.length - 1) throw new TopicError(pattern, '">" may only be the last level');
      return;
    }
    const p = levelProblem(l);
    if (p) throw new TopicError(pattern, p);
  });
  return levels;
}

export function isValidTopic(topic: string): boolean {
  try {
    parseTopic(topic);
    return true;
  } catch {
    return false;
  }
}

/** True when `topic` matches `pattern` under sidecast semantics ('>' needs at least one level). */
export function matches(pattern: string | string[], topic: string | string[]): boolean {
  const p = typeof pattern === 'string' ? pattern.split('/') : pattern;
  const t = typeof topic === 'string' ? topic.split('/') : topic;
  for (let i = 0; i < p.length; i++) {
    const seg = p[i];
    if (seg === '>') return t.length > i;
    if (i >= t.length) return false;
    if (seg !== '*' && seg !== t[i]) return false;
  }
  return p.length === t.length;
}
