// The on-disk state of one embedded broker directory: the shared segment log and the durable
// consumer groups. Several adapters in one process (bridge replicas, tests) may open the same
// directory; they share one store, because two writers on the same files would corrupt them.
// That per-directory table is the only module state here.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parsePattern, parseTopic, TopicError } from '../../../common/topic.js';
import { encodeMessage } from '../../spool/message-codec.js';
import { SegmentLog } from '../../spool/segment-log.js';
import {
  BrokerUnavailableError,
  UnrepresentableTopicError,
  type BrokerMessage,
  type ConsumerSpec,
} from '../types.js';
import { ConsumerGroup } from './consumer-group.js';

export interface EmbeddedStoreOptions {
  /** fdatasync each group of appends (default true). */
  sync?: boolean;
  segmentBytes?: number;
  redeliveryDelayMs?: number;
}

const CONSUMER_NAME = /^[A-Za-z0-9_.\-/]{1,200}$/;
const open = new Map<string, { store: Promise<EmbeddedStore>; refs: number }>();

function checked<T>(what: string, parse: (s: string) => T): T {
  try {
    return parse(what);
  } catch (e) {
    if (e instanceof TopicError) throw new UnrepresentableTopicError('embedded', e.topic, e.reason);
    throw e;
  }
}

export class EmbeddedStore {
  private readonly groups = new Map<string, ConsumerGroup>();
  private retention: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly log: SegmentLog,
    private readonly opts: EmbeddedStoreOptions,
  ) {}

  /** Opens (or joins) the store of `dir`; pair every acquire with a release. */
  static acquire(dir: string, opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    let entry = open.get(dir);
    if (!entry) {
      entry = { store: EmbeddedStore.load(dir, opts), refs: 0 };
      open.set(dir, entry);
      entry.store.catch(() => open.delete(dir));
    }
    entry.refs++;
    return entry.store;
  }

  static async release(dir: string): Promise<void> {
    const entry = open.get(dir);
    if (!entry || --entry.refs > 0) return;
    open.delete(dir);
    await (await entry.store).close();
  }

  private static async load(dir: string, opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    const log = await SegmentLog.open(path.join(dir, 'log'), {
      sync: opts.sync ?? true,
      segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
    });
    const store = new EmbeddedStore(dir, log, opts);
    const consumers = path.join(dir, 'consumers');
    await fsp.mkdir(consumers, { recursive: true });
    for (const file of await fsp.readdir(consumers)) {
      if (!file.endsWith('.json')) continue;
      const full = path.join(consumers, file);
      let state: { name?: unknown; floor?: unknown };
      try {
        state = JSON.parse(await fsp.readFile(full, 'utf8')) as typeof state;
      } catch (e) {
        throw new Error(
          `embedded broker consumer cursor ${full} is unreadable (${(e as Error).message}); delete it to restart that consumer at the end of the log`,
        );
      }
      if (typeof state.name !== 'string' || typeof state.floor !== 'number') {
        throw new Error(
          `embedded broker consumer cursor ${full} lacks "name" or "floor"; delete it to restart that consumer at the end of the log`,
        );
      }
      store.groups.set(state.name, store.newGroup(state.name, state.floor));
    }
    return store;
  }

  private newGroup(name: string, floor: number): ConsumerGroup {
    const cursorFile = path.join(this.dir, 'consumers', `${encodeURIComponent(name)}.json`);
    return new ConsumerGroup(name, this.log, cursorFile, floor, {
      redeliveryDelayMs: this.opts.redeliveryDelayMs ?? 200,
      onPersisted: () => this.trim(),
    });
  }

  /** Validates every topic first, so a batch with one bad topic publishes nothing. */
  async publish(batch: BrokerMessage[]): Promise<void> {
    for (const m of batch) checked(m.topic, parseTopic);
    if (batch.length === 0) return;
    try {
      await this.log.append(batch.map(encodeMessage));
    } catch (e) {
      throw new BrokerUnavailableError('embedded', `append to ${this.dir} failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    for (const g of this.groups.values()) if (g.active) g.pump();
  }

  /** The durable group named by `spec` (created at the end of the log if new), with patterns checked. */
  async group(spec: ConsumerSpec): Promise<ConsumerGroup> {
    if (!CONSUMER_NAME.test(spec.name)) {
      throw new Error(
        `consumer name ${JSON.stringify(spec.name)} must be 1-200 characters of A-Z a-z 0-9 _ . - /`,
      );
    }
    if (spec.patterns.length === 0) throw new Error(`consumer "${spec.name}" has no topic patterns`);
    for (const p of spec.patterns) checked(p, parsePattern);
    let group = this.groups.get(spec.name);
    if (!group) {
      group = this.newGroup(spec.name, this.log.end);
      this.groups.set(spec.name, group);
      await group.persist(true);
    }
    return group;
  }

  /** Drops log segments that every durable consumer has passed. */
  private trim(): void {
    let min = this.log.end;
    for (const g of this.groups.values()) min = Math.min(min, g.floor);
    this.retention = this.retention.then(() => this.log.dropBefore(min)).catch(() => undefined);
  }

  private async close(): Promise<void> {
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    await this.retention;
    await this.log.close();
  }
}
