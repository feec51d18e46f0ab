// CEL subscription filters, compiled once and evaluated against structured CloudEvents.
import { describe, expect, test } from '@jest/globals';
import { compileFilter } from '../../../broker-bridge/filter/cel.js';
import { ResourceError, validateSubscription } from '../../../broker-bridge/xds/subscription-resource.js';

const opened = {
  specversion: '1.0',
  id: 'e1',
  source: '//bank.example/accounts',
  type: 'acme.bank.account.opened.v1',
  subject: 'acc-1',
  topic: 'acme/bank/account/opened/v1',
  data: { region: 'eu', amount: 120, owner: { tier: 'gold' } },
};

describe('CEL subscription filters', () => {
  test('attribute-only expressions', () => {
    const f = compileFilter('type == "acme.bank.account.opened.v1" && subject.startsWith("acc-")');
    expect(f.evaluate(opened)).toBe('match');
    expect(f.evaluate({ ...opened, type: 'acme.bank.account.closed.v1' })).toBe('no_match');
  });

  test('data fields, nested and numeric', () => {
    const f = compileFilter(
      'data.region == "eu" && data.amount > 100 && data.owner.tier in ["gold", "platinum"]',
    );
    expect(f.evaluate(opened)).toBe('match');
    expect(f.evaluate({ ...opened, data: { ...opened.data, amount: 99 } })).toBe('no_match');
  });

  test('a missing attribute or data field is false, not an error', () => {
    const f = compileFilter('data.region == "eu"');
    expect(f.evaluate({ ...opened, data: { amount: 1 } })).toBe('no_match');
    expect(f.evaluate({ ...opened, data: undefined })).toBe('no_match');
    expect(compileFilter('partitionkey == "k"').evaluate(opened)).toBe('no_match');
    expect(compileFilter('has(data.region) && data.region != "eu"').evaluate(opened)).toBe('no_match');
    expect(f.lastError()).toBeUndefined();
  });

  test('other evaluation failures do not match and are told apart', () => {
    const f = compileFilter('data.amount + "x" == "y"');
    expect(f.evaluate(opened)).toBe('error');
    expect(f.lastError()).toMatch(/no matching overload/);
    const notBool = compileFilter('data.amount');
    expect(notBool.evaluate(opened)).toBe('error');
    expect(notBool.lastError()).toBe('evaluates to number, not a bool');
  });

  test('a compiled filter compares by its source (subscription versions)', () => {
    expect(JSON.stringify({ filter: compileFilter('type == "a"') })).toBe(
      JSON.stringify({ filter: 'type == "a"' }),
    );
  });

  test("a compile error is a resource error naming the subscription, the field and CEL's message", () => {
    const base = {
      name: 'audit/trail',
      service: 'audit',
      topics: ['acme/bank/account/>'],
      delivery: { url: 'http://127.0.0.1:8083/events' },
    };
    const problem = (over: object) => {
      try {
        validateSubscription('audit/trail', { ...base, ...over });
      } catch (e) {
        expect(e).toBeInstanceOf(ResourceError);
        return (e as Error).message;
      }
      throw new Error('expected a ResourceError');
    };
    expect(problem({ filter: 'data.region ==' })).toMatch(
      /^Subscription "audit\/trail": filter: CEL expression "data.region ==" does not compile: .*1:\d+/,
    );
    expect(problem({ routes: [{ filter: 'type ==', url: 'http://127.0.0.1:8083/x' }] })).toMatch(
      /routes\[0\]\.filter: CEL expression "type ==" does not compile/,
    );
    expect(problem({ routes: [{ filter: 'true', url: 'http://elsewhere:1/x' }] })).toContain(
      'routes[0].url: "http://elsewhere:1/x" is not on delivery.url\'s origin http://127.0.0.1:8083',
    );
    const ok = validateSubscription('audit/trail', {
      ...base,
      filter: 'data.region == "eu"',
      routes: [{ filter: 'type.endsWith(".v2")', url: 'http://127.0.0.1:8083/v2' }],
    });
    expect(ok.filter?.source).toBe('data.region == "eu"');
    expect(ok.routes?.[0]?.url).toBe('http://127.0.0.1:8083/v2');
  });
});
