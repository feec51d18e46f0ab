// The mesh as an AsyncAPI 3.0 document (a pure function of the validated model, like every other
// output): channels are topics (template placeholders become channel parameters; subscription
// wildcards too), one `send` operation per EventRoute, one `receive` per Subscription pattern,
// messages carrying the CloudEvents binary-mode headers (`ce-*`) the bridge delivers with and, where
// an EventRoute declares `event.dataSchema`, the payload schema.
import type { MeshConfig } from '../../xds-server/mesh/index.js';
import { templateMayMatch } from '../analyze/topics.js';

type Json = Record<string, unknown>;

const id = (s: string): string =>
  s
    .replace(/\{([^}]*)\}/g, '$1')
    .replace(/\*/g, 'any')
    .replace(/>/g, 'rest')
    .replace(/[^\w.-]+/g, '.');
const param = (placeholder: string): string => placeholder.replace(/[^A-Za-z0-9]+/g, '_');

/** A topic template or pattern as a channel address plus its parameters. */
function address(topic: string): { address: string; parameters: Record<string, Json> } {
  const parameters: Record<string, Json> = {};
  const levels = topic.split('/').map((level, i) => {
    if (level === '*') {
      const name = `level${i + 1}`;
      parameters[name] = { description: `any one topic level (subscription wildcard "*")` };
      return `{${name}}`;
    }
    if (level === '>') {
      parameters.rest = { description: 'one or more topic levels (subscription wildcard ">")' };
      return '{rest}';
    }
    return level.replace(/\{([^}]*)\}/g, (_m, p: string) => {
      parameters[param(p)] = { description: `the emitter's {${p}} for each call` };
      return `{${param(p)}}`;
    });
  });
  return { address: levels.join('/'), parameters };
}

function headers(route: MeshConfig['eventRoutes'][number], source: string): Json {
  const e = route.rule.event as Json;
  const props: Record<string, Json> = {
    'ce-specversion': { type: 'string', const: '1.0', description: 'CloudEvents spec version' },
    'ce-id': {
      type: 'string',
      description: 'event id: stable across retries (derived from Idempotency-Key when sent)',
    },
    'ce-source': {
      type: 'string',
      const: `${source}/${route.service}`,
      description: 'the producing service',
    },
    'ce-type': { type: 'string', const: e.type, description: 'CloudEvent type' },
    'ce-time': { type: 'string', format: 'date-time', description: 'when the call was answered' },
    'ce-topic': { type: 'string', description: `the sidecast topic (${String(e.topic)})` },
  };
  if (e.subject) props['ce-subject'] = { type: 'string', description: `from ${String(e.subject)}` };
  if (e.partitionkey)
    props['ce-partitionkey'] = {
      type: 'string',
      description: `ordering key, from ${String(e.partitionkey)}`,
    };
  props.traceparent = {
    type: 'string',
    description: 'W3C trace context copied from the request, when present',
  };
  return {
    type: 'object',
    required: ['ce-specversion', 'ce-id', 'ce-source', 'ce-type'],
    properties: props,
  };
}

function payload(route: MeshConfig['eventRoutes'][number]): Json {
  const e = route.rule.event as Json;
  const schema = (e.dataschema_json ?? e.data_schema ?? e.dataSchema) as Json | undefined;
  if (schema && typeof schema === 'object') return schema;
  const from = (e.data as Json | undefined)?.from ?? 'response_body';
  if (from === 'none') return { type: 'null', description: 'no data: the event carries attributes only' };
  return {
    description: `the ${String(from).replace('_', ' ')}${(e.data as Json | undefined)?.field ? ` field ${String((e.data as Json).field)}` : ''} as JSON (no dataSchema declared on EventRoute ${route.name})`,
  };
}

export function asyncApiDocument(mesh: MeshConfig, opts: { title?: string; version?: string } = {}): Json {
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const routeChannel = new Map<string, string>();

  for (const r of mesh.eventRoutes) {
    const e = r.rule.event as Json;
    const topic = String(e.topic);
    messages[r.name] = {
      name: String(e.type),
      title: `${String(e.type)} (EventRoute ${r.name})`,
      summary: `Emitted by the ${r.service} sidecar when a call matches EventRoute ${r.name}.`,
      contentType: 'application/json',
      headers: headers(r, mesh.mesh.source),
      payload: payload(r),
    };
    const chId = id(topic);
    routeChannel.set(r.name, chId);
    const ch = (channels[chId] ??= {
      ...address(topic),
      title: topic,
      description: `Topic ${topic}.`,
      messages: {},
    }) as { messages: Record<string, Json>; parameters: Json };
    if (Object.keys(ch.parameters).length === 0) delete (ch as Json).parameters;
    ch.messages[r.name] = { $ref: `#/components/messages/${r.name}` };
    operations[`send-${r.name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${chId}` },
      summary: `${r.service} emits ${String(e.type)}`,
      description: `The ${r.service} sidecar's event-emitter turns a matching call into this event (${String(e.delivery ?? 'async')} delivery) and sends it to the broker-bridge.`,
      messages: [{ $ref: `#/channels/${chId}/messages/${r.name}` }],
    };
  }

  for (const s of mesh.subscriptions)
    s.topics.forEach((pattern, i) => {
      const feeding = mesh.eventRoutes.filter((r) =>
        templateMayMatch(String((r.rule.event as Json).topic), pattern),
      );
      const exact = feeding.length === 1 && String((feeding[0]!.rule.event as Json).topic) === pattern;
      const chId = exact ? routeChannel.get(feeding[0]!.name)! : id(pattern);
      if (!exact && !channels[chId]) {
        const ch: Json = {
          ...address(pattern),
          title: pattern,
          description: `Subscription pattern ${pattern}: the topics of ${feeding.map((r) => r.name).join(', ') || 'no EventRoute (events published straight to the bridge)'}.`,
          messages: Object.fromEntries(
            feeding.map((r) => [r.name, { $ref: `#/components/messages/${r.name}` }]),
          ),
        };
        if (Object.keys(ch.parameters as Json).length === 0) delete ch.parameters;
        channels[chId] = ch;
      }
      const d = s.delivery;
      operations[s.topics.length === 1 ? `receive-${s.name}` : `receive-${s.name}-${i + 1}`] = {
        action: 'receive',
        channel: { $ref: `#/channels/${chId}` },
        summary: `${s.service} receives ${pattern}`,
        description: `Subscription ${s.name}: the broker-bridge delivers each event as an HTTP POST in CloudEvents binary mode to ${s.service} ${d.path}${d.deadLetterTopic ? `; undeliverable events go to ${d.deadLetterTopic}` : ''}${d.orderByKey ? '; in order per partition key' : ''}.`,
        messages: feeding.map((r) => ({ $ref: `#/channels/${chId}/messages/${r.name}` })),
      };
    });

  const b = mesh.mesh.bridge;
  return {
    asyncapi: '3.0.0',
    info: {
      title: opts.title ?? `${mesh.mesh.name} event mesh`,
      version: opts.version ?? '1.0.0',
      description: `Events of the ${mesh.mesh.name} mesh, generated by \`sidecast asyncapi\` from ${mesh.files.length} mesh file(s). Producers are sidecars running sidecast's event-emitter; consumers receive through the broker-bridge.`,
    },
    defaultContentType: 'application/json',
    servers: {
      bridge: {
        host: `${b.host}:${b.port}`,
        pathname: b.path,
        protocol: 'http',
        description: 'sidecast broker-bridge: CloudEvents ingest from sidecars, delivery to subscribers',
      },
    },
    channels,
    operations,
    components: { messages },
  };
}
