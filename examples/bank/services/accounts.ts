// accounts: the request/reply service whose `POST /accounts → 201` its sidecar turns into an event.
import { randomUUID } from 'node:crypto';
import { serve, type RunningService } from './http-service.js';

export function startAccounts(
  port: number,
  log: (line: string) => void = console.log,
): Promise<RunningService> {
  const accounts = new Map<string, unknown>();
  return serve('accounts', port, {
    'POST /accounts': ({ body }) => {
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
    },
    'GET /healthz': () => ({ status: 200, json: { ok: true, accounts: accounts.size } }),
  });
}
