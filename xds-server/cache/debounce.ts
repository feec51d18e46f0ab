// Debounce for config sources: a burst of edits becomes one publication, run once the input has
// been quiet for `quietMs`, but never later than `maxMs` after the first edit of the burst
// (so a source that never settles still gets pushed).
export interface DebounceOptions {
  quietMs: number;
  maxMs: number;
}

export class Debouncer {
  private quietTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: DebounceOptions,
    private readonly run: () => void,
  ) {}

  trigger(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.fire(), this.options.quietMs);
    this.maxTimer ??= setTimeout(() => this.fire(), this.options.maxMs);
  }

  /** Runs a pending publication now (shutdown, tests). */
  flush(): void {
    if (this.quietTimer || this.maxTimer) this.fire();
  }

  cancel(): void {
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = undefined;
  }

  private fire(): void {
    this.cancel();
    this.run();
  }
}
