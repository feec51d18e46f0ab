// List, then watch from the list's resourceVersion with bookmarks; on a watch that ends, watch
// again from the last resourceVersion; on 410 Gone, list again; on API errors, back off. The thin
// I/O around ObjectStore, on @kubernetes/client-node (exercised by test/integration/k3s.test.ts).
import { KubernetesObjectApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeObject, WatchedType } from './objects.js';
import { Backoff, ObjectStore, type WatchEventType } from './store.js';

export interface ListWatchOptions {
  labelSelector?: string;
  /** Called after every change to the store. */
  onChange: () => void;
  log: Logger;
}

export class ListWatch {
  readonly store = new ObjectStore();
  private stopped = false;
  private abort: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff();
  private watchStartedAt = 0;
  private readonly objects: KubernetesObjectApi;
  /** Resolves after the first successful list, so startup can wait for a complete picture. */
  readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(
    private readonly kc: KubeConfig,
    private readonly type: WatchedType,
    private readonly namespace: string | undefined,
    private readonly options: ListWatchOptions,
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  private get what(): string {
    return `${this.type.plural}${this.namespace ? ` in namespace ${this.namespace}` : ''}`;
  }

  start(): void {
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.store.resourceVersion) {
        const list = await this.objects.list<KubeObject & { apiVersion: string; kind: string }>(
          this.type.apiVersion,
          this.type.kind,
          this.namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          this.options.labelSelector,
        );
        const items = list.items.map((o) => ({
          ...o,
          apiVersion: this.type.apiVersion,
          kind: this.type.kind,
        }));
        if (this.store.replace(items, list.metadata?.resourceVersion ?? '')) this.options.onChange();
        this.markSynced();
      }
      this.watchStartedAt = Date.now();
      const path = `${this.type.base}${this.namespace ? `/namespaces/${this.namespace}` : ''}/${this.type.plural}`;
      this.abort = await new Watch(this.kc).watch(
        path,
        {
          resourceVersion: this.store.resourceVersion,
          allowWatchBookmarks: true,
          labelSelector: this.options.labelSelector,
        },
        (phase: string, obj: KubeObject & { code?: number }) => {
          if (phase === 'ERROR') {
            if (obj.code === 410) this.store.expire();
            return;
          }
          if (
            this.store.event(phase as WatchEventType, {
              ...obj,
              apiVersion: this.type.apiVersion,
              kind: this.type.kind,
            })
          )
            this.options.onChange();
        },
        (err: (Error & { statusCode?: number; code?: number }) | null) => this.ended(err),
      );
      this.backoff.reset();
    } catch (e) {
      this.retryLater(e as Error & { code?: number; statusCode?: number });
    }
  }

  private ended(err: (Error & { statusCode?: number; code?: number }) | null): void {
    if (this.stopped) return;
    if (err && (err.statusCode === 410 || err.code === 410)) this.store.expire();
    else if (err && err.name !== 'AbortError') return this.retryLater(err);
    // A watch that ran its course resumes at once; one closed right away waits, so a server that
    // keeps closing watches cannot make this loop spin.
    if (Date.now() - this.watchStartedAt < 1000)
      this.timer = setTimeout(() => void this.round(), this.backoff.next());
    else void this.round();
  }

  private retryLater(err: Error & { code?: number; statusCode?: number }): void {
    if (this.stopped) return;
    if (err.statusCode === 410 || err.code === 410) this.store.expire();
    const delay = this.backoff.next();
    this.options.log.warn(
      { err: err.message, retryInMs: delay },
      `listing/watching ${this.what} failed; retrying`,
    );
    this.timer = setTimeout(() => void this.round(), delay);
  }
}
