// Subscription filters: CEL expressions over an event's CloudEvents attributes (each a variable:
// `type`, `source`, `subject`, `time`, extensions such as `topic` or `partitionkey`) and `data`,
// evaluated with @bufbuild/cel. An expression is parsed and planned once per subscription version
// (when its xDS resource is decoded); evaluation reads the structured event as it is, no copy.
//
// Evaluation semantics: only `true` matches. A missing attribute or data field (`data.region` on an
// event without it) makes the event not match — a filter is a question about the event, and "no
// such field" answers it with no. Other evaluation errors (wrong operand types, …) also do not
// match, and are told apart so they can be counted and logged.
import { celEnv, isCelError, parse, plan, type CelResult } from '@bufbuild/cel';

const env = celEnv();

export type FilterResult = 'match' | 'no_match' | 'error';

export interface CompiledFilter {
  /** The expression as written; also what makes two subscription versions equal or not. */
  readonly source: string;
  /** The outcome for one structured CloudEvent, and the error message when it is 'error'. */
  evaluate(ev: Record<string, unknown>): FilterResult;
  /** The last evaluation error's message (for logs), if any. */
  lastError(): string | undefined;
}

/** CEL errors that mean "the event has no such attribute or field". */
const ABSENT = /^(field not found|no such key|unresolved attribute)/;

/** Throws an Error with CEL's message (line:column and what it expected) when `source` does not parse. */
export function compileFilter(source: string): CompiledFilter {
  const run = plan(env, parse(source)) as (ctx: Record<string, unknown>) => CelResult;
  let last: string | undefined;
  const compiled: CompiledFilter = {
    source,
    evaluate(ev) {
      const r = run(ev);
      if (r === true) return 'match';
      if (r === false) return 'no_match';
      if (isCelError(r) && ABSENT.test(r.message)) return 'no_match';
      last = isCelError(r) ? r.message : `evaluates to ${typeof r}, not a bool`;
      return 'error';
    },
    lastError: () => last,
  };
  // JSON.stringify (used to compare subscription versions) sees only the source.
  Object.defineProperty(compiled, 'toJSON', { value: () => source });
  return compiled;
}
