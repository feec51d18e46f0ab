// Token bucket for new streams per second: a reconnect storm (control-plane restart, 10k proxies)
// is admitted at a steady rate instead of all at once. Waiters are served in arrival order.
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private readonly waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** True when the caller may go now; otherwise `then` runs once a token is available. */
  take(then: () => void): boolean {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.waiters.push(then);
    this.schedule();
    return false;
  }

  cancelAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiters.length = 0;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.refill();
        while (this.waiters.length && this.tokens >= 1) {
          this.tokens -= 1;
          this.waiters.shift()!();
        }
        if (this.waiters.length) this.schedule();
      },
      Math.max(1, Math.ceil(1000 / this.perSecond)),
    );
  }
}
