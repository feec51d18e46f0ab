// Tracing is off unless the standard OpenTelemetry environment asks for it: OTEL_TRACES_EXPORTER
// (otlp | console) or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT), and not
// OTEL_SDK_DISABLED=true. The sampler comes from OTEL_TRACES_SAMPLER(_ARG), the resource from
// OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, and the OTLP exporter reads its own
// OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout, compression).
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';

export interface TracingSetup {
  provider: TracerProvider;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** Which exporters the environment asks for; [] = tracing off. */
export function tracesExportersFromEnv(env: Env): Array<'otlp' | 'console'> {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return [];
  const named = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (named.length === 0)
    return env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? ['otlp'] : [];
  if (named.includes('none')) return [];
  const unknown = named.filter((n) => n !== 'otlp' && n !== 'console');
  if (unknown.length > 0)
    throw new Error(
      `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: the bridge supports "otlp", "console" and "none", not ${unknown.join(', ')}`,
    );
  return named as Array<'otlp' | 'console'>;
}

/** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on). */
export function samplerFromEnv(env: Env): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  const arg = env.OTEL_TRACES_SAMPLER_ARG;
  const ratio = (): number => {
    const r = arg === undefined || arg.trim() === '' ? 1 : Number(arg);
    if (!(r >= 0 && r <= 1))
      throw new Error(`OTEL_TRACES_SAMPLER_ARG=${arg}: a ratio between 0 and 1 is needed for ${name}`);
    return r;
  };
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio());
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      throw new Error(
        `OTEL_TRACES_SAMPLER=${env.OTEL_TRACES_SAMPLER} is not one the bridge knows (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)`,
      );
  }
}

/**
 * A tracer provider built from the OTEL_* environment, or null when tracing is off. `processors`
 * replace the exporters the environment names (tests pass an in-memory exporter's processor).
 */
export function tracingFromEnv(env: Env = process.env, processors?: SpanProcessor[]): TracingSetup | null {
  const kinds = tracesExportersFromEnv(env);
  if (!processors && kinds.length === 0) return null;
  const exporters: SpanExporter[] = kinds.map((k) =>
    k === 'otlp' ? new OTLPTraceExporter() : new ConsoleSpanExporter(),
  );
  const resource = resourceFromAttributes({ 'service.name': 'sidecast-bridge' }).merge(
    detectResources({ detectors: [envDetector] }),
  );
  const provider = new TracerProvider({
    resource,
    sampler: samplerFromEnv(env),
    spanProcessors: processors ?? exporters.map((exporter) => new BatchSpanProcessor({ exporter })),
  });
  return { provider, shutdown: () => provider.shutdown() };
}
