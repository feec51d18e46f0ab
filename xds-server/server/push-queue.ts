// Coalescing push queue: a stream is queued at most once however many changes hit it (the latest
// state is computed when its turn comes), and at most `concurrency` streams are being written at
// a time, so a fleet-wide change cannot flood the event loop or the sockets.
export interface Pushable {
  flush(): Promise<void>;
}

export class PushQueue<T extends Pushable> {
  private readonly queued = new Set<T>();
  private readonly running = new Set<T>();
  private readonly again = new Set<T>();

  constructor(private readonly concurrency: number) {}

  get depth(): number {
    return this.queued.size;
  }

  enqueue(item: T): void {
    if (this.running.has(item)) this.again.add(item);
    else this.queued.add(item);
    this.drain();
  }

  forget(item: T): void {
    this.queued.delete(item);
    this.again.delete(item);
  }

  private drain(): void {
    while (this.running.size < this.concurrency && this.queued.size) {
      const item = this.queued.values().next().value!;
      this.queued.delete(item);
      this.running.add(item);
      // A stream's write failure ends that stream; the queue goes on either way.
      const done = () => {
        this.running.delete(item);
        if (this.again.delete(item)) this.queued.add(item);
        this.drain();
      };
      item.flush().then(done, done);
    }
  }
}
