// Producer authentication and per-producer topic ACLs. A producer is named in config with the
// credentials that identify it (bearer tokens, mTLS identities) and the sidecast topic patterns it
// may publish to. Unauthenticated ingest exists only when `allowUnauthenticated` is set.

import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { matches, parsePattern } from '../../common/topic.js';
import { IngestRequestError } from '../validate/request-errors.js';
import { forwardedIdentities } from './xfcc.js';

export interface ProducerConfig {
  name: string;
  /** Bearer tokens (Authorization: Bearer <token>). */
  tokens?: string[];
  /**
   * mTLS identities: a SAN URI (spiffe://…), SAN DNS name or subject CN of the client certificate,
   * or the SPIFFE ID an Istio sidecar forwards (forwardedClientCert). `*` stands for one path
   * segment: spiffe://cluster.local/ns/bank/sa/<*> (without the brackets) is every service
   * account of namespace bank.
   */
  identities?: string[];
  /** Topic patterns this producer may publish to ('*' one level, '>' the rest). */
  topics: string[];
}

export interface AuthConfig {
  /** Accept requests without credentials as producer "anonymous" (local/dev use). */
  allowUnauthenticated: boolean;
  /** Topics the anonymous producer may publish to (default: all). */
  anonymousTopics?: string[];
  producers: ProducerConfig[];
  /**
   * Trust x-forwarded-client-cert as set by the bridge's own Istio sidecar (docs/kubernetes.md,
   * threat model). Off by default: without a sidecar that strips and sets it, anyone could claim
   * any identity with a header.
   */
  forwardedClientCert?: {
    trust: boolean;
    /** Accept only elements whose By= is one of these (the bridge's own SPIFFE ID). */ by?: string[];
  };
}

export interface Credentials {
  authorization?: string | undefined;
  /** Verified client certificate (TLS already checked it against the configured CA). */
  peerCertificate?: PeerCertificate | null | undefined;
  /** x-forwarded-client-cert, used only when auth.forwardedClientCert.trust is set. */
  forwardedClientCert?: string | string[] | undefined;
}

export class Producer {
  private readonly patterns: string[][];
  constructor(
    readonly name: string,
    readonly topics: string[],
  ) {
    this.patterns = topics.map(parsePattern);
  }

  canPublish(topic: string): boolean {
    const levels = topic.split('/');
    return this.patterns.some((p) => matches(p, levels));
  }
}

const hash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Identities a client certificate speaks for: SAN URIs and DNS names, then the subject CN. */
export function certificateIdentities(cert: PeerCertificate): string[] {
  const ids: string[] = [];
  for (const part of (cert.subjectaltname ?? '').split(',')) {
    const m = /^\s*(URI|DNS):(.+)$/.exec(part);
    if (m) ids.push(m[2]!.trim());
  }
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') ids.push(cn);
  return ids;
}

// An identity with `*` (one path segment, e.g. every service account of a namespace) → a regex.
function identityPattern(id: string): RegExp {
  const escaped = id.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('[^/]+')}$`);
}

export class Authenticator {
  // Tokens are looked up by their SHA-256, so the map never holds or compares raw secrets.
  private readonly byToken = new Map<string, Producer>();
  private readonly byIdentity = new Map<string, Producer>();
  private readonly identityPatterns: [RegExp, Producer][] = [];
  private readonly anonymous: Producer | null;
  private readonly xfcc: AuthConfig['forwardedClientCert'];

  constructor(cfg: AuthConfig) {
    cfg.producers.forEach((p, i) => {
      const where = `auth.producers[${i}] (${p.name})`;
      let producer: Producer;
      try {
        producer = new Producer(p.name, p.topics);
      } catch (e) {
        throw new Error(`${where}.topics: ${(e as Error).message}`);
      }
      for (const t of p.tokens ?? []) {
        if (this.byToken.has(hash(t)))
          throw new Error(
            `${where}.tokens: token already used by producer "${this.byToken.get(hash(t))!.name}"`,
          );
        this.byToken.set(hash(t), producer);
      }
      for (const id of p.identities ?? []) {
        if (id.includes('*')) this.identityPatterns.push([identityPattern(id), producer]);
        else this.byIdentity.set(id, producer);
      }
    });
    this.xfcc = cfg.forwardedClientCert;
    this.anonymous = cfg.allowUnauthenticated
      ? new Producer('anonymous', cfg.anonymousTopics ?? ['>'])
      : null;
  }

  /** The producer behind a request; throws 401 (no or bad credentials) or 403 (unknown identity). */
  identify(c: Credentials): Producer {
    if (c.authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(c.authorization);
      if (!m) throw new IngestRequestError(401, 'Authorization header is not "Bearer <token>"');
      const p = this.byToken.get(hash(m[1]!));
      if (!p)
        throw new IngestRequestError(
          401,
          'bearer token is not known to this bridge (auth.producers[].tokens)',
        );
      return p;
    }
    if (c.peerCertificate && Object.keys(c.peerCertificate).length > 0) {
      const ids = certificateIdentities(c.peerCertificate);
      return this.byIdentities(ids, `client certificate identities ${JSON.stringify(ids)}`);
    }
    const header = Array.isArray(c.forwardedClientCert)
      ? c.forwardedClientCert.join(',')
      : c.forwardedClientCert;
    if (header && this.xfcc?.trust) {
      const ids = forwardedIdentities(header, this.xfcc.by);
      if (ids.length === 0)
        throw new IngestRequestError(
          401,
          `x-forwarded-client-cert names no peer identity${this.xfcc.by?.length ? ` set by ${this.xfcc.by.join(' or ')}` : ''}; is the caller in the mesh with mTLS?`,
        );
      return this.byIdentities(ids, `forwarded identities ${JSON.stringify(ids)}`);
    }
    if (this.anonymous) return this.anonymous;
    throw new IngestRequestError(
      401,
      'no credentials: send "Authorization: Bearer <token>" or a client certificate (unauthenticated ingest is disabled)',
    );
  }

  private byIdentities(ids: string[], what: string): Producer {
    for (const id of ids) {
      const p = this.byIdentity.get(id) ?? this.identityPatterns.find(([re]) => re.test(id))?.[1];
      if (p) return p;
    }
    throw new IngestRequestError(403, `${what} match no producer (auth.producers[].identities)`);
  }
}
