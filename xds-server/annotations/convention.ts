// The annotation convention on Kubernetes route objects (docs/event-emitter.md, "Kubernetes routes"):
//
//   metadata.annotations:
//     events.sidecast.io/<rule>: |          # <rule> = the rule's name (HTTPRoute rules[].name,
//       type: acme.bank.account.opened.v1   #   VirtualService http[].name) or its index ("0")
//       topic: acme/bank/account/opened/v1
//       status: [201]
//
// One annotation per route rule, keyed like Gateway API's sectionName targets a rule, its value the
// event rule in YAML or JSON with the fields of an EventRoute's `event` plus `status` — the same
// shape as an Envoy route's `sidecast.io/event` metadata. The rule's own matches and backends say
// which requests and which service; nothing is restated.
import { parse } from 'yaml';

export const ANNOTATION_PREFIX = 'events.sidecast.io/';

/** The kinds of objects whose rules can be annotated, and what a rule is called in each. */
export type RouteKind = 'HTTPRoute' | 'VirtualService';

/** One annotated rule found on an object: the key's suffix and its parsed value. */
export interface RuleAnnotation {
  /** The full annotation key, for messages. */
  key: string;
  /** What follows the prefix: a rule name or an index. */
  rule: string;
  value: unknown;
  /** Set when the value is not YAML/JSON of an object. */
  error?: string;
}

/** The object's `events.sidecast.io/*` annotations, parsed. */
export function ruleAnnotations(annotations: Record<string, string> | undefined): RuleAnnotation[] {
  const out: RuleAnnotation[] = [];
  for (const [key, text] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const rule = key.slice(ANNOTATION_PREFIX.length);
    try {
      const value: unknown = parse(text, { uniqueKeys: true });
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        out.push({
          key,
          rule,
          value,
          error: 'must be a YAML or JSON object like {type: …, topic: …, status: [201]}',
        });
      else out.push({ key, rule, value });
    } catch (err) {
      out.push({
        key,
        rule,
        value: undefined,
        error: `is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`,
      });
    }
  }
  return out;
}
