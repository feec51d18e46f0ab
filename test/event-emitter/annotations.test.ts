// Route annotations: an Envoy route's filter_metadata["sidecast.io/event"] is an event rule, read
// through xds.route_metadata (served by the test host from the listener's route table, as Envoy
// serves it: the route's Metadata as protobuf bytes).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import { serializeMetadata } from '../host/index.js';
import { acceptAll, config, emitOne, emitter, exchange, flush, healthy, stat } from './harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ROUTES = parse(
  readFileSync(new URL('./fixtures/annotated-routes.yaml', import.meta.url), 'utf8'),
) as Json;
/** Plugin configuration without rules: the routes' annotations are all there is. */
const annotationsOnly = (): Json => {
  const cfg: Json = config();
  delete cfg.rules;
  return cfg;
};
const withAnnotation = (route: string, annotation: Json | undefined): Json => {
  const copy = structuredClone(ROUTES);
  const r = copy.virtual_hosts[0].routes.find((x: Json) => x.name === route);
  r.metadata.filter_metadata['sidecast.io/event'] = annotation;
  if (annotation === undefined) delete r.metadata.filter_metadata['sidecast.io/event'];
  return copy;
};

describe('event-emitter: route annotations (xds.route_metadata)', () => {
  test('an annotated route emits its event: status filter, templates, partition key, redaction', async () => {
    const e = await emitter(annotationsOnly(), { routes: ROUTES });
    const body = JSON.stringify({ id: 'acc-1', owner: 'ada', ssn: '123-45-6789' });
    const [ev, ...more] = emitOne(
      e,
      { method: 'POST', path: '/accounts' },
      { status: 201, body, headers: { 'content-type': 'application/json' } },
    );
    expect(more).toHaveLength(0);
    expect(ev).toMatchObject({
      type: 'acme.bank.account.opened.v1',
      topic: 'acme/bank/account/opened/v1',
      subject: 'acc-1',
      partitionkey: 'acc-1',
      source: '//accounts.bank.svc',
      data: { id: 'acc-1', owner: 'ada' },
    });
    expect(JSON.stringify(ev!.data)).not.toContain('123-45');
    // Status filter: a 400 on the same route emits nothing; a GET selects another route.
    expect(emitOne(e, { method: 'POST', path: '/accounts' }, { status: 400, body })).toHaveLength(0);
    expect(emitOne(e, { method: 'GET', path: '/accounts' }, { status: 201, body })).toHaveLength(0);
    // Metrics are tagged with the route name (or the annotation's "name").
    expect(stat(e.host, 'rule=accounts-open.matched')).toBe(1);
    expect(stat(e.host, 'rule=accounts-open.events_emitted')).toBe(1);
    healthy(e.plugin);
  });

  test('an annotation "path" template gives {path.*} variables; status classes; the name tags metrics', async () => {
    const e = await emitter(annotationsOnly(), { routes: ROUTES });
    const [ev] = emitOne(e, { method: 'POST', path: '/accounts/a7/close' }, { status: 204 });
    expect(ev).toMatchObject({
      type: 'acme.bank.account.closed.v1',
      topic: 'acme/bank/account/a7/closed',
      subject: 'a7',
    });
    expect(emitOne(e, { method: 'POST', path: '/accounts/a7/close' }, { status: 409 })).toHaveLength(0);
    expect(stat(e.host, 'rule=account-closed.events_emitted')).toBe(1);
  });

  test('{route.name} in an annotation renders the route it sits on', async () => {
    const routes = withAnnotation('accounts-open', {
      type: 't',
      topic: 'routes/{route.name}',
      status: [201],
    });
    const e = await emitter(annotationsOnly(), { routes });
    expect(emitOne(e, { path: '/accounts' }, { status: 201 })[0]).toMatchObject({
      topic: 'routes/accounts-open',
    });
  });

  test('an invalid annotation never touches traffic: counted per request, logged once naming the field', async () => {
    const e = await emitter(annotationsOnly(), { routes: ROUTES });
    for (let i = 0; i < 3; i++) {
      const s = exchange(
        e.plugin,
        { method: 'POST', path: '/broken', body: '{"a":1}' },
        { status: 201, body: '{"id":"1"}' },
      );
      expect(s.actions.every((a) => a.status === 'Continue')).toBe(true);
      expect(s.upstream.body.toString()).toBe('{"a":1}');
      expect(s.downstream.body.toString()).toBe('{"id":"1"}');
    }
    expect(flush(e.host)).toHaveLength(0);
    expect(stat(e.host, 'bad_annotation')).toBe(3);
    const warnings = e.plugin.messages('warn').filter((m) => m.includes('accounts-broken'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('filter_metadata["sidecast.io/event"]: unknown field "partitionkey"');
    // Other routes are unaffected.
    expect(
      emitOne(e, { method: 'POST', path: '/accounts' }, { status: 201, body: '{"id":"x"}' }),
    ).toHaveLength(1);
    healthy(e.plugin);
  });

  test.each([
    ['topic grammar', { type: 't', topic: 'a//b' }, '.topic: "a//b" is not a valid topic'],
    ['missing type', { topic: 'a/b' }, 'missing required field "type"'],
    [
      'status',
      { type: 't', topic: 'a', status: [99] },
      '.status[0]: status codes are integers from 100 to 599',
    ],
    [
      'deadline',
      { type: 't', topic: 'a', delivery: 'guaranteed', deadline: '2 s' },
      '.deadline: must be a duration',
    ],
    ['unknown path parameter', { type: 't', topic: 'a/{path.id}' }, '.topic:'],
  ])('invalid annotation (%s) is reported with its field', async (_name, annotation, message) => {
    const e = await emitter(annotationsOnly(), {
      routes: withAnnotation('accounts-open', annotation as Json),
    });
    exchange(e.plugin, { method: 'POST', path: '/accounts' }, { status: 201 });
    expect(flush(e.host)).toHaveLength(0);
    expect(stat(e.host, 'bad_annotation')).toBe(1);
    expect(e.plugin.messages('warn').join('\n')).toContain(message);
  });

  test('a route configuration change (new metadata) takes effect for new streams; the old one is replaced', async () => {
    const e = await emitter(annotationsOnly(), { routes: ROUTES });
    const body = '{"id":"1"}';
    expect(emitOne(e, { path: '/accounts' }, { status: 201, body })[0]).toMatchObject({
      type: 'acme.bank.account.opened.v1',
    });
    e.plugin.setRoutes(
      withAnnotation('accounts-open', {
        type: 'acme.bank.account.created.v2',
        topic: 'acme/bank/account/created/v2',
        status: [201, 202],
      }),
    );
    expect(emitOne(e, { path: '/accounts' }, { status: 202, body })[0]).toMatchObject({
      type: 'acme.bank.account.created.v2',
      topic: 'acme/bank/account/created/v2',
    });
    // Annotation removed: nothing more from that route.
    e.plugin.setRoutes(withAnnotation('accounts-open', undefined));
    expect(emitOne(e, { path: '/accounts' }, { status: 201, body })).toHaveLength(0);
    // Fixed after being broken: the new version is decoded, not the cached failure.
    e.plugin.setRoutes(
      withAnnotation('accounts-broken', { type: 'acme.bank.fixed.v1', topic: 'acme/bank/fixed' }),
    );
    expect(emitOne(e, { path: '/broken' }, { status: 200 })[0]).toMatchObject({ type: 'acme.bank.fixed.v1' });
    expect(stat(e.host, 'bad_annotation')).toBe(0);
    healthy(e.plugin);
  });

  test('precedence: a plugin rule with the same event type wins (one event); other plugin rules emit alongside', async () => {
    const same = config({
      name: 'from-mesh',
      match: { method: 'POST', path: '/accounts', status: [201] },
      event: { type: 'acme.bank.account.opened.v1', topic: 'mesh/account/opened' },
    });
    const e = await emitter(same, { routes: ROUTES });
    const events = emitOne(e, { path: '/accounts' }, { status: 201, body: '{"id":"1"}' });
    expect(events.map((x) => x.topic)).toEqual(['mesh/account/opened']);
    // The plugin rule did not match (status), so the annotation emits.
    const other = await emitter(
      config({
        match: { method: 'POST', path: '/accounts', status: [201] },
        event: { type: 'acme.audit.v1', topic: 'audit' },
      }),
      { routes: ROUTES },
    );
    const both = emitOne(other, { path: '/accounts' }, { status: 201, body: '{"id":"1"}' });
    expect(both.map((x) => x.type).sort()).toEqual(['acme.audit.v1', 'acme.bank.account.opened.v1']);
  });

  test('"route_annotations": false ignores annotations', async () => {
    const e = await emitter(config({}, { route_annotations: false }), { routes: ROUTES });
    const s = exchange(e.plugin, { path: '/accounts/a7/close' }, { status: 204 });
    expect(s.actions.every((a) => a.status === 'Continue')).toBe(true);
    expect(flush(e.host)).toHaveLength(0);
    expect(stat(e.host, 'rule=account-closed.matched')).toBe(0);
  });

  test('guaranteed delivery from an annotation holds the response until the bridge accepts', async () => {
    const routes = withAnnotation('accounts-open', {
      type: 'acme.bank.account.opened.v1',
      topic: 'acme/bank/account/opened/v1',
      delivery: 'guaranteed',
      deadline: '300ms',
      status: [201],
    });
    const e = await emitter(annotationsOnly(), { routes });
    const s = exchange(e.plugin, { path: '/accounts' }, { status: 201 }, false);
    const call = e.host.pendingCalls.find((c) => c.timeoutMs === 300);
    expect(call).toBeDefined();
    expect(s.downstream.headers).toBeUndefined();
    acceptAll(call!);
    expect(s.downstream.headers?.get(':status')?.toString()).toBe('201');
    s.end();
    expect(stat(e.host, 'rule=accounts-open.guaranteed_waits')).toBe(1);
    expect(stat(e.host, 'rule=accounts-open.events_emitted')).toBe(1);
  });
});

describe('event-emitter: route metadata decoding never traps', () => {
  test('truncated, corrupted and random metadata bytes: traffic passes, the VM stays healthy', async () => {
    const e = await emitter(annotationsOnly());
    const valid = serializeMetadata({
      filter_metadata: {
        'sidecast.io/event': {
          type: 't',
          topic: 'a/b',
          status: [201],
          data: { from: 'none', field: null },
          sampling: 1,
        },
      },
    });
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const inputs: Buffer[] = [];
    for (let n = 0; n <= valid.length; n++) inputs.push(valid.subarray(0, n));
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(valid);
      b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      inputs.push(b);
    }
    for (let i = 0; i < 100; i++)
      inputs.push(
        Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))),
      );
    // Lengths far past the end, and nesting deeper than the reader allows.
    inputs.push(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
    // (built by hand: protobufjs itself refuses to encode this deep)
    const len = (b: Buffer) => {
      const out: number[] = [];
      let n = b.length;
      do {
        out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
        n >>>= 7;
      } while (n > 0);
      return Buffer.from(out);
    };
    const field = (tag: number, b: Buffer) => Buffer.concat([Buffer.from([tag]), len(b), b]);
    let deep = Buffer.alloc(0); // Struct {}
    for (let i = 0; i < 200; i++)
      deep = field(0x0a, Buffer.concat([field(0x0a, Buffer.from('d')), field(0x12, field(0x2a, deep))]));
    inputs.push(
      field(0x0a, Buffer.concat([field(0x0a, Buffer.from('sidecast.io/event')), field(0x12, deep)])),
    );
    for (const [i, bytes] of inputs.entries()) {
      const s = exchange(
        e.plugin,
        { path: '/x', properties: { 'xds.route_name': `r${i % 5}`, 'xds.route_metadata': bytes } },
        { status: 201 },
      );
      expect(s.actions.every((a) => a.status === 'Continue')).toBe(true);
    }
    healthy(e.plugin);
    // The complete valid one still works after all that.
    const [ev] = emitOne(
      e,
      { path: '/x', properties: { 'xds.route_name': 'fresh', 'xds.route_metadata': valid } },
      { status: 201 },
    );
    expect(ev).toMatchObject({ type: 't', topic: 'a/b' });
  });
});
