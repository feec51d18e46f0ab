// SDK probe: a line-oriented TCP (network) filter written only with the SDK's TcpContext API.
// Downstream: holds bytes (StopIteration) until a full line arrived, then upper-cases the whole
// held buffer and lets it go on; a line "QUIT" closes the client connection instead. Upstream:
// prefixes every chunk with "> ". Logs what it saw, including close peers and the client address.
// Serves HTTP streams from the same root (createHttpContext) to show one root can do both.
export * from "../../../filters/sdk/exports";
import {
  FilterStatus, HttpContext, PeerType, RootContext, TcpContext, WasmResult, downstreamData, getPropertyString, log,
  registerRootContext, upstreamData,
} from "../../../filters/sdk";

class LineRoot extends RootContext {
  createHttpContext(id: u32): HttpContext | null {
    return new HttpContext(id, this);
  }
  createTcpContext(id: u32): TcpContext | null {
    return new LineConnection(id, this);
  }
}

function upper(b: ArrayBuffer): ArrayBuffer {
  const out = new Uint8Array(b.byteLength);
  const src = Uint8Array.wrap(b);
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    out[i] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
  }
  return out.buffer;
}

class LineConnection extends TcpContext {
  onNewConnection(): FilterStatus {
    const from = getPropertyString(["source", "address"]);
    log.info("tcp new connection from " + (from === null ? "(unknown)" : from));
    return FilterStatus.Continue;
  }

  onDownstreamData(size: u32, endOfStream: bool): FilterStatus {
    const text = downstreamData.text();
    if (text === null) return FilterStatus.Continue;
    log.info("tcp downstream " + size.toString() + " bytes" + (endOfStream ? " (end)" : ""));
    if (text.startsWith("QUIT")) {
      this.closeDownstream();
      return FilterStatus.StopIteration;
    }
    if (!text.includes("\n") && !endOfStream) return FilterStatus.StopIteration;
    const b = downstreamData.bytes();
    if (b !== null && downstreamData.replace(upper(b)) != WasmResult.Ok) log.error("tcp: replace failed");
    return FilterStatus.Continue;
  }

  onUpstreamData(size: u32, endOfStream: bool): FilterStatus {
    if (size > 0) prefixUpstream();
    return FilterStatus.Continue;
  }

  onDownstreamConnectionClose(peer: PeerType): void {
    log.info("tcp downstream close peer " + (<i32>peer).toString());
  }
  onUpstreamConnectionClose(peer: PeerType): void {
    log.info("tcp upstream close peer " + (<i32>peer).toString());
  }
  onLog(): void {
    log.info("tcp log");
  }
  onDelete(): void {
    log.info("tcp delete");
  }
}

/** Prepends "> " to the upstream bytes of the current callback. */
function prefixUpstream(): void {
  upstreamData.prepend(String.UTF8.encode("> "));
}

function createRoot(id: u32): RootContext {
  return new LineRoot(id);
}
registerRootContext(createRoot, "tcp");
