// Compares two `npm run bench -- --out DIR` results row by row (same bench, same path):
//   node scripts/compare-bench-results.mjs BEFORE/bench-results.json AFTER/bench-results.json
// Prints after/before per row and each side's ratio to its own same-run baseline. Used for
// before/after comparisons of a dependency move (docs/dependencies.md), run on a quiet machine.
import { readFileSync } from 'node:fs';

const [before, after] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
if (!before || !after) {
  console.error('usage: node scripts/compare-bench-results.mjs BEFORE.json AFTER.json');
  process.exit(2);
}
const rows = (r) => new Map(r.benches.flatMap((b) => b.rows.map((row) => [`${b.name} | ${row.path}`, row])));
const a = rows(before);
console.log(`before ${before.sha} (${before.node}), after ${after.sha} (${after.node})`);
const n = (v) => (Math.abs(v) >= 100 ? Math.round(v) : Number(v.toPrecision(3)));
for (const [key, y] of rows(after)) {
  const x = a.get(key);
  if (!x) continue;
  const base =
    x.baseline && y.baseline
      ? `  baseline (${y.baseline.name}): ${n(x.baseline.value)} → ${n(y.baseline.value)}, after/before ${(y.baseline.value / x.baseline.value).toFixed(2)}`
      : '';
  console.log(
    `${key}: ${y.metric} ${n(x.value)} → ${n(y.value)}, after/before ${(y.value / x.value).toFixed(2)} (${y.better} is better)${base}`,
  );
}
