// Retry timing: linear or exponential backoff with full jitter, and Retry-After parsing.
import type { BackoffKind } from './spec.js';

export interface BackoffPolicy {
  backoff: BackoffKind;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before retry number `retry` (1 = the first retry). "Equal jitter": half the nominal delay is
 * kept so retries never collapse to zero, the other half is random so replicas do not retry in lockstep.
 */
export function backoffDelay(p: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const n = Math.max(1, retry);
  const nominal = p.backoff === 'linear' ? p.baseDelayMs * n : p.baseDelayMs * 2 ** (n - 1);
  const capped = Math.min(p.maxDelayMs, nominal);
  return Math.round(capped / 2 + (capped / 2) * random());
}

/** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3); returns ms or undefined. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Resolves after `ms`, or rejects at once when `signal` aborts (bridge shutting down / subscription removed). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
