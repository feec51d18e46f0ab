// The per-event delivery policy (Knative DeliverySpec semantics): 2xx done; 4xx other than 408/429
// dead-letter at once; 5xx, 408, 429 and timeouts are retried with backoff (Retry-After honoured up
// to its cap) until `attempts` is used up. A subscriber that does not answer at all (connection
// refused/reset) is *down*, not rejecting: that never uses up attempts, the event stays in flight and
// is retried at the capped backoff until the subscriber is back — it is still held by the broker.
import { backoffDelay, sleep } from './backoff.js';
import { postOnce, type AttemptResult, type SubscriberPool } from './http-post.js';
import type { Semaphore } from './limits.js';
import type { RetrySpec } from './spec.js';
import type { AttemptSpan } from '../tracing/spans.js';

export type Outcome =
  | { kind: 'delivered'; attempts: number; status: number }
  | {
      kind: 'dead-letter';
      cause: 'rejected' | 'exhausted';
      attempts: number;
      status: number;
      reason: string;
    };

export interface RetryContext {
  url: URL;
  timeoutMs: number;
  retry: RetrySpec;
  pool: SubscriberPool;
  limiter: Semaphore;
  signal: AbortSignal;
  onRetry(result: AttemptResult, delayMs: number): void;
  /** Tracing on: starts the span of attempt number `n` (it writes its traceparent into the headers). */
  traceAttempt?: (n: number) => AttemptSpan;
}

function endAttemptSpan(span: AttemptSpan, r: AttemptResult): void {
  if (r.kind === 'response') {
    const ok = r.status >= 200 && r.status < 300;
    span.end(r.status, ok ? undefined : String(r.status), ok ? undefined : describe(r));
  } else span.end(0, r.kind, describe(r));
}

export const retryable = (status: number): boolean => status >= 500 || status === 408 || status === 429;

export function describe(r: AttemptResult): string {
  if (r.kind === 'timeout') return `no response within ${r.timeoutMs}ms`;
  if (r.kind === 'unreachable') return `unreachable: ${r.error}`;
  return `HTTP ${r.status}${r.excerpt ? `: ${r.excerpt.replace(/\s+/g, ' ').trim()}` : ''}`;
}

export async function deliverWithRetry(
  ctx: RetryContext,
  headers: Record<string, string>,
  body: Buffer,
): Promise<Outcome> {
  let attempts = 0;
  let outages = 0;
  for (;;) {
    ctx.signal.throwIfAborted();
    await ctx.limiter.acquire(ctx.signal);
    let r: AttemptResult;
    const span = ctx.traceAttempt?.(attempts + outages + 1);
    try {
      r = await postOnce(ctx.pool, ctx.url, headers, body, ctx.timeoutMs, ctx.signal);
    } catch (e) {
      span?.end(0, 'aborted', (e as Error).message);
      throw e;
    } finally {
      ctx.limiter.release();
    }
    if (span) endAttemptSpan(span, r);
    ctx.signal.throwIfAborted();
    let delay: number;
    if (r.kind === 'unreachable') {
      outages++;
      delay = backoffDelay(ctx.retry, outages);
    } else {
      attempts++;
      const status = r.kind === 'response' ? r.status : 0;
      if (status >= 200 && status < 300) return { kind: 'delivered', attempts, status };
      if (r.kind === 'response' && !retryable(status))
        return {
          kind: 'dead-letter',
          cause: 'rejected',
          attempts,
          status,
          reason: `${ctx.url.href} answered ${describe(r)} (not retryable)`,
        };
      if (attempts >= ctx.retry.attempts)
        return {
          kind: 'dead-letter',
          cause: 'exhausted',
          attempts,
          status,
          reason: `${ctx.url.href}: ${attempts} attempts failed, last: ${describe(r)}`,
        };
      delay =
        r.kind === 'response' && r.retryAfterMs !== undefined
          ? Math.min(r.retryAfterMs, ctx.retry.retryAfterCapMs)
          : backoffDelay(ctx.retry, attempts);
    }
    ctx.onRetry(r, delay);
    await sleep(delay, ctx.signal);
  }
}
