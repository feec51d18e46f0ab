// Sample specs, good and bad, that the loader and the CRDs must judge alike.
export interface SampleSpec {
  name: string;
  kind: 'Service' | 'EventRoute' | 'Subscription';
  spec: unknown;
  valid: boolean;
  /** Refused by the loader, accepted by the API server (deploy/crds.ts LOOSER_IN_CRD). */
  looserInCrd?: boolean;
}

const route = {
  service: 'accounts',
  match: { path: '/accounts/{id}', method: 'POST', status: [201, '2xx'] },
  event: {
    type: 'acme.bank.account.opened.v1',
    topic: 'acme/bank/account/opened/v1',
    data: { from: 'response_body', field: null },
  },
};
const sub = {
  service: 'audit',
  topics: ['acme/bank/>'],
  delivery: { path: '/events', timeout: '5s', retry: { attempts: 3, backoff: 'exponential' } },
};

export const SPECS: SampleSpec[] = [
  { name: 'route', kind: 'EventRoute', spec: route, valid: true },
  {
    name: 'route by routeName with method list and headers',
    kind: 'EventRoute',
    valid: true,
    spec: {
      ...route,
      match: {
        routeName: 'r',
        method: ['POST', 'PUT'],
        headers: [
          { name: 'x-a', exact: '1' },
          { name: 'x-b', present: true },
        ],
      },
    },
  },
  {
    name: 'route without path or routeName',
    kind: 'EventRoute',
    valid: false,
    spec: { ...route, match: { method: 'POST' } },
  },
  {
    name: 'route header with exact and present',
    kind: 'EventRoute',
    valid: false,
    spec: { ...route, match: { path: '/a', headers: [{ name: 'x', exact: '1', present: true }] } },
  },
  { name: 'route with unknown field', kind: 'EventRoute', valid: false, spec: { ...route, evnt: {} } },
  { name: 'route without topic', kind: 'EventRoute', valid: false, spec: { ...route, event: { type: 't' } } },
  {
    name: 'route bad data.from',
    kind: 'EventRoute',
    valid: false,
    spec: { ...route, event: { ...route.event, data: { from: 'body' } } },
  },
  {
    name: 'route sampling above 1',
    kind: 'EventRoute',
    valid: false,
    spec: { ...route, event: { ...route.event, sampling: 1.5 } },
  },
  {
    name: 'route bad deadline',
    kind: 'EventRoute',
    valid: false,
    spec: { ...route, event: { ...route.event, deadline: '5 seconds' } },
  },
  {
    name: 'route lower-case method',
    kind: 'EventRoute',
    valid: false,
    looserInCrd: true,
    spec: { ...route, match: { path: '/a', method: 'post' } },
  },
  {
    name: 'route status 700',
    kind: 'EventRoute',
    valid: false,
    looserInCrd: true,
    spec: { ...route, match: { path: '/a', status: [700] } },
  },
  {
    name: 'route bad service name',
    kind: 'EventRoute',
    valid: false,
    spec: { ...route, service: 'Accounts' },
  },
  { name: 'subscription', kind: 'Subscription', spec: sub, valid: true },
  { name: 'subscription without topics', kind: 'Subscription', valid: false, spec: { ...sub, topics: [] } },
  {
    name: 'subscription bad backoff',
    kind: 'Subscription',
    valid: false,
    spec: { ...sub, delivery: { path: '/e', retry: { backoff: 'random' } } },
  },
  {
    name: 'subscription path without slash',
    kind: 'Subscription',
    valid: false,
    spec: { ...sub, delivery: { path: 'events' } },
  },
  {
    name: 'subscription concurrency 0',
    kind: 'Subscription',
    valid: false,
    spec: { ...sub, delivery: { path: '/e', concurrency: 0 } },
  },
  {
    name: 'service',
    kind: 'Service',
    valid: true,
    spec: { endpoints: ['10.0.0.1:8080'], calls: ['ledger'] },
  },
  {
    name: 'service without endpoints (EndpointSlices)',
    kind: 'Service',
    valid: true,
    spec: { sidecar: { inboundPort: 15006 } },
  },
  { name: 'service endpoint without port', kind: 'Service', valid: false, spec: { endpoints: ['10.0.0.1'] } },
  {
    name: 'service duplicate calls',
    kind: 'Service',
    valid: false,
    spec: { endpoints: ['a:1'], calls: ['x', 'x'] },
  },
  {
    name: 'service port out of range',
    kind: 'Service',
    valid: false,
    spec: { endpoints: ['a:1'], sidecar: { inboundPort: 70000 } },
  },
];
