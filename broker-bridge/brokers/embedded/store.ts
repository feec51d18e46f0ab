// The on-disk state of one embedded broker directory: the shared segment log and the durable
// consumer groups. Several adapters in one process (bridge replicas, tests) may open the same
// directory; they share one store, because two writers on the same files would corrupt them.
// That per-directory table (and the closes still running, which a new open waits for, so it reads
// what the closing store wrote last) is the only module state here.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
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
import { CursorFile } from './cursor-file.js';
import { checkRetention, Retention, type RetentionOptions } from './retention.js';

export interface EmbeddedLogger {
  warn(obj: object, msg?: string): void;
}

export interface EmbeddedStoreOptions {
  /** fdatasync each group of appends (default true). */
  sync?: boolean;
  segmentBytes?: number;
  redeliveryDelayMs?: number;
  /** Limits that delete old segments even when a consumer has not read them (default: none). */
  retention?: RetentionOptions;
  /** Where retention warnings go (default: a pino logger). */
  logger?: EmbeddedLogger;
  /** Where the retention counter is registered (default: the broker's own, see EmbeddedBroker.metrics). */
  registry?: Registry;
}

const CONSUMER_NAME = /^[A-Za-z0-9_.\-/]{1,200}$/;
const open = new Map<string, { store: Promise<EmbeddedStore>; refs: number }>();
const closing = new Map<string, Promise<void>>();

/** Throws UnrepresentableTopicError when `pattern` breaks the sidecast pattern grammar. */
export function checkPattern(pattern: string): void {
  checked(pattern, parsePattern);
}

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
  private trimming: Promise<void> = Promise.resolve();
  private readonly retention: Retention;
  private readonly logger: EmbeddedLogger;
  readonly registry: Registry;
  private ageTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly dir: string,
    readonly log: SegmentLog,
    private readonly opts: EmbeddedStoreOptions,
  ) {
    this.registry = opts.registry ?? new Registry();
    this.retention = new Retention(opts.retention ?? {}, this.registry);
    this.logger =
      opts.logger ?? pino({ name: 'sidecast-embedded-broker', level: process.env.LOG_LEVEL ?? 'info' });
    const maxAge = opts.retention?.maxAgeMs;
    // Age limits must bite even when nothing is published or acknowledged.
    if (maxAge !== undefined) {
      this.ageTimer = setInterval(() => this.trim(), Math.min(maxAge, 60_000));
      this.ageTimer.unref();
    }
  }

  /** Opens (or joins) the store of `dir`; pair every acquire with a release. */
  static acquire(dir: string, opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    let entry = open.get(dir);
    if (!entry) {
      const previous = closing.get(dir) ?? Promise.resolve();
      entry = { store: previous.then(() => EmbeddedStore.load(dir, opts)), refs: 0 };
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
    const done = entry.store.then((s) => s.close());
    const settled = done.catch(() => undefined);
    closing.set(dir, settled);
    void settled.then(() => {
      if (closing.get(dir) === settled) closing.delete(dir);
    });
    await done;
  }

  private static async load(dir: string, opts: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    checkRetention(opts.retention);
    const log = await SegmentLog.open(path.join(dir, 'log'), {
      sync: opts.sync ?? true,
      segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
    });
    const store = new EmbeddedStore(dir, log, opts);
    const consumers = path.join(dir, 'consumers');
    await fsp.mkdir(consumers, { recursive: true });
    for (const { state, file } of await CursorFile.loadAll(consumers)) {
      const { group, lost } = await ConsumerGroup.restore(state, log, file, store.groupOptions());
      if (lost > 0)
        store.logger.warn(
          { consumer: state.name, events: lost },
          'embedded broker: unacknowledged events of this consumer were deleted by retention',
        );
      store.groups.set(state.name, group);
    }
    return store;
  }

  private groupOptions() {
    return { redeliveryDelayMs: this.opts.redeliveryDelayMs ?? 200, onPersisted: () => this.trim() };
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
    if (this.opts.retention?.maxBytes !== undefined) this.trim();
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
      const cursor = CursorFile.create(path.join(this.dir, 'consumers'), spec.name);
      group = ConsumerGroup.fresh(spec.name, this.log, cursor, this.log.end, this.groupOptions());
      this.groups.set(spec.name, group);
      await group.flush();
    }
    return group;
  }

  /** Drops log segments every durable consumer has passed, and those retention limits give up. */
  private trim(): void {
    this.trimming = this.trimming
      .then(() => this.trimNow())
      .catch((e: Error) =>
        this.logger.warn({ dir: this.dir, error: e.message }, 'embedded broker: log trim failed'),
      );
  }

  private async trimNow(): Promise<void> {
    let keep = this.log.end;
    for (const g of this.groups.values()) keep = Math.min(keep, g.persistedFloor);
    const segments = this.log.segmentList();
    const cut = await this.retention.cut(segments, Date.now());
    if (cut > keep) {
      for (const g of this.groups.values()) {
        const lost = Retention.lostBytes(segments, g.persistedFloor, cut);
        if (lost === 0 || !g.skipTo(cut)) continue;
        this.retention.record(g.name, lost);
        this.logger.warn(
          { consumer: g.name, bytes: lost, retention: this.opts.retention },
          'embedded broker: retention deleted log this consumer had not acknowledged; it resumes after the gap',
        );
      }
      keep = cut;
    }
    await this.log.dropBefore(keep);
    this.retention.forget(segments.filter((s) => s.start < keep).map((s) => s.file));
  }

  private async close(): Promise<void> {
    clearInterval(this.ageTimer);
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    await this.trimming;
    await this.log.close();
  }
}
