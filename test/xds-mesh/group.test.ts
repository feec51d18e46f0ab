import { describe, expect, it } from '@jest/globals';
import { groupOf } from '../../xds-server/mesh/index.js';

const struct = (fields: Record<string, string>, key: 'string_value' | 'stringValue' = 'string_value') => ({
  fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { [key]: v, kind: key }])),
});

describe('groupOf', () => {
  it('prefers metadata sidecast.service, then cluster, then id', () => {
    expect(groupOf({ id: 'pod-1', cluster: 'c', metadata: struct({ 'sidecast.service': 'accounts' }) })).toBe(
      'accounts',
    );
    expect(
      groupOf({
        id: 'pod-1',
        cluster: 'c',
        metadata: struct({ 'sidecast.service': 'accounts' }, 'stringValue'),
      }),
    ).toBe('accounts');
    expect(groupOf({ id: 'pod-1', cluster: 'c', metadata: { 'sidecast.service': 'accounts' } })).toBe(
      'accounts',
    );
    expect(groupOf({ id: 'pod-1', cluster: 'audit' })).toBe('audit');
    expect(groupOf({ id: 'analytics', cluster: '' })).toBe('analytics');
  });

  it('sends bridges to sidecast-bridge by role or id prefix', () => {
    expect(
      groupOf({ id: 'x', metadata: struct({ 'sidecast.role': 'bridge', 'sidecast.service': 'accounts' }) }),
    ).toBe('sidecast-bridge');
    expect(groupOf({ id: 'sidecast-bridge-0', cluster: 'whatever' })).toBe('sidecast-bridge');
  });

  it('sends proxyless gRPC clients to proxyless/<service>', () => {
    expect(groupOf({ id: 'c1', cluster: 'accounts', user_agent_name: 'gRPC Node Pure JS' })).toBe(
      'proxyless/accounts',
    );
    expect(
      groupOf({ id: 'c1', userAgentName: 'gRPC Go', metadata: struct({ 'sidecast.service': 'audit' }) }),
    ).toBe('proxyless/audit');
    expect(
      groupOf({ id: 'c1', cluster: 'accounts', metadata: struct({ 'sidecast.role': 'proxyless' }) }),
    ).toBe('proxyless/accounts');
    expect(groupOf({ id: 'c1', cluster: 'accounts', user_agent_name: 'envoy' })).toBe('accounts');
  });
});
