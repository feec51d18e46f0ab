// Incremental translation (a DocumentCache + a TranslationMemo kept across reloads, as the watcher
// does) must give exactly what a full rebuild gives — same bytes, same version, same errors — over a
// sequence of edits, while re-translating only the groups an edit touches.
import { describe, expect, test } from '@jest/globals';
import {
  BRIDGE_GROUP,
  DocumentCache,
  MeshConfigError,
  parseMesh,
  proxylessGroup,
  resourcesVersion,
  translate,
  TranslationMemo,
  type FleetResources,
} from '../../xds-server/mesh/index.js';
import { readDocuments } from '../../xds-server/mesh/documents.js';

const N = 12;
const mesh =
  'apiVersion: sidecast.io/v1\nkind: Mesh\nmetadata: { name: m }\nspec: { bridge: { address: 10.0.0.1, port: 8090 } }';
const service = (i: number, port = 8080) =>
  `apiVersion: sidecast.io/v1\nkind: Service\nmetadata: { name: svc-${i} }\nspec:\n  endpoints: ["10.1.0.${i}:${port}"]\n  sidecar: { inboundPort: 15006 }\n  calls: [svc-${(i + 1) % N}, svc-${(i + 2) % N}]`;
const route = (i: number, topic = `acme/svc-${i}/thing/{path.id}/created/v1`) =>
  `apiVersion: sidecast.io/v1\nkind: EventRoute\nmetadata: { name: created-${i} }\nspec:\n  service: svc-${i}\n  match: { method: POST, path: "/things/{id}", status: [201] }\n  event: { type: acme.thing.created.v1, topic: "${topic}" }`;
const subscription = (i: number, extra = '') =>
  `apiVersion: sidecast.io/v1\nkind: Subscription\nmetadata: { name: sub-${i} }\nspec:\n  service: svc-${(i + 5) % N}\n  topics: ["acme/svc-${i}/>"]\n  delivery: { path: /events, timeout: 5s${extra} }`;

type Docs = string[];
const initial = (): Docs => [
  mesh,
  ...Array.from({ length: N }, (_, i) => [service(i), route(i), subscription(i)]).flat(),
];
const text = (docs: Docs, lead = '') => lead + docs.join('\n---\n') + '\n';

const flat = (fleet: FleetResources) =>
  [...fleet].flatMap(([g, types]) =>
    [...types].flatMap(([t, names]) =>
      [...names].map(([n, b]) => `${g} ${t} ${n} ${Buffer.from(b).toString('hex')}`),
    ),
  );

function full(sources: { file: string; text: string }[]): FleetResources | string {
  try {
    return translate(parseMesh(sources));
  } catch (e) {
    return e instanceof MeshConfigError ? e.message : String(e);
  }
}

describe('incremental translation equals a full rebuild', () => {
  test('over a sequence of edits in one file: same bytes, versions and errors', () => {
    const cache = new DocumentCache();
    const memo = new TranslationMemo();
    const incremental = (sources: { file: string; text: string }[]) => {
      try {
        const out = translate(parseMesh(sources, cache), memo);
        cache.sweep();
        return out;
      } catch (e) {
        return e instanceof MeshConfigError ? e.message : String(e);
      }
    };
    let docs = initial();
    const steps: Array<[string, () => string]> = [
      ['initial', () => text(docs)],
      [
        'edit one EventRoute topic',
        () => text((docs = docs.map((d, i) => (i === 5 ? route(1, 'acme/x/{path.id}') : d)))),
      ],
      [
        'add an EventRoute',
        () => text((docs = [...docs, route(3, 'acme/extra/v1').replace('created-3', 'extra-3')])),
      ],
      [
        'change a Subscription',
        () => text((docs = docs.map((d, i) => (i === 9 ? subscription(2, ', concurrency: 4') : d)))),
      ],
      [
        'move a Service endpoint (its callers change)',
        () => text((docs = docs.map((d, i) => (i === 1 ? service(0, 9090) : d)))),
      ],
      ['leading comment, documents reordered', () => text([...docs].reverse(), '# generated\n')],
      [
        'a broken edit (unknown service)',
        () => text(docs.map((d, i) => (i === 2 ? d.replace('service: svc-0', 'service: nope') : d))),
      ],
      [
        'a YAML syntax error',
        () => text(docs.map((d, i) => (i === 3 ? d.replace('topics: [', 'topics: [[') : d))),
      ],
      ['back to good', () => text(docs)],
      [
        'remove a service and what refers to it',
        () => text((docs = docs.filter((d) => !/svc-11\b/.test(d) && !/sub-6\b/.test(d)))),
      ],
      [
        'mesh settings change every group',
        () => text((docs = docs.map((d, i) => (i === 0 ? d.replace('8090', '8091') : d)))),
      ],
    ];
    for (const [what, make] of steps) {
      const sources = [{ file: 'mesh.yaml', text: make() }];
      const a = full(sources);
      const b = incremental(sources);
      if (typeof a === 'string') {
        expect({ what, error: b }).toEqual({ what, error: a });
        continue;
      }
      expect(typeof b).toBe('object');
      expect({ what, version: resourcesVersion(b as FleetResources) }).toEqual({
        what,
        version: resourcesVersion(a),
      });
      expect(flat(b as FleetResources)).toEqual(flat(a));
    }
  });

  test('one EventRoute edit re-translates its service alone; a file of its own is re-read alone', () => {
    const cache = new DocumentCache();
    const memo = new TranslationMemo();
    const docs = initial();
    const files = (d: Docs) => d.map((t, i) => ({ file: `m/${String(i).padStart(3, '0')}.yaml`, text: t }));
    const before = translate(parseMesh(files(docs), cache), memo);
    cache.sweep();
    const edited = docs.map((d, i) => (i === 2 + 3 * 4 ? route(4, 'acme/svc-4/renamed/v1') : d));
    expect(edited).not.toEqual(docs);
    const after = translate(parseMesh(files(edited), cache), memo);
    const changed = [...after.keys()].filter((g) => after.get(g) !== before.get(g));
    // The bridge group is reassembled every time (Subscriptions from bytes kept in the memo;
    // EventContracts may read schema files).
    expect(changed.sort()).toEqual([BRIDGE_GROUP, 'svc-4'].sort());
    const subEdit = edited.map((d, i) => (i === 3 + 3 * 6 ? subscription(6, ', concurrency: 3') : d));
    const third = translate(parseMesh(files(subEdit), cache), memo);
    expect([...third.keys()].filter((g) => third.get(g) !== after.get(g))).toEqual([BRIDGE_GROUP]);
    expect(flat(third)).toEqual(flat(translate(parseMesh(files(subEdit)))));
    expect(after.get(proxylessGroup('svc-4'))).toBe(before.get(proxylessGroup('svc-4')));
    expect(flat(after)).toEqual(flat(translate(parseMesh(files(edited)))));
  });

  test('in one file, an edit re-parses only the edited document; line numbers stay right', () => {
    const cache = new DocumentCache();
    const docs = initial();
    const first = readDocuments([{ file: 'm.yaml', text: text(docs, '# head\n') }], [], cache);
    cache.sweep();
    const edited = docs.map((d, i) => (i === 7 ? route(2, 'acme/svc-2/edited/v1') : d));
    const second = readDocuments([{ file: 'm.yaml', text: text(edited, '# head\n') }], [], cache);
    expect(second).toHaveLength(first.length);
    const fresh = second.filter((d, i) => d.spec !== first[i]!.spec).map((d) => d.index);
    expect(fresh).toEqual([8]);
    // An issue raised on a cached document points at its line in the whole file.
    const doc = second[10]!;
    const uncached = readDocuments([{ file: 'm.yaml', text: text(edited, '# head\n') }], [])[10]!;
    expect(doc.issue(['spec', 'service'], 'x')).toEqual(uncached.issue(['spec', 'service'], 'x'));
    expect(doc.issue(['spec', 'service'], 'x').line).toBeGreaterThan(30);
  });
});
