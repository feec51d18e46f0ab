// The embedded broker (the default, `embedded:///path/to/dir`): in-process and durable on disk.
// All topics share one append-only segment log; publish resolves after the group fsync. Durable
// named consumers (consumer-group.ts) read the log with sidecast wildcard matching; their floors
// live in <dir>/consumers/, so events and consumer positions survive a restart.
//
// A brand-new consumer name starts at the end of the log (new events only); an existing one resumes
// at its oldest unacknowledged event. Segments are deleted once every known consumer is past them.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { parseTopic, TopicError } from '../../../common/topic.js';
import { encodeMessage } from '../../spool/message-codec.js';
import { SegmentLog } from '../../spool/segment-log.js';
import {
  BrokerUnavailableError,
  UnrepresentableTopicError,
  type BrokerAdapter,
  type BrokerMessage,
  type Consumer,
  type ConsumerSpec,
  type MessageHandler,
} from '../types.js';
import { ConsumerGroup } from './consumer-group.js';

export interface EmbeddedBrokerOptions {
  /** fdatasync each group of appends (default true). */
  sync?: boolean;
  segmentBytes?: number;
  redeliveryDelayMs?: number;
}

const CONSUMER_NAME = /^[A-Za-z0-9_.\-/]{1,200}$/;

export class EmbeddedBroker implements BrokerAdapter {
  readonly kind = 'embedded' as const;
  private log: SegmentLog | null = null;
  private groups = new Map<string, ConsumerGroup>();
  private retention: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    private readonly opts: EmbeddedBrokerOptions = {},
  ) {}

  /** Parses `embedded:///abs/dir` or `embedded://./rel/dir`. */
  static fromUrl(url: string, opts: EmbeddedBrokerOptions = {}): EmbeddedBroker {
    const m = /^embedded:\/\/(.+)$/.exec(url);
    if (!m) throw new Error(`broker URL ${JSON.stringify(url)} is not embedded://<directory> (e.g. embedded:///var/lib/sidecast)`);
    return new EmbeddedBroker(path.resolve(decodeURIComponent(m[1]!)), opts);
  }

  private consumersDir(): string {
    return path.join(this.dir, 'consumers');
  }

  private cursorFile(name: string): string {
    return path.join(this.consumersDir(), `${encodeURIComponent(name)}.json`);
  }

  async connect(): Promise<void> {
    if (this.log) return;
    const log = await SegmentLog.open(path.join(this.dir, 'log'), {
      sync: this.opts.sync ?? true,
      segmentBytes: this.opts.segmentBytes ?? 64 * 1024 * 1024,
    });
    await fsp.mkdir(this.consumersDir(), { recursive: true });
    for (const file of await fsp.readdir(this.consumersDir())) {
      if (!file.endsWith('.json')) continue;
      const full = path.join(this.consumersDir(), file);
      let state: { name?: unknown; floor?: unknown };
      try {
        state = JSON.parse(await fsp.readFile(full, 'utf8')) as typeof state;
      } catch (e) {
        throw new Error(`embedded broker consumer cursor ${full} is unreadable (${(e as Error).message}); delete it to restart that consumer at the end of the log`);
      }
      if (typeof state.name !== 'string' || typeof state.floor !== 'number') {
        throw new Error(`embedded broker consumer cursor ${full} lacks "name" or "floor"; delete it to restart that consumer at the end of the log`);
      }
      this.groups.set(state.name, this.newGroup(log, state.name, state.floor));
    }
    this.log = log;
  }

  private newGroup(log: SegmentLog, name: string, floor: number): ConsumerGroup {
    return new ConsumerGroup(name, log, this.cursorFile(name), floor, {
      redeliveryDelayMs: this.opts.redeliveryDelayMs ?? 200,
      onPersisted: () => this.trim(log),
    });
  }

  isConnected(): boolean {
    return this.log !== null;
  }

  private openLog(): SegmentLog {
    if (!this.log) throw new BrokerUnavailableError('embedded', `broker at ${this.dir} is closed; call connect()`);
    return this.log;
  }

  async publish(batch: BrokerMessage[]): Promise<void> {
    const log = this.openLog();
    for (const m of batch) {
      try {
        parseTopic(m.topic);
      } catch (e) {
        if (e instanceof TopicError) throw new UnrepresentableTopicError('embedded', m.topic, e.reason);
        throw e;
      }
    }
    if (batch.length === 0) return;
    try {
      await log.append(batch.map(encodeMessage));
    } catch (e) {
      throw new BrokerUnavailableError('embedded', `append to ${this.dir} failed: ${(e as Error).message}`, { cause: e });
    }
    for (const g of this.groups.values()) if (g.active) g.pump();
  }

  async subscribe(spec: ConsumerSpec, handler: MessageHandler): Promise<Consumer> {
    const log = this.openLog();
    if (!CONSUMER_NAME.test(spec.name)) {
      throw new Error(`consumer name ${JSON.stringify(spec.name)} must be 1-200 characters of A-Z a-z 0-9 _ . - /`);
    }
    let group = this.groups.get(spec.name);
    if (!group) {
      group = this.newGroup(log, spec.name, log.end);
      this.groups.set(spec.name, group);
      await group.persist(true);
    }
    const member = group.attach(spec, handler);
    const g = group;
    return {
      close: async () => {
        g.detach(member);
      },
    };
  }

  /** Drops log segments that every durable consumer has passed. */
  private trim(log: SegmentLog): void {
    let min = log.end;
    for (const g of this.groups.values()) min = Math.min(min, g.floor);
    this.retention = this.retention.then(() => log.dropBefore(min)).catch(() => undefined);
  }

  async close(): Promise<void> {
    const log = this.log;
    if (!log) return;
    this.log = null;
    await Promise.all([...this.groups.values()].map((g) => g.close()));
    this.groups.clear();
    await this.retention;
    await log.close();
  }
}
