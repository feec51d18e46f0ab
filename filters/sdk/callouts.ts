// Which context issued which HTTP/gRPC callout. Envoy delivers every callout result to the ROOT
// context (the call is owned by the root, it outlives the request); the dispatcher uses this table
// to hand the result to the context that made the call, when that context still exists.
const owners = new Map<u32, u32>();

export function rememberCallout(token: u32, contextId: u32): void {
  owners.set(token, contextId);
}

/** Owner of `token` (0 if unknown); `forget` drops the entry (final callback of that callout). */
export function calloutOwner(token: u32, forget: bool): u32 {
  if (!owners.has(token)) return 0;
  const id = owners.get(token);
  if (forget) owners.delete(token);
  return id;
}

/** Number of callouts still waiting for their final callback (tests, leak checks). */
export function pendingCallouts(): i32 {
  return owners.size;
}
