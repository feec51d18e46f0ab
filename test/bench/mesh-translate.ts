// Mesh config → FleetResources at scale: N services (each calling 3 others, one EventRoute, one
// Subscription). Prints parse+validate and translate times, bytes, and ratios against a baseline
// measured in the same run (plain YAML parsing of the same text, no validation). Then the watcher's
// incremental path (DocumentCache + TranslationMemo): one EventRoute edit and one Subscription edit,
// load + translate + version each, against a full rebuild of the same edited text.
//   npx tsx test/bench/mesh-translate.ts [N ...]
import { parseAllDocuments } from 'yaml';
import { envoyRoot } from '../../proto/envoy.js';
import {
  DocumentCache,
  parseMesh,
  resourcesVersion,
  translate,
  TranslationMemo,
} from '../../xds-server/mesh/index.js';
import { QUICK, record } from './harness.js';

function meshText(n: number): string {
  const docs = [
    'apiVersion: sidecast.io/v1\nkind: Mesh\nmetadata: { name: bench }\nspec: { bridge: { address: 10.0.0.1, port: 8090 } }',
  ];
  for (let i = 0; i < n; i++) {
    const calls = [1, 2, 3].map((k) => `svc-${(i + k) % n}`).filter((c) => c !== `svc-${i}`);
    docs.push(
      `apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: svc-${i} }\nspec:\n  endpoints: ["10.1.${i >> 8}.${i & 255}:8080"]\n  sidecar: { inboundPort: 15006 }\n  calls: [${calls.join(', ')}]`,
    );
    docs.push(
      `apiVersion: sidecast.io/v1\nkind: EventRoute\nmetadata: { name: created-${i} }\nspec:\n  service: svc-${i}\n  match: { method: POST, path: "/things/{id}", status: [201] }\n  event: { type: acme.thing.created.v1, topic: "acme/svc-${i}/thing/{path.id}/created/v1", subject: "{response.body.id}" }`,
    );
    docs.push(
      `apiVersion: sidecast.io/v1\nkind: Subscription\nmetadata: { name: sub-${i} }\nspec:\n  service: svc-${(i + 7) % n}\n  topics: ["acme/svc-${i}/>"]\n  delivery: { path: /events, timeout: 5s }`,
    );
  }
  return docs.join('\n---\n');
}

const time = (fn: () => unknown, reps: number): number => {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
};

envoyRoot(); // load the protos once, outside the measurements
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
for (const n of sizes.length ? sizes : QUICK ? [10, 100] : [10, 100, 1000]) {
  const text = meshText(n);
  const reps = n >= 1000 ? 3 : n >= 100 ? 10 : 50;
  parseMesh([{ file: 'bench.yaml', text }]); // warm-up
  const baseline = time(() => parseAllDocuments(text).map((d) => d.toJS()), reps);
  let config = parseMesh([{ file: 'bench.yaml', text }]);
  const validate = time(() => (config = parseMesh([{ file: 'bench.yaml', text }])), reps);
  let fleet = translate(config);
  const tr = time(() => (fleet = translate(config)), reps);
  let resources = 0;
  let bytes = 0;
  for (const types of fleet.values())
    for (const names of types.values())
      for (const b of names.values()) {
        resources++;
        bytes += b.length;
      }
  const version = time(() => resourcesVersion(fleet), reps);
  const baselineOf = { name: 'YAML parse of the same text', value: baseline };
  record('mesh-translate', {
    path: `full parse+validate, ${n} services`,
    metric: 'ms',
    value: validate,
    better: 'lower',
    baseline: baselineOf,
  });
  record('mesh-translate', {
    path: `full translate+check, ${n} services`,
    metric: 'ms',
    value: tr,
    better: 'lower',
    baseline: baselineOf,
    extra: { resources, KiB: Math.round(bytes / 1024), 'version hash ms': version },
  });
  console.log(
    `N=${n} services: ${resources} resources, ${(bytes / 1024).toFixed(0)} KiB | yaml parse (baseline) ${baseline.toFixed(1)} ms | ` +
      `parse+validate ${validate.toFixed(1)} ms (${(validate / baseline).toFixed(2)}x) | translate+check ${tr.toFixed(1)} ms (${(tr / baseline).toFixed(2)}x) | ` +
      `version hash ${version.toFixed(1)} ms | ${(tr / n).toFixed(2)} ms per service`,
  );
}

/** A watcher's reload after editing document `index` of the mesh text: incremental vs full. */
function incrementalEdits(n: number): void {
  const docs = meshText(n).split('\n---\n');
  const cache = new DocumentCache();
  const memo = new TranslationMemo();
  const reload = (text: string) => {
    const fleet = translate(parseMesh([{ file: 'bench.yaml', text }], cache), memo);
    cache.sweep();
    return resourcesVersion(fleet);
  };
  const fullBuild = (text: string) => resourcesVersion(translate(parseMesh([{ file: 'bench.yaml', text }])));
  reload(docs.join('\n---\n')); // the watcher's first load fills the caches
  const edits = [
    {
      what: 'EventRoute',
      index: 2 + 3 * Math.floor(n / 2),
      from: '/created/v1',
      to: (k: number) => `/made/v${k}`,
    },
    {
      what: 'Subscription',
      index: 3 + 3 * Math.floor(n / 3),
      from: 'timeout: 5s',
      to: (k: number) => `timeout: ${k + 6}s`,
    },
  ];
  for (const e of edits) {
    const samples: number[] = [];
    let fullMs = 0;
    for (let k = 0; k < (QUICK ? 3 : 10); k++) {
      // Alternate two texts so every reload really is an edit.
      const edited = [...docs];
      edited[e.index] = docs[e.index]!.replace(e.from, e.to(k));
      const text = edited.join('\n---\n');
      const t0 = performance.now();
      const v = reload(text);
      samples.push(performance.now() - t0);
      if (k === 0) {
        const t1 = performance.now();
        if (fullBuild(text) !== v)
          throw new Error(`incremental version differs from full after a ${e.what} edit`);
        fullMs = performance.now() - t1;
      }
    }
    const median = [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
    console.log(
      `N=${n} services: one ${e.what} edit, incremental reload ${median.toFixed(1)} ms (median of ${samples.length}) | full rebuild ${fullMs.toFixed(0)} ms | ${(fullMs / median).toFixed(1)}x faster; versions equal`,
    );
    record('mesh-translate', {
      path: `one ${e.what} edit, ${n} services (load + translate + version)`,
      metric: 'ms',
      value: median,
      better: 'lower',
      baseline: { name: 'full rebuild of the same text', value: fullMs },
      ...(n >= 1000 ? { goal: { text: '≤ 50 ms', met: median <= 50 } } : {}),
    });
  }
}

for (const n of sizes.length ? sizes : QUICK ? [100] : [100, 1000]) incrementalEdits(n);
