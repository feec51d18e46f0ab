// Pushing an image over the OCI distribution API (distribution-spec v1.1): blobs by monolithic
// POST+PUT upload (skipped when HEAD finds them), then the manifest by tag. Authentication follows
// the registry's challenge: `WWW-Authenticate: Basic` → basic credentials; `Bearer realm=…,
// service=…,scope=…` → a token from the realm (with the credentials, if any), per the Docker token
// protocol. HTTPS by default (an extra CA may be given); plain HTTP only when asked.
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import type { Blob, WasmImage } from './wasm-image.js';

export interface ImageRef {
  registry: string;
  repository: string;
  tag: string;
}

export interface RegistryOptions {
  username?: string;
  password?: string;
  /** Talk plain HTTP (local registries only). */
  plainHttp?: boolean;
  /** PEM file of a CA to trust in addition to the system's (self-signed registries). */
  caFile?: string;
}

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** `host[:port]/repo/path[:tag]` (no scheme; tag defaults to "latest"). */
export function parseRef(ref: string): ImageRef {
  const m =
    /^([^/\s]+\.[^/\s]*|[^/\s]+:\d+|localhost)\/([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127}))?$/.exec(
      ref,
    );
  if (!m)
    throw new RegistryError(
      `image reference "${ref}" must be <registry host[:port]>/<repository>[:tag], e.g. 127.0.0.1:5000/sidecast/event-emitter:0.1.0`,
    );
  return { registry: m[1]!, repository: m[2]!, tag: m[3] ?? 'latest' };
}

/** `oci://registry/repo@sha256:…` — the form WasmPlugin.spec.url pins. */
export const pinnedUrl = (ref: ImageRef, digest: string): string =>
  `oci://${ref.registry}/${ref.repository}@${digest}`;

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

function parseChallenge(header: string | null): Challenge | undefined {
  const m = header ? /^(Basic|Bearer)\s*(.*)$/i.exec(header) : null;
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const [, k, v] of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[k!] = v!;
  return { scheme: m[1]!.toLowerCase() as Challenge['scheme'], params };
}

export class RegistryClient {
  private readonly base: string;
  private readonly dispatcher: Agent;
  private authorization: string | undefined;

  constructor(
    private readonly ref: ImageRef,
    private readonly options: RegistryOptions = {},
  ) {
    this.base = `${options.plainHttp ? 'http' : 'https'}://${ref.registry}`;
    const ca = options.caFile ? readFileSync(options.caFile, 'utf8') : undefined;
    this.dispatcher = new Agent({ connect: ca ? { ca } : {} });
  }

  /** Pushes config, layer and manifest; returns the manifest digest the registry computed. */
  async push(image: WasmImage): Promise<string> {
    for (const b of [image.config, image.layer]) await this.pushBlob(b);
    const res = await this.request('PUT', `/v2/${this.ref.repository}/manifests/${this.ref.tag}`, {
      body: image.manifest.bytes,
      headers: { 'content-type': image.manifest.mediaType },
    });
    await this.expect(res, [201], `manifest ${this.ref.repository}:${this.ref.tag}`);
    const digest = res.headers.get('docker-content-digest') ?? image.manifest.digest;
    if (digest !== image.manifest.digest)
      throw new RegistryError(
        `registry ${this.ref.registry} stored the manifest as ${digest}, but its bytes hash to ${image.manifest.digest}; it rewrote the manifest`,
      );
    return digest;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async pushBlob(b: Blob): Promise<void> {
    const path = `/v2/${this.ref.repository}/blobs/${b.digest}`;
    const head = await this.request('HEAD', path);
    if (head.status === 200) return;
    await head.body?.cancel();
    const start = await this.request('POST', `/v2/${this.ref.repository}/blobs/uploads/`);
    await this.expect(start, [202], `upload of ${b.digest}`);
    const location = start.headers.get('location');
    if (!location)
      throw new RegistryError(`registry ${this.ref.registry} started an upload without a Location header`);
    const url = new URL(location, this.base);
    url.searchParams.set('digest', b.digest);
    const put = await this.request('PUT', url.pathname + url.search, {
      body: b.bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    await this.expect(put, [201], `blob ${b.digest} (${b.mediaType})`);
  }

  private async request(
    method: string,
    path: string,
    init: { body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const send = () =>
      fetch(`${this.base}${path}`, {
        method,
        body: init.body,
        headers: { ...init.headers, ...(this.authorization ? { authorization: this.authorization } : {}) },
        dispatcher: this.dispatcher,
      }).catch((e: Error & { cause?: Error }) => {
        throw new RegistryError(
          `cannot reach registry ${this.base}: ${e.cause?.message ?? e.message}${this.options.plainHttp ? '' : ' (for a plain-HTTP local registry pass --plain-http; for a self-signed one --ca-file)'}`,
        );
      });
    const res = await send();
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    await res.body?.cancel();
    if (!challenge)
      throw new RegistryError(
        `registry ${this.ref.registry} answered 401 without a usable WWW-Authenticate challenge`,
      );
    const had = this.authorization;
    this.authorization = await this.authorize(challenge);
    if (this.authorization === had)
      throw new RegistryError(
        `registry ${this.ref.registry} refused the credentials for ${method} ${path} (HTTP 401); check the username/password`,
      );
    return send();
  }

  private async authorize(c: Challenge): Promise<string> {
    const { username, password } = this.options;
    const basic =
      username !== undefined
        ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`
        : undefined;
    if (c.scheme === 'basic') {
      if (!basic)
        throw new RegistryError(
          `registry ${this.ref.registry} wants basic authentication: give --username and a password`,
        );
      return basic;
    }
    if (!c.params.realm)
      throw new RegistryError(`registry ${this.ref.registry} sent a Bearer challenge without a realm`);
    const url = new URL(c.params.realm);
    if (c.params.service) url.searchParams.set('service', c.params.service);
    url.searchParams.set('scope', c.params.scope ?? `repository:${this.ref.repository}:pull,push`);
    const res = await fetch(url, {
      headers: basic ? { authorization: basic } : {},
      dispatcher: this.dispatcher,
    });
    if (!res.ok)
      throw new RegistryError(
        `token service ${url.origin} refused ${username ? `user "${username}"` : 'anonymous access'} (${res.status}); check the credentials and push rights on ${this.ref.repository}`,
      );
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`token service ${url.origin} answered without a token`);
    return `Bearer ${token}`;
  }

  private async expect(res: Response, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) {
      await res.body?.cancel();
      return;
    }
    const text = (await res.text()).slice(0, 500);
    const hint =
      res.status === 401 || res.status === 403 ? ' (check the username/password and push rights)' : '';
    throw new RegistryError(
      `registry ${this.ref.registry} refused ${what}: HTTP ${res.status}${hint} ${text}`.trim(),
    );
  }
}

/** Pushes `image` to `ref` and returns the `oci://…@sha256:…` URL to pin. */
export async function pushWasmImage(
  ref: string,
  image: WasmImage,
  options: RegistryOptions = {},
): Promise<{ digest: string; url: string }> {
  const parsed = parseRef(ref);
  const client = new RegistryClient(parsed, options);
  try {
    const digest = await client.push(image);
    return { digest, url: pinnedUrl(parsed, digest) };
  } finally {
    await client.close();
  }
}
