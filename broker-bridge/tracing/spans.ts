// The bridge's spans, after the OpenTelemetry messaging and CloudEvents semantic conventions:
//   receive <topic>  CONSUMER  ingest took the event from a producer (child of the event's traceparent)
//   send <topic>     PRODUCER  the event handed to the broker, until the broker acknowledged it
//   process <topic>  CONSUMER  one subscription's delivery of the event, all attempts (child of the
//                              event's traceparent: the producer's creation context)
//   POST             CLIENT    one HTTP attempt to the subscriber; its context goes out as W3C traceparent
// A dead-lettered event's process span has status ERROR and error.type = the dead-letter cause, with a
// child `send <dead-letter topic>` span. Nothing here runs when tracing is off: callers hold a
// BridgeTracing or undefined and take one branch.
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TracerProvider,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  get: (carrier: Record<string, unknown>, key: string) => {
    const v = carrier[key];
    return typeof v === 'string' ? v : undefined;
  },
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
};
const headerSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};

/** The broker's `messaging.system` value (semconv well-known names where one exists). */
export function messagingSystem(brokerKind: string): string {
  return brokerKind === 'embedded' ? 'sidecast' : brokerKind;
}

/** The context a CloudEvent's `traceparent`/`tracestate` extensions name (its creation context), or the root. */
export function eventContext(ev: Record<string, unknown>): Context {
  if (typeof ev.traceparent !== 'string') return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, ev, headerGetter);
}

/** CloudEvents semconv attributes of one event. */
export function cloudEventAttributes(ev: Record<string, unknown>): Attributes {
  const a: Attributes = {
    'cloudevents.event_id': String(ev.id),
    'cloudevents.event_source': String(ev.source),
    'cloudevents.event_type': String(ev.type),
    'cloudevents.event_spec_version': String(ev.specversion),
    'messaging.message.id': String(ev.id),
  };
  if (typeof ev.subject === 'string') a['cloudevents.event_subject'] = ev.subject;
  return a;
}

export function failSpan(span: Span, errorType: string, message: string): void {
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

export function endWithError(span: Span, errorType: string, message: string): void {
  failSpan(span, errorType, message);
  span.end();
}

export interface AttemptSpan {
  /** Ends the attempt with its HTTP status (0 = no response) and the error type when it failed. */
  end(status: number, errorType?: string, message?: string): void;
}

export class BridgeTracing {
  readonly tracer: Tracer;

  constructor(
    provider: TracerProvider,
    private readonly brokerKind: string,
  ) {
    this.tracer = provider.getTracer('sidecast-bridge');
  }

  /** Ingest: one span per event received from a producer. */
  receive(ev: Record<string, unknown>, topic: string, transport: 'http' | 'grpc'): Span {
    return this.tracer.startSpan(
      `receive ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'sidecast',
          'messaging.operation.name': 'receive',
          'messaging.operation.type': 'receive',
          'messaging.destination.name': topic,
          'network.protocol.name': transport,
          ...cloudEventAttributes(ev),
        },
      },
      eventContext(ev),
    );
  }

  /** The broker publish of one event, child of its receive span (or of `parent`). */
  send(parent: Span | Context, topic: string, id: string, extra: Attributes = {}): Span {
    const ctx = isSpan(parent) ? trace.setSpan(ROOT_CONTEXT, parent) : parent;
    return this.tracer.startSpan(
      `send ${topic}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': messagingSystem(this.brokerKind),
          'messaging.operation.name': 'send',
          'messaging.operation.type': 'send',
          'messaging.destination.name': topic,
          'messaging.message.id': id,
          ...extra,
        },
      },
      ctx,
    );
  }

  /** One subscription's delivery of one event (all attempts), child of the event's creation context. */
  process(
    ev: Record<string, unknown>,
    topic: string,
    subscription: string,
    consumerGroup: string,
    deliveryCount: number,
  ): Span {
    return this.tracer.startSpan(
      `process ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': messagingSystem(this.brokerKind),
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'messaging.destination.name': topic,
          'messaging.destination.subscription.name': subscription,
          'messaging.consumer.group.name': consumerGroup,
          'sidecast.broker.delivery_count': deliveryCount,
          ...cloudEventAttributes(ev),
        },
      },
      eventContext(ev),
    );
  }

  /**
   * One HTTP attempt, child of `process`; writes its W3C traceparent/tracestate into `headers` so the
   * subscriber's own tracing continues from this span.
   */
  attempt(process: Span, url: URL, attempt: number, headers: Record<string, string>): AttemptSpan {
    const span = this.tracer.startSpan(
      'POST',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'POST',
          'url.full': url.href,
          'server.address': url.hostname,
          'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          ...(attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : {}),
        },
      },
      trace.setSpan(ROOT_CONTEXT, process),
    );
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, headerSetter);
    return {
      end: (status, errorType, message) => {
        if (status > 0) span.setAttribute('http.response.status_code', status);
        if (errorType) failSpan(span, errorType, message ?? errorType);
        span.end();
      },
    };
  }
}

function isSpan(x: Span | Context): x is Span {
  return typeof (x as Span).spanContext === 'function';
}
