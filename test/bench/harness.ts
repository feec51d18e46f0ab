// The contract between a benchmark and `npm run bench` (test/bench/run.ts). A bench is any
// test/bench/*.ts that imports this module; run.ts runs each in its own process, in sequence, with
//   BENCH_QUICK=1        → a short smoke run (use `sized()` for every count/duration),
//   BENCH_RESULTS=<file> → where `record()` appends its rows (one JSON object per line).
// Run alone (`npx tsx test/bench/<name>.ts`) a bench prints as before and `record()` is silent.
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';

/** One figure of one path, with the baseline of the same metric measured in the same run. */
export interface BenchRow {
  /** What was measured, e.g. "ingest → JetStream, batch 64". Unique within its bench. */
  path: string;
  /** Unit of `value`, e.g. "ev/s", "ns/request", "ms". */
  metric: string;
  value: number;
  better: 'higher' | 'lower';
  /** Same metric, same run, what `value` is judged against (ratio = value / baseline.value). */
  baseline?: { name: string; value: number };
  /** Latency distribution of this path (drawn in latency.svg). */
  latency?: { p50Ms: number; p99Ms: number; at?: string };
  /** Further figures of the same path: CPU µs/event, host calls/request, bytes… */
  extra?: Record<string, number | string>;
  /** The goal in words ("≥ 0.8× baseline, ≥ 50k ev/s") and whether this run met it. */
  goal?: { text: string; met: boolean };
}

export const QUICK = process.env.BENCH_QUICK === '1';

/** `full` in a real run, `quick` in a smoke run. */
export const sized = (full: number, quick: number): number => (QUICK ? quick : full);

/** Records one row for run.ts (bench name = the calling file's name). */
export function record(bench: string, row: BenchRow): void {
  const file = process.env.BENCH_RESULTS;
  if (!file) return;
  appendFileSync(file, JSON.stringify({ bench: basename(bench, '.ts'), ...row }) + '\n');
}

/** Nearest-rank percentile (p in 0..100) of an unsorted sample; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
