// x-forwarded-client-cert (Envoy's format): elements separated by ",", each a ";"-separated list
// of Key=Value pairs (By, Hash, Cert, Chain, Subject, URI, DNS), values optionally double-quoted.
// With Istio's APPEND_FORWARD a client may send elements of its own; the element our sidecar
// appended — the one describing the connection it verified — is always the last.

export type XfccElement = Record<string, string[]>;

/** Splits on `sep` outside double quotes. */
function split(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && quoted && i + 1 < text.length) {
      cur += c + text[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unquote = (v: string) =>
  v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;

export function parseXfcc(header: string): XfccElement[] {
  return split(header, ',')
    .map((element) => {
      const pairs: XfccElement = {};
      for (const pair of split(element, ';')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const key = pair.slice(0, eq).trim();
        (pairs[key] ??= []).push(unquote(pair.slice(eq + 1).trim()));
      }
      return pairs;
    })
    .filter((e) => Object.keys(e).length > 0);
}

/** SPIFFE IDs (URI SANs) of the peer our own proxy verified: the last element's URI values. */
export function forwardedIdentities(header: string, trustedBy: string[] = []): string[] {
  const last = parseXfcc(header).at(-1);
  if (!last) return [];
  // `By` is the proxy's own identity; when configured, the element must name it.
  if (trustedBy.length && !(last.By ?? []).some((b) => trustedBy.includes(b))) return [];
  return last.URI ?? [];
}
