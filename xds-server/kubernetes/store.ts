// One type's objects as list + watch deliver them. Pure: the list-watch loop feeds it, tests
// drive it directly. A relist (start, or after 410 Gone: the watch fell behind etcd compaction)
// replaces the contents, so deletions missed while not watching are noticed.
import type { KubeObject } from './objects.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

const idOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export class ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  /** Where a watch resumes; '' = list first. */
  resourceVersion = '';

  values(): KubeObject[] {
    return [...this.objects.values()];
  }

  /** Applies one watch event; true when the contents changed (bookmarks only move resourceVersion). */
  event(type: WatchEventType, obj: KubeObject): boolean {
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (type === 'BOOKMARK') return false;
    const id = idOf(obj);
    if (type === 'DELETED') return this.objects.delete(id);
    const had = this.objects.get(id);
    if (had?.metadata.resourceVersion && had.metadata.resourceVersion === obj.metadata.resourceVersion)
      return false;
    this.objects.set(id, obj);
    return true;
  }

  /** Replaces the contents with a fresh list; true when anything was added, changed or removed. */
  replace(items: KubeObject[], resourceVersion: string): boolean {
    this.resourceVersion = resourceVersion;
    const fresh = new Map(items.map((o) => [idOf(o), o]));
    let changed = fresh.size !== this.objects.size;
    for (const [id, o] of fresh) {
      const had = this.objects.get(id);
      if (!had || had.metadata.resourceVersion !== o.metadata.resourceVersion) changed = true;
    }
    this.objects.clear();
    for (const [id, o] of fresh) this.objects.set(id, o);
    return changed;
  }

  /** The watch said 410 Gone: the next round must list again. */
  expire(): void {
    this.resourceVersion = '';
  }
}

/** Exponential backoff for API errors: 0.5 s doubling to 30 s, reset after a success. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
  ) {}
  next(): number {
    return Math.min(this.maxMs, this.baseMs * 2 ** this.attempt++);
  }
  reset(): void {
    this.attempt = 0;
  }
}
