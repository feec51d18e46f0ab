// latency.svg for run.ts: one row per path that recorded a latency, p50 and p99 as bars on a
// log10 axis (delivery is ms, xDS fan-out is hundreds of ms: a linear axis hides one or the other).
import type { BenchRow } from './harness.js';

interface Runs {
  name: string;
  rows: BenchRow[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function latencySvg(runs: Runs[], meta: { sha: string; quick: boolean }): string {
  const rows = runs.flatMap((r) =>
    r.rows.filter((x) => x.latency).map((x) => ({ label: `${r.name}: ${x.path}`, ...x.latency! })),
  );
  const labelW = 430;
  const plotW = 420;
  const rowH = 22;
  const top = 46;
  const height = top + Math.max(1, rows.length) * rowH + 40;
  const width = labelW + plotW + 100;
  const finite = rows.flatMap((r) => [r.p50Ms, r.p99Ms]).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.floor(Math.log10(Math.min(0.1, ...finite)));
  const hi = Math.ceil(Math.log10(Math.max(10, ...finite)));
  const x = (ms: number) => labelW + ((Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo)) * plotW;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">Latency per path, p50 (light) and p99 (dark), ms, log scale</text>`,
    `<text x="10" y="34" fill="#555">npm run bench at ${esc(meta.sha)}${meta.quick ? ' — QUICK MODE: smoke run, not figures' : ''}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    const gx = x(10 ** e).toFixed(1);
    out.push(
      `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${height - 30}" stroke="#ddd"/>`,
      `<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#555">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`,
    );
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>`);
    if (Number.isFinite(r.p99Ms))
      out.push(
        `<rect x="${labelW}" y="${y + 3}" width="${(x(r.p99Ms) - labelW).toFixed(1)}" height="14" fill="#1f5f99"/>`,
      );
    if (Number.isFinite(r.p50Ms))
      out.push(
        `<rect x="${labelW}" y="${y + 3}" width="${(x(r.p50Ms) - labelW).toFixed(1)}" height="14" fill="#8fb8de"/>`,
      );
    out.push(
      `<text x="${Math.min(width - 4, x(r.p99Ms) + 4).toFixed(1)}" y="${y + 14}" fill="#333" font-size="10">${r.p50Ms.toFixed(2)} / ${r.p99Ms.toFixed(2)}</text>`,
    );
  });
  if (!rows.length) out.push(`<text x="10" y="${top + 14}">no bench recorded a latency</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
