// `sidecast analyze`: checks on a mesh that is valid but probably not what its author meant, in
// the spirit of `istioctl analyze`. Each finding has a code (stable, documented in
// docs/mesh-config.md "Lints"), a severity, the document and field it is about, and a fix.
import type { MeshDocument } from '../../xds-server/mesh/documents.js';
import type { MeshConfig, MeshIssue } from '../../xds-server/mesh/index.js';
import { carryProblem, type BrokerKind } from './carry.js';
import { patternsOverlap, placeholders, templateMayMatch } from './topics.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding extends MeshIssue {
  code: string;
  severity: Severity;
  fix: string;
}

export interface AnalyzeInput {
  mesh: MeshConfig;
  docs: MeshDocument[];
  /** The broker the bridge runs on; enables the carry checks. */
  broker?: BrokerKind;
}

/** The emitter's body cap when an EventRoute sets none (common/emitter-config.schema.json). */
export const DEFAULT_MAX_BODY_BYTES = 65536;

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- shape guaranteed by schema.ts

export function analyze({ mesh, docs, broker }: AnalyzeInput): Finding[] {
  const findings: Finding[] = [];
  const doc = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.name === name)!;
  const add = (
    d: MeshDocument,
    path: (string | number)[],
    code: string,
    severity: Severity,
    message: string,
    fix: string,
  ) => findings.push({ ...d.issue(path, message), code, severity, fix });

  const routes = mesh.eventRoutes.map((r) => ({
    r,
    d: doc('EventRoute', r.name),
    e: doc('EventRoute', r.name).spec.event as Spec,
    m: doc('EventRoute', r.name).spec.match as Spec,
  }));
  const subs = mesh.subscriptions.map((s) => ({ s, d: doc('Subscription', s.name) }));
  const produced = routes.map(({ e }) => e.topic as string);

  // SC101 / SC102: producers and consumers that never meet.
  for (const { s, d } of subs)
    s.topics.forEach((p, i) => {
      if (produced.some((t) => templateMayMatch(t, p))) return;
      if (subs.some((o) => o.s.delivery.deadLetterTopic && patternsOverlap(p, o.s.delivery.deadLetterTopic)))
        return; // it consumes a dead-letter topic
      add(
        d,
        ['spec', 'topics', i],
        'SC101',
        'warning',
        `pattern "${p}" matches no topic any EventRoute produces${produced.length ? ` (they produce ${produced.map((t) => `"${t}"`).join(', ')})` : ''}`,
        'fix a typo in the pattern, or add the EventRoute that emits it (events published straight to the bridge also count: then ignore this)',
      );
    });
  for (const { r, d, e } of routes) {
    if (subs.some(({ s }) => s.topics.some((p) => templateMayMatch(e.topic, p)))) continue;
    add(
      d,
      ['spec', 'event', 'topic'],
      'SC102',
      'warning',
      `topic "${e.topic}" of EventRoute ${r.name} is subscribed by no Subscription: its events are stored and never delivered`,
      'add a Subscription whose topics match it, or remove the EventRoute',
    );
  }

  // SC103: two EventRoutes of one service that can match the same call emit two events for it.
  for (let i = 0; i < routes.length; i++)
    for (let j = i + 1; j < routes.length; j++) {
      const a = routes[i]!;
      const b = routes[j]!;
      if (a.r.service !== b.r.service || !matchesOverlap(a.m, b.m)) continue;
      add(
        b.d,
        ['spec', 'match'],
        'SC103',
        'warning',
        `match overlaps EventRoute ${a.r.name} (${a.d.file}:${a.d.issue(['spec', 'match'], '').line ?? '?'}) on service ${a.r.service}: a call matching both emits two events`,
        'narrow one match (method, path, status or headers), or merge the two routes if one event is meant',
      );
    }

  // SC104: levels the chosen broker cannot carry.
  if (broker) {
    for (const { r, d, e } of routes) {
      // Placeholder levels become a safe literal here; their values are checked per event (SC105).
      const why = carryProblem(broker, 'topic', (e.topic as string).replace(/\{[^}]*\}/g, 'x'));
      if (why)
        add(
          d,
          ['spec', 'event', 'topic'],
          'SC104',
          'error',
          `${why}: every event of EventRoute ${r.name} would be rejected`,
          carryFix(broker),
        );
    }
    for (const { s, d } of subs) {
      s.topics.forEach((p, i) => {
        const why = carryProblem(broker, 'pattern', p);
        if (why)
          add(
            d,
            ['spec', 'topics', i],
            'SC104',
            'error',
            `${why}: the bridge cannot consume Subscription ${s.name}`,
            carryFix(broker),
          );
      });
      const dlt = s.delivery.deadLetterTopic;
      const why = dlt && carryProblem(broker, 'topic', dlt);
      if (why)
        add(
          d,
          ['spec', 'delivery', 'deadLetterTopic'],
          'SC104',
          'error',
          `${why}: dead letters of ${s.name} could not be published`,
          carryFix(broker),
        );
    }
    // SC105: a placeholder level is only known per request; a value the broker cannot carry drops that event.
    if (broker !== 'embedded')
      for (const { d, e } of routes) {
        const free = placeholders(e.topic).filter((p) => !p.startsWith('path.') && p !== 'response.status');
        if (free.length === 0) continue;
        add(
          d,
          ['spec', 'event', 'topic'],
          'SC105',
          'info',
          `topic level(s) from ${free.map((p) => `{${p}}`).join(', ')} are only known per request; on ${broker} a value ${brokerChars(broker)} drops that event (bad_topic)`,
          `take the level from a value you control (a path parameter), or make sure producers never send such values`,
        );
      }
  }

  // SC106: dead-letter loops.
  for (const { s, d } of subs) {
    const dlt = s.delivery.deadLetterTopic;
    if (!dlt) continue;
    if (s.topics.some((p) => patternsOverlap(p, dlt)))
      add(
        d,
        ['spec', 'delivery', 'deadLetterTopic'],
        'SC106',
        'error',
        `dead-letter topic "${dlt}" is matched by this Subscription's own topics: an event that fails is delivered to the same endpoint again, forever`,
        'use a dead-letter topic outside every pattern of this Subscription, e.g. append /dlq under a prefix nobody subscribes to with ">"',
      );
    else {
      const cycle = deadLetterCycle(
        s.name,
        subs.map((x) => x.s),
      );
      if (cycle)
        add(
          d,
          ['spec', 'delivery', 'deadLetterTopic'],
          'SC106',
          'error',
          `dead letters go round in a loop: ${cycle.join(' → ')}`,
          'end the chain: the last Subscription that consumes dead letters should have no deadLetterTopic, or one nobody subscribes to',
        );
    }
  }

  // SC107: guaranteed delivery of a non-idempotent call without Idempotency-Key.
  for (const { r, d, e, m } of routes) {
    if (e.delivery !== 'guaranteed') continue;
    const methods = [m.method ?? []].flat() as string[];
    const unsafe = methods.length === 0 || methods.some((x) => x === 'POST' || x === 'PATCH');
    const keyed = ((m.headers as Spec[] | undefined) ?? []).some(
      (h) => String(h.name).toLowerCase() === 'idempotency-key' && h.present !== false,
    );
    if (!unsafe || keyed) continue;
    add(
      d,
      ['spec', 'event', 'delivery'],
      'SC107',
      'warning',
      `EventRoute ${r.name} uses guaranteed delivery on ${methods.join('/') || 'any method'} without requiring an Idempotency-Key: a client retrying after a 503 (onFailure: reject) or a timeout repeats the side effect and emits a second event with a new id`,
      'require the header (match.headers: [{ name: idempotency-key, present: true }]) and have clients send it, so a retry gets the same event id; or use delivery: async',
    );
  }

  // SC108: templates reading a body field while the body cap can cut the body.
  for (const { r, d, e } of routes) {
    const cap = (e.maxBodyBytes as number | undefined) ?? DEFAULT_MAX_BODY_BYTES;
    for (const key of ['topic', 'subject', 'partitionKey'] as const) {
      const body = placeholders(e[key]).filter((p) => /^(request|response)\.body\./.test(p));
      if (body.length === 0) continue;
      add(
        d,
        ['spec', 'event', key],
        'SC108',
        key === 'topic' ? 'warning' : 'info',
        `${key} reads ${body.map((p) => `{${p}}`).join(', ')}, but bodies over maxBodyBytes (${cap}${e.maxBodyBytes === undefined ? ', the default' : ''}) are not parsed: ${
          key === 'topic'
            ? `the event is dropped (reason body_over_limit_for_template) for every ${r.name} call with a larger body`
            : `the ${key} is left out of the event for larger bodies`
        }`,
        'take the value from a path parameter or header, or set event.maxBodyBytes above the largest body this route sees (at most 1 MiB)',
      );
    }
  }

  // SC109: ordering by key with no key to order by.
  for (const { s, d } of subs) {
    if (!s.delivery.orderByKey) continue;
    const feeding = routes.filter(({ e }) => s.topics.some((p) => templateMayMatch(e.topic, p)));
    if (feeding.length === 0 || feeding.some(({ e }) => e.partitionKey)) continue;
    add(
      d,
      ['spec', 'delivery', 'orderByKey'],
      'SC109',
      'warning',
      `orderByKey is set, but no EventRoute feeding it (${feeding.map(({ r }) => r.name).join(', ')}) sets partitionKey: every event has no key, so nothing is ordered`,
      'set event.partitionKey on those EventRoutes (e.g. the entity id), or drop orderByKey',
    );
  }
  return findings.sort((a, b) =>
    a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file < b.file ? -1 : 1,
  );
}

function carryFix(broker: BrokerKind): string {
  return broker === 'nats'
    ? 'NATS subjects use "." between tokens: replace "." inside a level (e.g. v1.2 → v1_2)'
    : broker === 'rabbitmq'
      ? 'AMQP routing keys use "." between words and "#" as a wildcard: replace them inside a level'
      : broker === 'mqtt'
        ? 'MQTT reserves "+", "#" and a leading "$": rename the level'
        : 'Kafka topic names allow only A-Z a-z 0-9 "_" "-" in the levels that name the topic: rename the level';
}

function brokerChars(broker: BrokerKind): string {
  return broker === 'nats' || broker === 'rabbitmq'
    ? 'containing "."'
    : broker === 'mqtt'
      ? 'containing "+" or "#"'
      : 'outside A-Z a-z 0-9 "_" "-" in the first level';
}

/** Two EventRoute matches can hold for one call (same route name or overlapping method/path/status). */
function matchesOverlap(a: Spec, b: Spec): boolean {
  if (a.routeName && b.routeName && a.routeName !== b.routeName) return false;
  if (a.host && b.host && a.host !== b.host) return false;
  const methods = (m: Spec) => ([m.method ?? []].flat() as string[]).map((x) => x.toUpperCase());
  const [ma, mb] = [methods(a), methods(b)];
  if (ma.length && mb.length && !ma.some((x) => mb.includes(x))) return false;
  if (a.path && b.path && !pathsOverlap(a.path, b.path)) return false;
  const status = (m: Spec) => ([m.status ?? []].flat() as Array<number | string>).map(String);
  const [sa, sb] = [status(a), status(b)];
  if (sa.length && sb.length && !sa.some((x) => sb.some((y) => statusOverlap(x, y)))) return false;
  // Route-name-only vs path-only matches may or may not meet; report only what surely can.
  return !!(a.path && b.path) || !!(a.routeName && b.routeName);
}

function pathsOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const u = x[i];
    const v = y[i];
    if (u?.endsWith('...}') || v?.endsWith('...}')) return true;
    if (u === undefined || v === undefined) return u === v;
    if (!u.startsWith('{') && !v.startsWith('{') && u !== v) return false;
  }
}

function statusOverlap(a: string, b: string): boolean {
  const cls = (s: string) => (/^[1-5]xx$/.test(s) ? s[0] : null);
  if (cls(a) && cls(b)) return cls(a) === cls(b);
  if (cls(a)) return b[0] === cls(a);
  if (cls(b)) return a[0] === cls(b);
  return a === b;
}

/** A chain of dead-letter hops that returns to `start`, or null. */
function deadLetterCycle(
  start: string,
  subs: Array<{ name: string; topics: string[]; delivery: { deadLetterTopic?: string } }>,
): string[] | null {
  const next = (name: string) => {
    const dlt = subs.find((s) => s.name === name)?.delivery.deadLetterTopic;
    return dlt ? subs.filter((s) => s.topics.some((p) => patternsOverlap(p, dlt))).map((s) => s.name) : [];
  };
  const walk = (name: string, path: string[]): string[] | null => {
    for (const n of next(name)) {
      if (n === start) return [...path, n];
      if (path.includes(n)) continue;
      const found = walk(n, [...path, n]);
      if (found) return found;
    }
    return null;
  };
  return walk(start, [start]);
}
