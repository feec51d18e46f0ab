// The durable state of one embedded consumer, kept in two slot files written in turn
// (`<name>.a.cursor`, `<name>.b.cursor`): each write overwrites the older slot in place and is
// fdatasync'd, so one sync makes it durable (no rename, no directory sync) and a write torn by a
// crash leaves the other slot intact. Each slot is `<crc32 hex> <json>` with a sequence number;
// the valid slot with the highest sequence wins on load.

import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';

export interface CursorState {
  name: string;
  /** Log position after the last record read: everything before it is acknowledged unless pending. */
  next: number;
  /** Read and not acknowledged: [position, deliveryCount of its next delivery]. */
  pending: Array<[number, number]>;
}

const SLOTS = ['a', 'b'] as const;
const SLOT_FILE = /^(.+)\.([ab])\.cursor$/;

interface Slot {
  seq: number;
  state: CursorState;
}

export class CursorFile {
  private seq: number;
  /** Writes run one after another: two at once would pick the same slot. */
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly base: string,
    latest: number,
  ) {
    this.seq = latest;
  }

  /** A cursor for a consumer that has none on disk yet (its first write creates the files). */
  static create(dir: string, name: string): CursorFile {
    return new CursorFile(path.join(dir, encodeURIComponent(name)), 0);
  }

  /** Every consumer's latest valid state in `dir`. */
  static async loadAll(dir: string): Promise<Array<{ state: CursorState; file: CursorFile }>> {
    const bases = new Set<string>();
    for (const f of await fsp.readdir(dir)) {
      const m = SLOT_FILE.exec(f);
      if (m) bases.add(m[1]!);
    }
    const out: Array<{ state: CursorState; file: CursorFile }> = [];
    for (const b of bases) {
      const base = path.join(dir, b);
      const slots = (await Promise.all(SLOTS.map((s) => readSlot(`${base}.${s}.cursor`)))).filter(
        (s): s is Slot => s !== null,
      );
      if (slots.length === 0)
        throw new Error(
          `embedded broker consumer cursor ${base}.{a,b}.cursor: neither slot is valid; delete both files to restart that consumer at the end of the log`,
        );
      const latest = slots.reduce((x, y) => (y.seq > x.seq ? y : x));
      out.push({ state: latest.state, file: new CursorFile(base, latest.seq) });
    }
    return out;
  }

  /** Writes `state` over the older slot and syncs it; durable when this resolves. */
  write(state: CursorState): Promise<void> {
    const run = this.queue.then(() => this.writeSlot(state));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeSlot(state: CursorState): Promise<void> {
    const seq = this.seq + 1;
    const json = JSON.stringify({ seq, ...state });
    const text = `${crc32(json).toString(16)} ${json}\n`;
    const file = `${this.base}.${SLOTS[seq % 2]}.cursor`;
    const fh = await fsp.open(file, 'w');
    try {
      await fh.writeFile(text);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    // The first write created the file: sync the directory so the name survives a crash too.
    if (seq === 1) await syncDir(path.dirname(file));
    this.seq = seq;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A slot's content, or null if missing or torn (bad checksum, cut short). */
async function readSlot(file: string): Promise<Slot | null> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const m = /^([0-9a-f]+) (.*)\n$/s.exec(text);
  if (!m || parseInt(m[1]!, 16) !== crc32(m[2]!)) return null;
  const v = JSON.parse(m[2]!) as Partial<CursorState> & { seq?: unknown };
  if (
    typeof v.seq !== 'number' ||
    typeof v.name !== 'string' ||
    typeof v.next !== 'number' ||
    !Array.isArray(v.pending)
  )
    throw new Error(
      `embedded broker consumer cursor ${file} lacks "seq", "name", "next" or "pending"; delete it to fall back to the other slot`,
    );
  return { seq: v.seq, state: { name: v.name, next: v.next, pending: v.pending } };
}
