// Linear memory never shrinks (reference §3.5): the emitter must reach a steady state. After a
// warm-up, thousands more requests of every kind must not grow the VM's memory.
import { describe, expect, test } from '@jest/globals';
import { acceptAll, config, emitter, exchange, healthy } from './harness.js';

describe('event-emitter memory', () => {
  test('linear memory is flat after warm-up across matched, unmatched, body and guaranteed traffic', async () => {
    const e = await emitter(
      config(
        {},
        {
          rules: [
            {
              name: 'headers',
              match: { method: 'POST', path: '/accounts' },
              event: { type: 't', topic: 'a/{request.header.x-t}', subject: '{request.header.x-t}' },
            },
            {
              name: 'body',
              match: { method: 'PUT', path: '/accounts/{id}' },
              event: {
                type: 't',
                topic: 'b/{path.id}',
                data: { from: 'response_body', field: 'account', redact: ['ssn'] },
              },
            },
            {
              name: 'sure',
              match: { method: 'DELETE', path: '/accounts/{id}' },
              event: { type: 't', topic: 'c', delivery: 'guaranteed' },
            },
          ],
        },
      ),
    );
    const body = JSON.stringify({ id: 'x', account: { no: 1, ssn: '1', pad: 'p'.repeat(900) } });
    const round = (n: number) => {
      for (let i = 0; i < n; i++) {
        exchange(e.plugin, { headers: { 'x-t': `t${i % 50}` } });
        exchange(e.plugin, { method: 'GET', path: '/health' });
        exchange(e.plugin, { method: 'PUT', path: `/accounts/${i}` }, { status: 200, body });
        const s = exchange(e.plugin, { method: 'DELETE', path: `/accounts/${i}` }, { status: 204 }, false);
        acceptAll(e.host.pendingCalls.find((c) => c.timeoutMs === 500)!);
        s.end();
        e.host.advance(10);
        for (const call of e.host.pendingCalls) acceptAll(call);
      }
    };
    round(1000);
    const warm = e.plugin.vm().memory.byteLength;
    round(4000);
    expect(e.plugin.vm().memory.byteLength).toBe(warm);
    healthy(e.plugin);
  });
});

describe('event-emitter memory with route annotations', () => {
  test('annotations are decoded once per route and version: memory is flat over annotated and plain routes', async () => {
    const routes = {
      name: 'inbound',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [
            {
              name: 'open',
              match: { path: '/accounts' },
              route: { cluster: 'app' },
              metadata: {
                filter_metadata: {
                  'sidecast.io/event': { type: 't', topic: 'a/{response.status}', status: [201] },
                },
              },
            },
            {
              name: 'other',
              match: { prefix: '/' },
              route: { cluster: 'app' },
              metadata: {
                filter_metadata: {
                  istio: { config: '/apis/networking.istio.io/v1/namespaces/n/virtual-service/v' },
                },
              },
            },
          ],
        },
      ],
    };
    const cfg = config();
    delete cfg.rules;
    const e = await emitter(cfg, { routes });
    const round = (n: number) => {
      for (let i = 0; i < n; i++) {
        exchange(e.plugin, { path: '/accounts' }, { status: 201 });
        exchange(e.plugin, { path: '/accounts' }, { status: 409 });
        exchange(e.plugin, { method: 'GET', path: `/health/${i}` });
        e.host.advance(10);
        for (const call of e.host.pendingCalls) acceptAll(call);
      }
    };
    round(1000);
    const warm = e.plugin.vm().memory.byteLength;
    round(4000);
    expect(e.plugin.vm().memory.byteLength).toBe(warm);
    healthy(e.plugin);
  });
});
