// Tracing switches on only from the standard OTEL_* environment, and refuses values it cannot honour.
import { describe, expect, test } from '@jest/globals';
import {
  tracesExportersFromEnv,
  samplerFromEnv,
  tracingFromEnv,
} from '../../../broker-bridge/tracing/setup.js';

describe('tracing from the OTEL_* environment', () => {
  test('off by default: no provider, nothing to shut down', () => {
    expect(tracesExportersFromEnv({})).toEqual([]);
    expect(tracingFromEnv({})).toBeNull();
  });

  test('on with OTEL_TRACES_EXPORTER or an OTLP endpoint; OTEL_SDK_DISABLED and "none" win', () => {
    expect(tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(['otlp']);
    expect(tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'otlp, console' })).toEqual(['otlp', 'console']);
    expect(tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual([
      'otlp',
    ]);
    expect(tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toEqual(
      ['otlp'],
    );
    expect(
      tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' }),
    ).toEqual([]);
    expect(tracesExportersFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toEqual([]);
  });

  test('an exporter or sampler the bridge does not know is an error naming the variable', () => {
    expect(() => tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
      /OTEL_TRACES_EXPORTER=zipkin: .*not zipkin/,
    );
    expect(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(
      /OTEL_TRACES_SAMPLER=sometimes/,
    );
    expect(() =>
      samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG=2/);
  });

  test('samplers follow OTEL_TRACES_SAMPLER (default parent-based always on)', () => {
    expect(samplerFromEnv({}).toString()).toMatch(/ParentBased\{root=AlwaysOnSampler/);
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }).toString()).toBe('AlwaysOffSampler');
    expect(
      samplerFromEnv({
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      }).toString(),
    ).toMatch(/TraceIdRatioBased\{0\.25\}/);
  });
});
