// The HTTP status of an ingest answer (docs/broker-bridge.md, "Answer status"). Clients that look
// only at the status (curl -f, most SDKs, Knative's broker ingress convention) must never read a
// rejection as success, and a batch with a rejection must be told apart from a clean one.

import type { RejectCode } from '../validate/cloudevent.js';
import type { EventResult } from './service.js';

const STATUS_OF_CODE: Record<RejectCode, number> = {
  malformed: 400,
  missing_attribute: 400,
  bad_attribute: 400,
  bad_specversion: 400,
  bad_topic: 400,
  invalid_utf8: 400,
  oversize: 413,
  forbidden: 403,
  // Well-formed, but the configured broker cannot carry the topic / the data breaks its contract.
  unrepresentable: 422,
  schema: 422,
};

/**
 * 200 when every event was accepted. A single event: its rejection's status. A batch: 207 when
 * some were accepted and some rejected; when none was accepted, the status all rejections share,
 * else 400.
 */
export function answerStatus(results: EventResult[], batch: boolean): number {
  const codes = new Set<number>();
  let accepted = 0;
  for (const r of results) {
    if (r.status === 'accepted') accepted++;
    else codes.add(STATUS_OF_CODE[r.code]);
  }
  if (codes.size === 0) return 200;
  if (batch && accepted > 0) return 207;
  return codes.size === 1 ? [...codes][0]! : 400;
}

/** The JSON body: one `{id, status[, reason]}` per event, plus `error` for a rejected single event. */
export function answerBody(results: EventResult[], batch: boolean): object {
  const wire = results.map((r) =>
    r.status === 'accepted' ? r : { id: r.id, status: r.status, reason: r.reason },
  );
  const only = results.length === 1 ? results[0]! : undefined;
  return !batch && only?.status === 'rejected' ? { results: wire, error: only.reason } : { results: wire };
}
