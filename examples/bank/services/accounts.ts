// accounts: the request/reply service whose `POST /accounts → 201` its sidecar turns into an event.
import { randomUUID } from 'node:crypto';
import { serve, type Reply, type RunningService } from './http-service.js';

/** How many Idempotency-Keys accounts remembers (oldest forgotten first). */
const KEYS_KEPT = 10_000;

export function startAccounts(
  port: number,
  log: (line: string) => void = console.log,
): Promise<RunningService> {
  const accounts = new Map<string, unknown>();
  // Idempotency-Key: a retry (same key, same body) gets the first answer again, the same account,
  // and its sidecar gives the event the same id; the same key with another body is a conflict (409).
  const byKey = new Map<string, { body: string; reply: Reply }>();
  const open = (body: string): Reply => {
    let input: { owner?: unknown; ssn?: unknown };
    try {
      input = JSON.parse(body || '{}') as typeof input;
    } catch {
      return { status: 400, json: { error: 'body must be JSON like {"owner":"Ada"}' } };
    }
    if (typeof input.owner !== 'string' || input.owner === '')
      return { status: 400, json: { error: 'field "owner" (string) is required' } };
    const account = {
      id: `acc-${randomUUID().slice(0, 8)}`,
      owner: input.owner,
      ssn: input.ssn,
      balance: 0,
      openedAt: new Date().toISOString(),
    };
    accounts.set(account.id, account);
    log(`accounts: opened ${account.id} for ${account.owner}`);
    return { status: 201, json: account };
  };
  return serve('accounts', port, {
    'POST /accounts': ({ headers, body }) => {
      const key = headers['idempotency-key'];
      if (typeof key !== 'string') return open(body);
      const seen = byKey.get(key);
      if (seen)
        return seen.body === body
          ? seen.reply
          : {
              status: 409,
              json: {
                error: `Idempotency-Key "${key}" was already used for another request; send a new key`,
              },
            };
      const reply = open(body);
      if (reply.status === 201) {
        byKey.set(key, { body, reply });
        if (byKey.size > KEYS_KEPT) byKey.delete(byKey.keys().next().value!);
      }
      return reply;
    },
    'GET /healthz': () => ({ status: 200, json: { ok: true, accounts: accounts.size } }),
  });
}
