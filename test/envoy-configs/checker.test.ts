// proto/check.ts on its own: proto3 JSON rules, well-known types, oneofs, PGV subset, wire checks.
import { describe, expect, it } from '@jest/globals';
import protobuf from 'protobufjs';
import { ProtoCheckError } from '../../proto/check.js';
import { envoyChecker } from '../../proto/envoy.js';
import { decodeSubscription, encodeSubscription } from '../../proto/sidecast.js';

const c = envoyChecker();
const issues = (type: string, json: unknown): string[] => {
  try {
    c.encode(type, json, 'test');
  } catch (e) {
    if (e instanceof ProtoCheckError) return e.issues.map((i) => `${i.path}: ${i.reason}`);
    throw e;
  }
  return [];
};
const roundTrip = (type: string, json: unknown) => c.decode(type, c.encode(type, json, 'test'), 'test');

const SOCKET = 'envoy.config.core.v3.SocketAddress';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';

describe('ProtoChecker', () => {
  it('accepts snake_case and lowerCamelCase names, but not both for one field', () => {
    expect(roundTrip(SOCKET, { address: '1.2.3.4', portValue: 80 })).toEqual({
      address: '1.2.3.4',
      port_value: 80,
    });
    expect(issues(SOCKET, { address: 'a', port_value: 1, portValue: 2 })).toEqual([
      'portValue: field "port_value" given twice (as snake_case and camelCase)',
    ]);
  });

  it('reads durations, wrappers, 64-bit integers given as strings, enums by name or number', () => {
    const json = {
      name: 'c',
      connect_timeout: '0.25s',
      per_connection_buffer_limit_bytes: 32768,
      type: 1,
      lb_policy: 'LEAST_REQUEST',
      load_assignment: { cluster_name: 'c', policy: { overprovisioning_factor: 140 } },
      circuit_breakers: { thresholds: [{ max_connections: '5' }] },
      lrs_server: { self: {} },
    };
    const out = roundTrip(CLUSTER, json);
    expect(out).toMatchObject({
      connect_timeout: '0.25s',
      per_connection_buffer_limit_bytes: 32768,
      type: 'STRICT_DNS',
      lb_policy: 'LEAST_REQUEST',
    });
    expect(out.circuit_breakers).toEqual({ thresholds: [{ max_connections: 5 }] });
    expect(issues(CLUSTER, { name: 'c', type: 99 })).toEqual([
      expect.stringMatching(/^type: invalid .*DiscoveryType value 99/),
    ]);
  });

  it('rejects two members of a oneof and a missing required oneof', () => {
    expect(
      issues(CLUSTER, {
        name: 'c',
        type: 'EDS',
        cluster_type: { name: 'x', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } },
      }),
    ).toEqual([': set only one of type, cluster_type (oneof cluster_discovery_type)']);
    expect(issues(SOCKET, { address: 'a' })).toEqual([': one of port_value, named_port is required']);
  });

  it('keeps Struct and Value contents, with map keys sorted so equal input gives equal bytes', () => {
    const node = (metadata: object) => c.encode('envoy.config.core.v3.Node', { id: 'n', metadata }, 'node');
    const a = node({ b: 1, a: { x: [true, null, 'y'] } });
    const b = node({ a: { x: [true, null, 'y'] }, b: 1 });
    expect(Buffer.from(a)).toEqual(Buffer.from(b));
    expect(c.decode('envoy.config.core.v3.Node', a, 'node').metadata).toEqual({
      a: { x: [true, null, 'y'] },
      b: 1,
    });
  });

  it('reports bytes that carry a field number the type does not have, instead of dropping it', () => {
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 2).string('1.2.3.4'); // address
    w.uint32((3 << 3) | 0).uint32(80); // port_value
    w.uint32((42 << 3) | 0).uint32(7); // not a SocketAddress field
    expect(() => c.decode(SOCKET, w.finish(), 'raw')).toThrow(
      /unknown field number 42 in envoy.config.core.v3.SocketAddress/,
    );
  });

  it('reports an Any whose type is not loaded, and truncated bytes', () => {
    const any = protobuf.Writer.create();
    any.uint32((1 << 3) | 2).string('x');
    any
      .uint32((2 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string('type.googleapis.com/not.a.Type')
      .ldelim();
    expect(() => c.decode('envoy.config.core.v3.TypedExtensionConfig', any.finish(), 'ecds')).toThrow(
      /typed_config: Any holds type "type.googleapis.com\/not.a.Type", which is not known/,
    );
    const full = c.encode(SOCKET, { address: '1.2.3.4', port_value: 80 }, 's');
    expect(() => c.decode(SOCKET, full.subarray(0, full.length - 3), 'cut')).toThrow(ProtoCheckError);
  });

  it('encodes and decodes sidecast.v1.Subscription strictly', () => {
    const s = {
      name: 'a/b',
      service: 'a',
      topics: ['x/>'],
      delivery: { url: 'http://h/e', timeout: '1.5s', retry: { backoff: 'LINEAR' as const } },
    };
    expect(decodeSubscription(encodeSubscription(s))).toEqual(s);
    expect(() => encodeSubscription({ ...s, delivery: { ...s.delivery, timout: '1s' } as never })).toThrow(
      /delivery.timout: unknown field "timout" in sidecast.v1.Delivery \(did you mean "timeout"\?\)/,
    );
  });
});
