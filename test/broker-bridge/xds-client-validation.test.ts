// Subscription resources → SubscriptionSpec: defaults, durations, and the errors a NACK carries.
import { describe, expect, test } from '@jest/globals';
import {
  decodeSubscription,
  ResourceError,
  validateSubscription,
} from '../../broker-bridge/xds/subscription-resource.js';
import { encodeSubscription, type SubscriptionJson } from '../../proto/sidecast.js';

const base: SubscriptionJson = {
  name: 'audit/trail',
  service: 'audit',
  topics: ['acme/bank/account/>'],
  delivery: { url: 'http://127.0.0.1:8083/events' },
};
const problem = (over: Partial<SubscriptionJson>, name = 'audit/trail') => {
  try {
    validateSubscription(name, { ...base, ...over });
  } catch (e) {
    expect(e).toBeInstanceOf(ResourceError);
    return (e as Error).message;
  }
  throw new Error('expected a ResourceError');
};

describe('Subscription resource validation', () => {
  test('defaults fill what the control plane left out; durations and backoff are read', () => {
    expect(validateSubscription('audit/trail', base)).toEqual({
      name: 'audit/trail',
      service: 'audit',
      topics: ['acme/bank/account/>'],
      url: 'http://127.0.0.1:8083/events',
      timeoutMs: 5000,
      retry: {
        attempts: 5,
        backoff: 'exponential',
        baseDelayMs: 200,
        maxDelayMs: 10000,
        retryAfterCapMs: 30000,
      },
      orderedByKey: false,
      concurrency: 16,
      deadLetterTopic: 'sidecast/deadletter/audit/trail',
    });
    const bytes = encodeSubscription({
      ...base,
      delivery: {
        url: 'https://audit:8443/e',
        timeout: '1.5s',
        retry: {
          attempts: 2,
          backoff: 'LINEAR',
          base_delay: '0.050s',
          max_delay: '2s',
          retry_after_cap: '3s',
        },
        ordered_by_key: true,
        concurrency: 3,
      },
      dead_letter_topic: 'acme/dlq/audit',
    });
    expect(decodeSubscription('audit/trail', bytes)).toMatchObject({
      timeoutMs: 1500,
      retry: { attempts: 2, backoff: 'linear', baseDelayMs: 50, maxDelayMs: 2000, retryAfterCapMs: 3000 },
      orderedByKey: true,
      concurrency: 3,
      deadLetterTopic: 'acme/dlq/audit',
    });
  });

  test('each problem names the resource and the field', () => {
    expect(problem({ service: '' })).toBe(
      'Subscription "audit/trail": service: is empty; set the subscribing mesh Service',
    );
    expect(problem({ topics: [] })).toContain('topics: is empty');
    expect(problem({ topics: ['ok/>', 'a//b'] })).toContain('topics[1]: invalid topic "a//b": empty level');
    expect(problem({ delivery: undefined })).toContain('delivery: is missing');
    expect(problem({ delivery: { url: '/events' } })).toContain(
      'delivery.url: "/events" is not an absolute URL',
    );
    expect(problem({ delivery: { url: 'http://x/', timeout: '0s' } })).toContain(
      'delivery.timeout: must be longer than 0ms',
    );
    expect(
      problem({ delivery: { url: 'http://x/', retry: { base_delay: '5s', max_delay: '1s' } } }),
    ).toContain('delivery.retry.max_delay: 1000ms is shorter than base_delay 5000ms');
    expect(problem({ delivery: { url: 'http://x/', retry: { attempts: 1000 } } })).toContain(
      'delivery.retry.attempts: 1000 exceeds 100',
    );
    expect(problem({ dead_letter_topic: 'acme/bank/account/dead' })).toContain(
      'dead_letter_topic: "acme/bank/account/dead" matches the subscription\'s own pattern "acme/bank/account/>"',
    );
    expect(problem({ dead_letter_topic: 'a/>' })).toContain('dead_letter_topic: invalid topic');
    expect(problem({ name: 'audit/other' })).toContain(
      'name: "audit/other" differs from the xDS resource name',
    );
  });

  test('bytes that are not a Subscription are reported as such', () => {
    expect(() => decodeSubscription('x/y', Buffer.from([0xff, 0xff, 0xff]))).toThrow(
      'Subscription "x/y": (message): not a valid sidecast.v1.Subscription protobuf',
    );
  });
});
