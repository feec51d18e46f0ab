// Top frames of a V8 CPU profile (`node --cpu-prof`), by self time and by inclusive time, as a
// markdown table (docs/delivery.md records them before/after). Shares of the profile's sampled time,
// so they stay meaningful on a loaded machine.
//   npx tsx test/bench/profile-top.ts <file.cpuprofile> [--top 20] [--filter broker-bridge]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '20' }, filter: { type: 'string' } },
});
if (!positionals[0]) throw new Error('usage: profile-top.ts <file.cpuprofile> [--top N] [--filter text]');
const p = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: Node): string => {
  const f = n.callFrame;
  const file = f.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/(node_modules\/)/, '$1')
    .replace(/.*\/sidecast\//, '');
  const short = file.replace(/^.*\/(wt\/[^/]+|main)\//, '');
  return `${f.functionName || '(anonymous)'} ${short ? `${short}:${f.lineNumber + 1}` : ''}`.trim();
};

const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i] ?? 0;
  total += dt;
  const leaf = byId.get(id)!;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let n: Node | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
    const l = label(n);
    if (seen.has(l)) continue; // recursion counts once
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + dt);
  }
});

const idle = self.get('(idle)') ?? 0;
const busy = total - idle;
const top = Number(values.top);
const rows = (m: Map<string, number>) =>
  [...m.entries()]
    .filter(([l]) => !['(idle)', '(root)', '(program)'].includes(l))
    .filter(([l]) => !values.filter || l.includes(values.filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
console.log(
  `${positionals[0]}: ${(total / 1e6).toFixed(2)} s sampled, ${((100 * idle) / total).toFixed(1)}% idle; shares below are of the busy time`,
);
for (const [title, m] of [
  ['self', self],
  ['inclusive', incl],
] as const) {
  console.log(`\n| ${title} % of busy | frame |\n|---|---|`);
  for (const [l, t] of rows(m)) console.log(`| ${((100 * t) / busy).toFixed(1)} | \`${l}\` |`);
}
