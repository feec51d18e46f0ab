// Retention of the embedded broker's log beyond what consumers need: once the log holds more than
// `maxBytes`, or a segment is older than `maxAgeMs` (its last write), the oldest segments are
// deleted even if a consumer that stopped coming back has not read them. Who lost what is logged
// and counted per consumer (sidecast_embedded_retention_skipped_bytes_total{consumer}).

import { promises as fsp } from 'node:fs';
import { Counter, type Registry } from 'prom-client';

export interface RetentionOptions {
  /** Most bytes of log kept; older segments go even if a consumer still needs them. */
  maxBytes?: number;
  /** Segments whose last write is older than this go even if a consumer still needs them. */
  maxAgeMs?: number;
}

export interface Segment {
  start: number;
  file: string;
  bytes: number;
}

/** Checks options from config (`broker.options.embedded.retention`), naming the bad field. */
export function checkRetention(r: RetentionOptions | undefined): void {
  for (const field of ['maxBytes', 'maxAgeMs'] as const) {
    const v = r?.[field];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v > 0))
      throw new Error(
        `broker.options.embedded.retention.${field} must be a positive number (got ${JSON.stringify(v)})`,
      );
  }
}

export class Retention {
  /** mtimes of closed segments (they no longer change), so each is stat'ed once. */
  private readonly mtimes = new Map<string, number>();
  private readonly skipped: Counter<'consumer'>;

  constructor(
    private readonly opts: RetentionOptions,
    registry: Registry,
  ) {
    this.skipped = new Counter({
      name: 'sidecast_embedded_retention_skipped_bytes_total',
      help: 'Log bytes a consumer had not acknowledged when retention (maxBytes/maxAgeMs) deleted them',
      labelNames: ['consumer'],
      registers: [registry],
    });
  }

  /**
   * Position before which retention wants the log gone (`segments[0].start` if nothing). The last
   * segment, being written, is never included.
   */
  async cut(segments: Segment[], now: number): Promise<number> {
    const { maxBytes, maxAgeMs } = this.opts;
    let total = segments.reduce((n, s) => n + s.bytes, 0);
    for (let i = 0; i < segments.length - 1; i++) {
      const s = segments[i]!;
      const tooBig = maxBytes !== undefined && total > maxBytes;
      const tooOld = maxAgeMs !== undefined && now - (await this.mtime(s.file)) > maxAgeMs;
      if (!tooBig && !tooOld) return s.start;
      total -= s.bytes;
    }
    return segments[segments.length - 1]!.start;
  }

  private async mtime(file: string): Promise<number> {
    let t = this.mtimes.get(file);
    if (t === undefined) {
      t = (await fsp.stat(file)).mtimeMs;
      this.mtimes.set(file, t);
    }
    return t;
  }

  /** Bytes at or after `floor` inside the segments before `cut`: what a consumer at `floor` loses. */
  static lostBytes(segments: Segment[], floor: number, cut: number): number {
    let lost = 0;
    for (const s of segments) {
      if (s.start >= cut) break;
      lost += Math.max(0, s.start + s.bytes - Math.max(floor, s.start));
    }
    return lost;
  }

  record(consumer: string, bytes: number): void {
    this.skipped.inc({ consumer }, bytes);
  }

  forget(files: string[]): void {
    for (const f of files) this.mtimes.delete(f);
  }
}
