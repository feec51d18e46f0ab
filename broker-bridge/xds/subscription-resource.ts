// Turns a `sidecast.v1.Subscription` xDS resource into a validated SubscriptionSpec, or throws a
// ResourceError naming the resource and the field so the NACK's error_detail says what to fix.
import { decodeSubscription as decodeProto, type SubscriptionJson } from '../../proto/sidecast.js';
import { parsePattern, parseTopic, matches, TopicError } from '../../common/topic.js';
import { DEFAULTS, defaultDeadLetterTopic, type SubscriptionSpec } from '../delivery/spec.js';
import { compileFilter, type CompiledFilter } from '../filter/cel.js';

export { SUBSCRIPTION_TYPE_URL } from '../../proto/sidecast.js';

export class ResourceError extends Error {
  constructor(
    readonly resource: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Subscription ${JSON.stringify(resource)}: ${field}: ${problem}`);
    this.name = 'ResourceError';
  }
}

const LIMITS = { maxAttempts: 100, maxConcurrency: 1024, maxDurationMs: 3_600_000, maxBatchEvents: 1000 };
const DEFAULT_BATCH_WAIT_MS = 10;

/** Decodes the protobuf bytes of one resource; `resourceName` is the xDS Resource.name. */
export function decodeSubscription(resourceName: string, bytes: Uint8Array): SubscriptionSpec {
  let raw: SubscriptionJson;
  try {
    raw = decodeProto(bytes);
  } catch (e) {
    throw new ResourceError(
      resourceName,
      '(message)',
      `not a valid sidecast.v1.Subscription protobuf: ${(e as Error).message}`,
    );
  }
  return validateSubscription(resourceName, raw);
}

export function validateSubscription(resourceName: string, raw: SubscriptionJson): SubscriptionSpec {
  const fail = (field: string, problem: string): never => {
    throw new ResourceError(resourceName, field, problem);
  };
  const name = raw.name ?? '';
  if (name !== resourceName) fail('name', `${JSON.stringify(name)} differs from the xDS resource name`);
  if (!/^[^/\s]+\/[^/\s]+$/.test(name))
    fail('name', `${JSON.stringify(name)} is not "<service>/<subscription>"`);
  const service = raw.service ?? '';
  if (!service) fail('service', 'is empty; set the subscribing mesh Service');

  const topics = raw.topics ?? [];
  if (topics.length === 0) fail('topics', 'is empty; give at least one topic pattern');
  topics.forEach((p, i) => {
    try {
      parsePattern(p);
    } catch (e) {
      fail(`topics[${i}]`, e instanceof TopicError ? e.message : String(e));
    }
  });

  const d = raw.delivery;
  if (!d) return fail('delivery', 'is missing; it must at least carry the subscriber url');
  const url = d.url ?? '';
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    fail('delivery.url', `${JSON.stringify(url)} is not an absolute URL`);
  }
  if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    fail('delivery.url', `${JSON.stringify(url)} must be http:// or https://`);

  // Proto3 JSON durations: "5s", "0.250s", "-1s".
  const ms = (field: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v);
    if (!m) fail(field, `${JSON.stringify(v)} is not a duration`);
    const value = Math.round(Number(m![1]) * 1000);
    if (value <= 0) fail(field, 'must be longer than 0ms (omit it for the default)');
    if (value > LIMITS.maxDurationMs) fail(field, `${value}ms is longer than the 1h limit`);
    return value;
  };
  const r = d.retry ?? {};
  const attempts = r.attempts || DEFAULTS.retry.attempts;
  if (attempts > LIMITS.maxAttempts)
    fail('delivery.retry.attempts', `${attempts} exceeds ${LIMITS.maxAttempts}`);
  const baseDelayMs = ms('delivery.retry.base_delay', r.base_delay, DEFAULTS.retry.baseDelayMs);
  const maxDelayMs = ms(
    'delivery.retry.max_delay',
    r.max_delay,
    Math.max(DEFAULTS.retry.maxDelayMs, baseDelayMs),
  );
  if (maxDelayMs < baseDelayMs)
    fail('delivery.retry.max_delay', `${maxDelayMs}ms is shorter than base_delay ${baseDelayMs}ms`);
  const backoff = r.backoff === 'LINEAR' ? 'linear' : 'exponential';

  const concurrency = d.concurrency || DEFAULTS.concurrency;
  if (concurrency > LIMITS.maxConcurrency)
    fail('delivery.concurrency', `${concurrency} exceeds ${LIMITS.maxConcurrency}`);

  const deadLetterTopic = raw.dead_letter_topic || defaultDeadLetterTopic(name);
  try {
    parseTopic(deadLetterTopic);
  } catch (e) {
    fail('dead_letter_topic', e instanceof TopicError ? e.message : String(e));
  }
  // A dead-letter topic that the subscription itself matches would feed failures back to the subscriber forever.
  const loop = topics.find((p) => matches(p, deadLetterTopic));
  if (loop)
    fail(
      'dead_letter_topic',
      `${JSON.stringify(deadLetterTopic)} matches the subscription's own pattern ${JSON.stringify(loop)}`,
    );

  let batch: SubscriptionSpec['batch'];
  if (d.batch) {
    const maxEvents = d.batch.max_events ?? 0;
    if (maxEvents < 1 || maxEvents > LIMITS.maxBatchEvents)
      fail('delivery.batch.max_events', `${maxEvents} is outside 1..${LIMITS.maxBatchEvents}`);
    batch = { maxEvents, maxWaitMs: ms('delivery.batch.max_wait', d.batch.max_wait, DEFAULT_BATCH_WAIT_MS) };
    // A batch goes to one URL: per-event routes would split it.
    if (raw.routes?.length) fail('delivery.batch', 'cannot be combined with routes; use one or the other');
  }
  const compile = (field: string, source: string): CompiledFilter => {
    try {
      return compileFilter(source);
    } catch (e) {
      return fail(
        field,
        `CEL expression ${JSON.stringify(source)} does not compile: ${(e as Error).message}`,
      );
    }
  };
  const filter = raw.filter ? compile('filter', raw.filter) : undefined;
  const routes = (raw.routes ?? []).map((r, i) => {
    if (!r.filter) fail(`routes[${i}].filter`, 'is empty; give the CEL expression that selects this route');
    let u: URL | undefined;
    try {
      u = new URL(r.url ?? '');
    } catch {
      fail(`routes[${i}].url`, `${JSON.stringify(r.url ?? '')} is not an absolute URL`);
    }
    // One connection pool per subscription: routes choose paths on the subscriber, not other hosts.
    if (u!.origin !== parsed!.origin)
      fail(`routes[${i}].url`, `${JSON.stringify(r.url)} is not on delivery.url's origin ${parsed!.origin}`);
    return { filter: compile(`routes[${i}].filter`, r.filter), url: r.url };
  });

  return {
    name,
    service,
    topics: [...topics],
    url,
    timeoutMs: ms('delivery.timeout', d.timeout, DEFAULTS.timeoutMs),
    retry: {
      attempts,
      backoff,
      baseDelayMs,
      maxDelayMs,
      retryAfterCapMs: ms(
        'delivery.retry.retry_after_cap',
        r.retry_after_cap,
        DEFAULTS.retry.retryAfterCapMs,
      ),
    },
    orderedByKey: d.ordered_by_key ?? false,
    concurrency,
    deadLetterTopic,
    ...(batch ? { batch } : {}),
    ...(filter ? { filter } : {}),
    ...(routes.length > 0 ? { routes } : {}),
  };
}
