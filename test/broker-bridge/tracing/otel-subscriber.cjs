// A subscriber as an unmodified service would run it: a plain node:http server in its own process,
// traced by OpenTelemetry's HTTP auto-instrumentation (registered before node:http is loaded, the
// usual `--require` way). It answers 204 and sends every span it ends to its parent over IPC.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: the HTTP instrumentation must hook require('node:http') before the server loads it */
const { context, propagation, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { TracerProvider } = require('@opentelemetry/sdk-trace');

const toParent = {
  onStart() {},
  onEnd(span) {
    process.send({
      span: {
        name: span.name,
        kind: span.kind,
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        parentSpanId: span.parentSpanContext ? span.parentSpanContext.spanId : undefined,
        attributes: span.attributes,
      },
    });
  },
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [toParent] }));
registerInstrumentations({ instrumentations: [new HttpInstrumentation()] });

const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204);
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('disconnect', () => server.close(() => process.exit(0)));
