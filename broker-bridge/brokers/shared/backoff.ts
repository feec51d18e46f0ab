// Reconnect backoff shared by the adapters: exponential with jitter, so a fleet of bridges that
// lost the same broker does not reconnect in lockstep.

export interface BackoffOptions {
  /** First delay (ms). */
  initialMs: number;
  /** Cap (ms). */
  maxMs: number;
}

export const DEFAULT_RECONNECT: BackoffOptions = { initialMs: 250, maxMs: 10_000 };

/** Delay before reconnect attempt `attempt` (0-based): between half and all of min(max, initial * 2^attempt). */
export function backoffDelay(attempt: number, o: BackoffOptions): number {
  const ceiling = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Describes an unknown thrown value in one line for error messages. */
export function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
