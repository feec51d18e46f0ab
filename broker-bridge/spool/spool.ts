// The durable local spool: where accepted events wait while the broker is unreachable. A segment
// log holds them in arrival order; a cursor file records how far replay has got. Bounded: an append
// that would exceed maxBytes fails with SpoolFullError (ingest answers 503 + Retry-After).

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { BrokerMessage } from '../brokers/types.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { SegmentLog } from './segment-log.js';

export interface SpoolOptions {
  /** Most bytes of un-replayed events kept (default 256 MiB). */
  maxBytes?: number;
  segmentBytes?: number;
}

export class SpoolFullError extends Error {
  constructor(
    readonly maxBytes: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `spool is full (limit spool.maxBytes = ${maxBytes} bytes); the broker is unreachable — retry later`,
    );
    this.name = 'SpoolFullError';
  }
}

export interface SpoolBatch {
  messages: BrokerMessage[];
  /** Pass to commit() once these messages are safely in the broker. */
  next: number;
  bytes: number;
}

const RECORD_OVERHEAD = 8;

export class Spool {
  private cursor: number;
  private liveRecords = 0;
  private liveBytes = 0;
  private refusing = false;

  private constructor(
    private readonly log: SegmentLog,
    private readonly cursorFile: string,
    cursor: number,
    readonly maxBytes: number,
  ) {
    this.cursor = cursor;
  }

  static async open(dir: string, opts: SpoolOptions = {}): Promise<Spool> {
    const log = await SegmentLog.open(path.join(dir, 'segments'), {
      segmentBytes: opts.segmentBytes ?? 16 * 1024 * 1024,
    });
    const cursorFile = path.join(dir, 'cursor');
    let cursor = log.start;
    try {
      const text = (await fsp.readFile(cursorFile, 'utf8')).trim();
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new Error(
          `spool cursor file ${cursorFile} holds ${JSON.stringify(text)}, not a position; delete it to replay the whole spool`,
        );
      cursor = Math.max(n, log.start);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const spool = new Spool(log, cursorFile, cursor, opts.maxBytes ?? 256 * 1024 * 1024);
    await spool.countLive();
    return spool;
  }

  private async countLive(): Promise<void> {
    let pos = this.cursor;
    for (;;) {
      const recs = await this.log.read(pos, 4096);
      if (recs.length === 0) return;
      for (const r of recs) {
        this.liveRecords++;
        this.liveBytes += r.data.length + RECORD_OVERHEAD;
      }
      pos = recs[recs.length - 1]!.next;
    }
  }

  /** Events accepted into the spool and not yet replayed (including those still being synced). */
  get depth(): number {
    return this.liveRecords;
  }

  get bytes(): number {
    return this.liveBytes;
  }

  /** True from a refused append until replay frees space. */
  get full(): boolean {
    return this.refusing;
  }

  /** Appends in order; resolves once fsync'd. Rejects with SpoolFullError without writing anything. */
  async append(messages: BrokerMessage[], retryAfterSeconds = 5): Promise<void> {
    const records = messages.map(encodeMessage);
    const size = records.reduce((n, r) => n + r.length + RECORD_OVERHEAD, 0);
    if (this.liveBytes + size > this.maxBytes) {
      this.refusing = true;
      throw new SpoolFullError(this.maxBytes, retryAfterSeconds);
    }
    this.liveRecords += records.length;
    this.liveBytes += size;
    try {
      await this.log.append(records);
    } catch (e) {
      // Not on disk, so not in the spool: the producer gets the error instead of an ack.
      this.liveRecords -= records.length;
      this.liveBytes -= size;
      throw e;
    }
  }

  /** The oldest un-replayed events (only durable ones), at most `max`. */
  async peek(max: number): Promise<SpoolBatch> {
    const recs = await this.log.read(this.cursor, max);
    return {
      messages: recs.map((r) => decodeMessage(r.data)),
      next: recs.length ? recs[recs.length - 1]!.next : this.cursor,
      bytes: recs.reduce((n, r) => n + r.data.length + RECORD_OVERHEAD, 0),
    };
  }

  /** Marks a peeked batch as replayed: persists the cursor, frees whole segments behind it. */
  async commit(batch: SpoolBatch): Promise<void> {
    if (batch.messages.length === 0) return;
    const tmp = `${this.cursorFile}.tmp`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(String(batch.next));
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.cursorFile);
    this.cursor = batch.next;
    this.liveRecords -= batch.messages.length;
    this.liveBytes -= batch.bytes;
    this.refusing = false;
    await this.log.dropBefore(this.cursor);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
