// Producer authentication and per-producer topic ACLs. A producer is named in config with the
// credentials that identify it (bearer tokens, mTLS identities) and the sidecast topic patterns it
// may publish to. Unauthenticated ingest exists only when `allowUnauthenticated` is set.

import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { matches, parsePattern } from '../../common/topic.js';
import { IngestRequestError } from '../validate/request-errors.js';

export interface ProducerConfig {
  name: string;
  /** Bearer tokens (Authorization: Bearer <token>). */
  tokens?: string[];
  /** mTLS identities: a SAN URI (spiffe://…), SAN DNS name or subject CN of the client certificate. */
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
}

export interface Credentials {
  authorization?: string | undefined;
  /** Verified client certificate (TLS already checked it against the configured CA). */
  peerCertificate?: PeerCertificate | null | undefined;
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

export class Authenticator {
  // Tokens are looked up by their SHA-256, so the map never holds or compares raw secrets.
  private readonly byToken = new Map<string, Producer>();
  private readonly byIdentity = new Map<string, Producer>();
  private readonly anonymous: Producer | null;

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
      for (const id of p.identities ?? []) this.byIdentity.set(id, producer);
    });
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
      for (const id of ids) {
        const p = this.byIdentity.get(id);
        if (p) return p;
      }
      throw new IngestRequestError(
        403,
        `client certificate identities ${JSON.stringify(ids)} match no producer (auth.producers[].identities)`,
      );
    }
    if (this.anonymous) return this.anonymous;
    throw new IngestRequestError(
      401,
      'no credentials: send "Authorization: Bearer <token>" or a client certificate (unauthenticated ingest is disabled)',
    );
  }
}
