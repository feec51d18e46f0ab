// An append-only log of opaque records in numbered segment files, shared by the spool and the
// embedded broker. Appends are group-committed: every append made while a write is in flight joins
// the next write, and one fdatasync covers them all, so durability costs one sync per group.
//
// Record framing: [u32 LE payload length][u32 LE crc32(payload)][payload]. A torn or corrupt tail
// (crash mid-write) is cut off on open; everything before it is intact.
//
// A position is one number: segment * 2^32 + byte offset inside the segment. Positions grow with
// every record, so they double as ordered sequence numbers.

import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER_BYTES = 8;
const SEGMENT_FACTOR = 2 ** 32;
const SEGMENT_NAME = /^(\d{10})\.seg$/;

export interface SegmentLogOptions {
  /** Start a new segment file once the current one reaches this size. */
  segmentBytes?: number;
  /** fdatasync after each group write (default true); false is for throw-away data only. */
  sync?: boolean;
}

export interface LogRecord {
  position: number;
  /** Position just after this record: where the next read starts. */
  next: number;
  data: Buffer;
}

export class LogCorruptError extends Error {
  constructor(file: string, offset: number, reason: string) {
    super(`segment log ${file} is corrupt at byte ${offset}: ${reason}; move the file away to start afresh`);
    this.name = 'LogCorruptError';
  }
}

export const positionOf = (segment: number, offset: number): number => segment * SEGMENT_FACTOR + offset;
const segmentOf = (position: number): number => Math.floor(position / SEGMENT_FACTOR);
const offsetOf = (position: number): number => position % SEGMENT_FACTOR;

interface PendingWrite {
  buffers: Buffer[];
  bytes: number;
  waiters: Array<{ resolve: (end: number) => void; reject: (e: unknown) => void }>;
}

export class SegmentLog {
  private segments: number[] = []; // segment numbers on disk, ascending
  private sizes = new Map<number, number>();
  private fd: fsp.FileHandle | null = null;
  private pending: PendingWrite | null = null;
  private writing: Promise<void> | null = null;
  // Promises, so concurrent reads of one segment share a single open handle.
  private readHandles = new Map<number, Promise<fsp.FileHandle>>();
  private closed = false;
  private readonly segmentBytes: number;
  private readonly sync: boolean;
  /** End of the durable (written and synced) part of the log. */
  private durableEnd = 0;

  private constructor(
    readonly dir: string,
    opts: SegmentLogOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.sync = opts.sync ?? true;
  }

  static async open(dir: string, opts: SegmentLogOptions = {}): Promise<SegmentLog> {
    const log = new SegmentLog(dir, opts);
    await log.recover();
    return log;
  }

  private file(segment: number): string {
    return path.join(this.dir, `${String(segment).padStart(10, '0')}.seg`);
  }

  private async recover(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const names = await fsp.readdir(this.dir);
    this.segments = names
      .map((n) => SEGMENT_NAME.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const s of this.segments) this.sizes.set(s, (await fsp.stat(this.file(s))).size);
    if (this.segments.length === 0) this.segments.push(0);
    const last = this.segments[this.segments.length - 1]!;
    const valid = await this.validLength(last);
    this.fd = await fsp.open(this.file(last), 'a+');
    const size = (await this.fd.stat()).size;
    // Cut a torn tail so the next append starts at a record boundary.
    if (valid < size) await this.fd.truncate(valid);
    this.sizes.set(last, valid);
    this.durableEnd = positionOf(last, valid);
  }

  /** Length of the longest prefix of `segment` made of whole, checksum-valid records. */
  private async validLength(segment: number): Promise<number> {
    let stat: Stats;
    try {
      stat = await fsp.stat(this.file(segment));
    } catch {
      return 0;
    }
    const buf = await fsp.readFile(this.file(segment));
    let off = 0;
    while (off + HEADER_BYTES <= stat.size) {
      const len = buf.readUInt32LE(off);
      const sum = buf.readUInt32LE(off + 4);
      if (off + HEADER_BYTES + len > buf.length) break;
      if (crc32(buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len)) !== sum) break;
      off += HEADER_BYTES + len;
    }
    return off;
  }

  /** Position of the first retained record. */
  get start(): number {
    return positionOf(this.segments[0]!, 0);
  }

  /** Position after the last durable record. */
  get end(): number {
    return this.durableEnd;
  }

  /** The segments on disk, oldest first (the last one is being written): where each starts, its file and size. */
  segmentList(): Array<{ start: number; file: string; bytes: number }> {
    return this.segments.map((s) => ({
      start: positionOf(s, 0),
      file: this.file(s),
      bytes: this.sizes.get(s) ?? 0,
    }));
  }

  /** Bytes on disk plus bytes accepted and not yet written. */
  get bytes(): number {
    let total = this.pending?.bytes ?? 0;
    for (const s of this.segments) total += this.sizes.get(s) ?? 0;
    return total;
  }

  /**
   * Appends records; resolves with the position after the last of them once they are on disk
   * (and synced, unless sync is off). Records of one call are contiguous and in order.
   */
  append(records: Uint8Array[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error(`segment log ${this.dir} is closed`));
    const p = (this.pending ??= { buffers: [], bytes: 0, waiters: [] });
    for (const r of records) {
      const header = Buffer.allocUnsafe(HEADER_BYTES);
      header.writeUInt32LE(r.byteLength, 0);
      header.writeUInt32LE(crc32(r), 4);
      p.buffers.push(header, Buffer.from(r.buffer, r.byteOffset, r.byteLength));
      p.bytes += HEADER_BYTES + r.byteLength;
    }
    const done = new Promise<number>((resolve, reject) => p.waiters.push({ resolve, reject }));
    if (!this.writing) this.writing = this.writeLoop();
    return done;
  }

  private async writeLoop(): Promise<void> {
    // Let appends of the same tick join this group.
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending) {
      const group = this.pending;
      this.pending = null;
      try {
        await this.rollIfFull();
        const seg = this.segments[this.segments.length - 1]!;
        await this.fd!.writev(group.buffers);
        if (this.sync) await this.fd!.datasync();
        const size = (this.sizes.get(seg) ?? 0) + group.bytes;
        this.sizes.set(seg, size);
        this.durableEnd = positionOf(seg, size);
        for (const w of group.waiters) w.resolve(this.durableEnd);
      } catch (e) {
        // Cut what part of the group may have reached the file, or later groups would land behind
        // a torn record and be cut off at the next open.
        const seg = this.segments[this.segments.length - 1]!;
        await this.fd?.truncate(this.sizes.get(seg) ?? 0).catch(() => undefined);
        for (const w of group.waiters) w.reject(e);
      }
    }
    this.writing = null;
  }

  private async rollIfFull(): Promise<void> {
    const seg = this.segments[this.segments.length - 1]!;
    if ((this.sizes.get(seg) ?? 0) < this.segmentBytes) return;
    const next = seg + 1;
    await this.fd!.close();
    this.fd = await fsp.open(this.file(next), 'a+');
    this.segments.push(next);
    this.sizes.set(next, 0);
    this.durableEnd = positionOf(next, 0);
  }

  /**
   * Reads up to `maxRecords` durable records starting at `from` (a record boundary returned by an
   * earlier read or append, or `start`). Crosses segment boundaries.
   */
  async read(from: number, maxRecords: number, maxBytes = 4 * 1024 * 1024): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    let pos = Math.max(from, this.start);
    let budget = maxBytes;
    while (out.length < maxRecords && pos < this.durableEnd && budget > 0) {
      const seg = segmentOf(pos);
      const size =
        seg === segmentOf(this.durableEnd) ? offsetOf(this.durableEnd) : (this.sizes.get(seg) ?? 0);
      let off = offsetOf(pos);
      if (off >= size) {
        const nextSeg = this.segments.find((s) => s > seg);
        if (nextSeg === undefined) break;
        pos = positionOf(nextSeg, 0);
        continue;
      }
      const fh = await this.reader(seg);
      const chunk = Buffer.allocUnsafe(Math.min(size - off, Math.max(budget, 64 * 1024)));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, off);
      let at = 0;
      while (out.length < maxRecords && at + HEADER_BYTES <= bytesRead) {
        const len = chunk.readUInt32LE(at);
        if (at + HEADER_BYTES + len > bytesRead) {
          if (at > 0) break; // the rest of this record comes with the next chunk
          if (off + HEADER_BYTES + len > size) {
            throw new LogCorruptError(
              this.file(seg),
              off,
              `record of ${len} bytes runs past the segment end`,
            );
          }
          const whole = Buffer.allocUnsafe(HEADER_BYTES + len); // one record bigger than the chunk
          await fh.read(whole, 0, whole.length, off);
          out.push(this.check(seg, off, whole));
          at = whole.length;
          budget -= whole.length;
          break;
        }
        const data = chunk.subarray(at + HEADER_BYTES, at + HEADER_BYTES + len);
        if (crc32(data) !== chunk.readUInt32LE(at + 4))
          throw new LogCorruptError(this.file(seg), off + at, 'checksum mismatch');
        const position = positionOf(seg, off + at);
        at += HEADER_BYTES + len;
        out.push({ position, next: positionOf(seg, off + at), data });
        budget -= HEADER_BYTES + len;
      }
      off += at;
      pos = positionOf(seg, off);
    }
    return out;
  }

  private check(seg: number, off: number, record: Buffer): LogRecord {
    const data = record.subarray(HEADER_BYTES);
    if (crc32(data) !== record.readUInt32LE(4))
      throw new LogCorruptError(this.file(seg), off, 'checksum mismatch');
    return { position: positionOf(seg, off), next: positionOf(seg, off + record.length), data };
  }

  private async reader(segment: number): Promise<fsp.FileHandle> {
    let fh = this.readHandles.get(segment);
    if (!fh) {
      fh = fsp.open(this.file(segment), 'r');
      this.readHandles.set(segment, fh);
      fh.catch(() => this.readHandles.delete(segment));
    }
    return fh;
  }

  /** Deletes whole segments that lie entirely before `position` (never the one being written). */
  async dropBefore(position: number): Promise<void> {
    const keepFrom = segmentOf(position);
    while (this.segments.length > 1 && this.segments[0]! < keepFrom) {
      const seg = this.segments.shift()!;
      this.sizes.delete(seg);
      await (await this.readHandles.get(seg)?.catch(() => undefined))?.close();
      this.readHandles.delete(seg);
      await fsp.rm(this.file(seg), { force: true });
    }
  }

  /** Waits for pending appends, then closes all files. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.writing) await this.writing;
    this.closed = true;
    for (const fh of this.readHandles.values()) await (await fh.catch(() => undefined))?.close();
    this.readHandles.clear();
    await this.fd?.close();
    this.fd = null;
  }
}
