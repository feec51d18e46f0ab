// The embedded broker (the default, `embedded:///path/to/dir`): in-process and durable on disk.
// All topics share one append-only segment log; publish resolves after the group fsync. Durable
// named consumers (consumer-group.ts) read the log with sidecast wildcard matching; their floors
// live in <dir>/consumers/, so events and consumer positions survive a restart.
//
// A brand-new consumer name starts at the end of the log (new events only); an existing one resumes
// at its oldest unacknowledged event. Segments are deleted once every known consumer is past them.
// Every topic valid under the sidecast grammar is representable.

import path from 'node:path';
import {
  BrokerUnavailableError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type MessageHandler,
} from '../types.js';
import type { Registry } from 'prom-client';
import { checkPattern, EmbeddedStore, type EmbeddedStoreOptions } from './store.js';

export type EmbeddedBrokerOptions = EmbeddedStoreOptions;

export class EmbeddedBroker implements BrokerAdapter {
  readonly kind = 'embedded' as const;
  private store: EmbeddedStore | null = null;
  private readonly consumers = new Set<Consumer>();

  constructor(
    readonly dir: string,
    private readonly opts: EmbeddedBrokerOptions = {},
  ) {
    this.dir = path.resolve(dir);
  }

  /** Parses `embedded:///abs/dir` or `embedded://./rel/dir`. */
  static fromUrl(url: string, opts: EmbeddedBrokerOptions = {}): EmbeddedBroker {
    const m = /^embedded:\/\/(.+)$/.exec(url);
    if (!m)
      throw new Error(
        `broker URL ${JSON.stringify(url)} is not embedded://<directory> (e.g. embedded:///var/lib/sidecast)`,
      );
    return new EmbeddedBroker(decodeURIComponent(m[1]!), opts);
  }

  async connect(): Promise<void> {
    this.store ??= await EmbeddedStore.acquire(this.dir, this.opts);
  }

  /** Metrics of the broker's store (retention skips per consumer); undefined until connected. */
  get metrics(): Registry | undefined {
    return this.store?.registry;
  }

  checkPattern(pattern: string): void {
    checkPattern(pattern);
  }

  isConnected(): boolean {
    return this.store !== null;
  }

  private openStore(): EmbeddedStore {
    if (!this.store)
      throw new BrokerUnavailableError('embedded', `broker at ${this.dir} is closed; call connect()`);
    return this.store;
  }

  async publish(batch: BrokerMessage[]): Promise<void> {
    await this.openStore().publish(batch);
  }

  async subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer> {
    const group = await this.openStore().group(spec);
    const member = group.attach(spec, handler);
    const consumer: Consumer = {
      close: async () => {
        group.detach(member);
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    if (!this.store) return;
    this.store = null;
    for (const c of [...this.consumers]) await c.close();
    await EmbeddedStore.release(this.dir);
  }
}
