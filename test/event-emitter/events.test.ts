import { describe, expect, test } from '@jest/globals';
import { acceptAll, config, emitOne, emitter, exchange, flush, healthy, stat } from './harness.js';

describe('event-emitter: matching and CloudEvent content', () => {
  test('POST /accounts answered 201 becomes one CloudEvent with the required attributes', async () => {
    const e = await emitter(config());
    const [ev, ...rest] = emitOne(e, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'k=v' } });
    expect(rest).toHaveLength(0);
    expect(ev).toMatchObject({
      specversion: '1.0',
      source: '//accounts.bank.svc',
      type: 'acme.bank.account.opened.v1',
      topic: 'acme/bank/account/opened/v1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'k=v',
    });
    expect(ev!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(ev!.time as string).toISOString()).toBe(ev!.time);
    expect(Math.abs(Date.parse(ev!.time as string) - Date.now())).toBeLessThan(60_000);
    expect(stat(e.host, 'rule=account-opened.matched')).toBe(1);
    expect(stat(e.host, 'rule=account-opened.events_emitted')).toBe(1);
    healthy(e.plugin);
  });
});
