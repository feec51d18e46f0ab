// Which context issued which HTTP/gRPC callout. Envoy delivers every callout result to the ROOT
// context (the call is owned by the root, it outlives the request); the dispatcher uses this table
// to hand the result to the context that made the call, when that context still exists.
// Entry value: root id in the high 32 bits, issuing context id in the low 32 bits.
const owners = new Map<u32, u64>();

export function rememberCallout(token: u32, rootId: u32, contextId: u32): void {
  owners.set(token, (<u64>rootId << 32) | <u64>contextId);
}

/** Issuing context of `token` (0 if unknown); `forget` drops the entry (final callback of that callout). */
export function calloutOwner(token: u32, forget: bool): u32 {
  if (!owners.has(token)) return 0;
  const entry = owners.get(token);
  if (forget) owners.delete(token);
  return <u32>entry;
}

/** Envoy cancels a root's callouts when the root goes away: their results will never come. */
export function forgetCalloutsOfRoot(rootId: u32): void {
  const tokens = owners.keys();
  for (let i = 0; i < tokens.length; i++) {
    const t = unchecked(tokens[i]);
    if (<u32>(owners.get(t) >> 32) == rootId) owners.delete(t);
  }
}

/** Number of callouts still waiting for their final callback (tests, leak checks). */
export function pendingCallouts(): i32 {
  return owners.size;
}
