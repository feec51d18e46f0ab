// The consumers an adapter has handed out: each handle's close() forgets it, and the adapter's
// close() closes whatever is still open. Adapters that must re-attach after a reconnect iterate it.
import type { Consumer } from '../types.js';

export class LiveConsumers<T extends { close(): Promise<void> }> implements Iterable<T> {
  private readonly live = new Set<T>();

  /** Starts tracking `c`; the returned handle closes it and stops tracking. */
  track(c: T): Consumer {
    this.live.add(c);
    return {
      close: async () => {
        this.live.delete(c);
        await c.close();
      },
    };
  }

  async closeAll(): Promise<void> {
    const all = [...this.live];
    this.live.clear();
    await Promise.allSettled(all.map((c) => c.close()));
  }

  [Symbol.iterator](): Iterator<T> {
    return this.live.values();
  }
}
