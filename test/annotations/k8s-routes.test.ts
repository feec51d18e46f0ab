// Gateway API HTTPRoute and Istio VirtualService annotations → EventRoutes. Every object is a real
// one, validated by @kubernetes-models against the project's own schemas first; the EventRoutes
// then go through the mesh loader like any mesh file, and the Events through the Event schema.
import { describe, expect, test } from '@jest/globals';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { Event } from 'kubernetes-models/events.k8s.io/v1/Event';
import { stringify } from 'yaml';
import {
  httpRouteEventRoutes,
  problemEvents,
  virtualServiceEventRoutes,
  type AnnotationResult,
} from '../../xds-server/annotations/index.js';
import { parseMesh } from '../../xds-server/mesh/index.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const OPENED = `type: acme.bank.account.opened.v1
topic: acme/bank/account/opened/v1
subject: '{response.body.id}'
status: [201]
data: { from: response_body, redact: [ssn] }
`;

function httpRoute(annotations: Record<string, string>, rules?: Json[]): Json {
  const route = new HTTPRoute({
    metadata: { name: 'accounts', namespace: 'bank', uid: 'u-1', annotations },
    spec: {
      parentRefs: [{ name: 'bank-gateway' }],
      rules: rules ?? [
        {
          name: 'open',
          matches: [{ path: { type: 'Exact', value: '/accounts' }, method: 'POST' }],
          backendRefs: [{ name: 'accounts', port: 8081 }],
        },
        {
          name: 'close',
          matches: [
            {
              path: { type: 'PathPrefix', value: '/accounts/' },
              method: 'PUT',
              headers: [{ name: 'X-Tenant', value: 'acme' }],
            },
          ],
          backendRefs: [
            { name: 'accounts', port: 8081, weight: 90 },
            { name: 'accounts-canary', port: 8081, weight: 10 },
          ],
        },
        {
          name: 'search',
          matches: [{ path: { type: 'RegularExpression', value: '/a.*' } }],
          backendRefs: [{ name: 'accounts', port: 8081 }],
        },
      ],
    },
  });
  route.validate();
  return route.toJSON() as Json;
}

function virtualService(annotations: Record<string, string>, http?: Json[]): Json {
  const vs = new VirtualService({
    metadata: { name: 'accounts', namespace: 'bank', annotations },
    spec: {
      hosts: ['accounts.bank.svc.cluster.local'],
      http: http ?? [
        {
          name: 'open',
          match: [{ uri: { exact: '/accounts' }, method: { exact: 'POST' } }],
          route: [{ destination: { host: 'accounts.bank.svc.cluster.local', port: { number: 8081 } } }],
        },
        {
          name: 'by-id',
          match: [
            {
              uri: { prefix: '/accounts' },
              headers: { 'x-tenant': { exact: 'acme' } },
              authority: { exact: 'accounts.bank' },
            },
          ],
          route: [{ destination: { host: 'accounts' } }],
        },
        {
          name: 'legacy',
          match: [{ uri: { regex: '/v1/.*' } }],
          route: [{ destination: { host: 'accounts' } }],
        },
        { name: 'moved', redirect: { uri: '/accounts' } },
      ],
    },
  });
  vs.validate();
  return vs.toJSON() as Json;
}

/** The EventRoutes load as a mesh file next to the services they name. */
function loadsAsMesh(result: AnnotationResult): void {
  const services = ['accounts', 'accounts-canary'].map((name) => ({
    apiVersion: 'sidecast.io/v1',
    kind: 'Service',
    metadata: { name },
    spec: { endpoints: ['127.0.0.1:8081'] },
  }));
  const text = [
    { apiVersion: 'sidecast.io/v1', kind: 'Mesh', metadata: { name: 'bank' }, spec: {} },
    ...services,
    ...result.eventRoutes,
  ]
    .map((d) => stringify(d))
    .join('---\n');
  const mesh = parseMesh([{ file: 'annotations.yaml', text }]);
  expect(mesh.eventRoutes.map((r) => r.name).sort()).toEqual(
    result.eventRoutes.map((d) => d.metadata.name).sort(),
  );
}

describe('Gateway API HTTPRoute annotations', () => {
  test('an annotated rule becomes EventRoutes for each match and backend Service; PathPrefix is element-wise', () => {
    const r = httpRouteEventRoutes(
      httpRoute({
        'events.sidecast.io/open': OPENED,
        'events.sidecast.io/close':
          '{"type": "acme.bank.account.closed.v1", "topic": "acme/bank/account/closed/v1", "status": ["2xx"]}',
        'other.example/unrelated': 'x',
      }),
    );
    expect(r.problems).toEqual([]);
    const open = r.eventRoutes.find((d) => d.metadata.name === 'accounts-open')!;
    expect(open).toEqual({
      apiVersion: 'sidecast.io/v1',
      kind: 'EventRoute',
      metadata: {
        name: 'accounts-open',
        namespace: 'bank',
        annotations: { 'events.sidecast.io/from': 'HTTPRoute/bank/accounts#open' },
      },
      spec: {
        service: 'accounts',
        match: { path: '/accounts', method: 'POST', status: [201] },
        event: {
          type: 'acme.bank.account.opened.v1',
          topic: 'acme/bank/account/opened/v1',
          subject: '{response.body.id}',
          data: { from: 'response_body', redact: ['ssn'] },
        },
      },
    });
    const close = r.eventRoutes.filter((d) => d.metadata.name.startsWith('accounts-close'));
    expect(close.map((d) => [d.spec.service, d.spec.match.path])).toEqual([
      ['accounts', '/accounts'],
      ['accounts', '/accounts/{rest...}'],
      ['accounts-canary', '/accounts'],
      ['accounts-canary', '/accounts/{rest...}'],
    ]);
    expect(close[0]!.spec.match.headers).toEqual([{ name: 'x-tenant', exact: 'acme' }]);
    loadsAsMesh(r);
  });

  test('a rule addressed by index; a rule with a regex path, an unknown rule and invalid values are reported', () => {
    const r = httpRouteEventRoutes(
      httpRoute({
        'events.sidecast.io/0': 'type: a.b\ntopic: a/b',
        'events.sidecast.io/search': 'type: a.b\ntopic: a/b',
        'events.sidecast.io/nope': 'type: a.b\ntopic: a/b',
        'events.sidecast.io/close': 'type: a.b\ntopic: a/b\nstatus: [99]\nsampling: 2\nextra: 1',
        'events.sidecast.io/open': 'type: [unclosed',
      }),
    );
    expect(r.eventRoutes.map((d) => d.metadata.name)).toEqual(['accounts-open']);
    const byAnnotation = (k: string) =>
      r.problems
        .filter((p) => p.annotation === `events.sidecast.io/${k}`)
        .map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
    expect(byAnnotation('search')).toEqual([
      'rule search: path type RegularExpression cannot be matched by the emitter; use Exact or PathPrefix',
    ]);
    expect(byAnnotation('nope')).toEqual([
      "names no rule of HTTPRoute bank/accounts (its rules: open, close, search); use a rule's name or index",
    ]);
    expect(byAnnotation('close')).toEqual(
      expect.arrayContaining([
        'status[0]: must be one of the allowed forms (see docs/mesh-config.md)',
        'sampling: must be <= 1',
        expect.stringMatching(
          /^extra: unknown field; allowed here: type, topic, subject, partitionKey, data, maxBodyBytes, sampling, delivery, deadline, onFailure/,
        ),
      ]),
    );
    expect(byAnnotation('open')[0]).toMatch(/^is not YAML or JSON: /);
    // The problems as Events on the HTTPRoute, valid by the Kubernetes Event schema.
    const events = problemEvents(r.problems, new Date('2026-12-04T01:02:03.456Z'));
    expect(events).toHaveLength(4);
    for (const e of events) new Event(e as never).validate();
    const close = events.find((e) => String(e.note).startsWith('events.sidecast.io/close'))!;
    expect(close).toMatchObject({
      type: 'Warning',
      reason: 'InvalidEventAnnotation',
      regarding: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        name: 'accounts',
        namespace: 'bank',
        uid: 'u-1',
      },
      metadata: { namespace: 'bank' },
    });
    expect(close.note).toContain('sampling: must be <= 1');
  });

  test('a rule without a Service backend (or with query matches) cannot be annotated', () => {
    const r = httpRouteEventRoutes(
      httpRoute(
        { 'events.sidecast.io/a': 'type: t\ntopic: t', 'events.sidecast.io/b': 'type: t\ntopic: t' },
        [
          { name: 'a', backendRefs: [{ group: 'example.io', kind: 'Bucket', name: 'b' }] },
          {
            name: 'b',
            matches: [{ queryParams: [{ name: 'q', value: '1' }] }],
            backendRefs: [{ name: 'accounts', port: 80 }],
          },
        ],
      ),
    );
    expect(r.eventRoutes).toEqual([]);
    expect(r.problems.map((p) => p.message)).toEqual([
      'rule a: has no Service backendRef, so no sidecar would emit',
      'rule b: queryParams matches cannot be matched by the emitter',
    ]);
  });
});

describe('Istio VirtualService annotations', () => {
  test('http routes → EventRoutes for the destination service; prefix at segments, authority as host', () => {
    const r = virtualServiceEventRoutes(
      virtualService({
        'events.sidecast.io/open': OPENED,
        'events.sidecast.io/by-id':
          'type: acme.bank.account.seen.v1\ntopic: acme/bank/account/seen\nstatus: [200]',
      }),
    );
    expect(r.problems).toEqual([]);
    expect(r.eventRoutes.map((d) => [d.metadata.name, d.spec.service, d.spec.match])).toEqual([
      ['accounts-open', 'accounts', { path: '/accounts', method: 'POST', status: [201] }],
      [
        'accounts-by-id-0',
        'accounts',
        {
          path: '/accounts',
          host: 'accounts.bank',
          headers: [{ name: 'x-tenant', exact: 'acme' }],
          status: [200],
        },
      ],
      [
        'accounts-by-id-1',
        'accounts',
        {
          path: '/accounts/{rest...}',
          host: 'accounts.bank',
          headers: [{ name: 'x-tenant', exact: 'acme' }],
          status: [200],
        },
      ],
    ]);
    loadsAsMesh(r);
  });

  test('regex uris and redirects are reported', () => {
    const r = virtualServiceEventRoutes(
      virtualService({
        'events.sidecast.io/legacy': 'type: t\ntopic: t',
        'events.sidecast.io/3': 'type: t\ntopic: t',
      }),
    );
    expect(r.eventRoutes).toEqual([]);
    expect(r.problems.map((p) => p.message)).toEqual([
      'rule legacy: uri regex cannot be matched by the emitter; use exact or prefix',
      'rule moved: routes to no destination (redirect or direct response), so no sidecar would emit',
    ]);
    for (const e of problemEvents(r.problems, new Date())) new Event(e as never).validate();
  });
});
