// GETs from the admin APIs of the xds-server and the bridge, with errors a user can act on:
// unreachable, refused (401: give the token), or any other answer.
import { CliError, EXIT } from './exit-codes.js';

export interface AdminRequest {
  token?: string;
  /** 'xds-server' or 'bridge', for the messages. */
  what: string;
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

export async function adminFetch(base: string, path: string, r: AdminRequest): Promise<Response> {
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new CliError(`${r.what} URL "${base}" is not a URL (e.g. http://127.0.0.1:18001)`, EXIT.usage);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: r.method ?? 'GET',
      headers: {
        ...(r.token ? { authorization: `Bearer ${r.token}` } : {}),
        ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
      signal: r.signal ?? AbortSignal.timeout(10_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(
      `cannot reach the ${r.what} at ${url.origin}: ${cause?.code ?? cause?.message ?? (e as Error).message} (is it running? give its admin address)`,
      EXIT.unavailable,
    );
  }
  if (res.status === 401)
    throw new CliError(
      `the ${r.what} at ${url.origin} wants its admin token: give --token (or SIDECAST_ADMIN_TOKEN)`,
      EXIT.unavailable,
    );
  if (!res.ok) {
    const text = await res.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* plain text answer */
    }
    throw new CliError(
      `${r.what} ${url.pathname} answered ${res.status}: ${msg.trim()}`,
      res.status === 404 ? EXIT.invalid : EXIT.unavailable,
    );
  }
  return res;
}

export async function fetchAdmin(base: string, path: string, r: AdminRequest): Promise<unknown> {
  return (await adminFetch(base, path, r)).json();
}
