// Reads the bridge's ingest reply (docs/interfaces.md §2) in place:
//   {"results":[{"id":"…","status":"accepted"} | {"id":"…","status":"rejected","reason":"…"}, …]}
// one entry per event, in order. Also reads the call's :status.
import { BufferType, MapType } from "../sdk";
import { JsonPath, findPath, skipValue, skipWs, valueEnd, valueStart } from "./json";
import { peekBuffer, peekHeader, peekLen, peekPtr } from "./host";

const STATUS_HEADER = String.UTF8.encode(":status");
const RETRY_AFTER = String.UTF8.encode("retry-after");
const RESULTS = new JsonPath([String.UTF8.encode("results")], "results");
const STATUS = new JsonPath([String.UTF8.encode("status")], "status");
const ACCEPTED = String.UTF8.encode('"accepted"');

/** The peeked value as a non-negative decimal (at most `digits` digits); -1 when it is not one. */
function peekedNumber(digits: i32): i32 {
  if (peekLen == 0 || peekLen > digits) return -1;
  let v = 0;
  for (let i = 0; i < peekLen; i++) {
    const d = <i32>load<u8>(peekPtr + <usize>i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** :status of the http_call response being delivered; 0 when missing. */
export function callStatus(): i32 {
  if (!peekHeader(MapType.HttpCallResponseHeaders, STATUS_HEADER)) return 0;
  const v = peekedNumber(3);
  return v < 0 ? 0 : v;
}

/** Retry-After of the response in seconds (the delta-seconds form only); -1 when absent. */
export function retryAfterSeconds(): i32 {
  return peekHeader(MapType.HttpCallResponseHeaders, RETRY_AFTER) ? peekedNumber(6) : -1;
}

export const enum Result {
  End = -1,
  Rejected = 0,
  Accepted = 1,
}

/** Walks the results array of the reply body. */
export class ReplyCursor {
  private p: usize = 0;
  private i: i32 = 0;
  private end: i32 = 0;

  /** Loads the body of the call response (inside the callback); false when there is no results array. */
  open(bodySize: u32): bool {
    this.end = 0;
    if (bodySize == 0 || !peekBuffer(BufferType.HttpCallResponseBody, 0, bodySize)) return false;
    this.p = peekPtr;
    if (!findPath(peekPtr, 0, peekLen, RESULTS) || valueStart >= valueEnd || load<u8>(peekPtr + <usize>valueStart) != 0x5b) return false;
    this.i = skipWs(peekPtr, valueStart + 1, valueEnd);
    this.end = valueEnd - 1; // before "]"
    return true;
  }

  next(): Result {
    const p = this.p;
    if (this.i >= this.end) return Result.End;
    const e = skipValue(p, this.i, this.end, 1);
    if (e < 0) {
      this.i = this.end;
      return Result.End;
    }
    let accepted = false;
    if (findPath(p, this.i, e, STATUS)) {
      const n = ACCEPTED.byteLength;
      accepted = valueEnd - valueStart == n && memory.compare(p + <usize>valueStart, changetype<usize>(ACCEPTED), <usize>n) == 0;
    }
    this.i = skipWs(p, e, this.end);
    if (this.i < this.end && load<u8>(p + <usize>this.i) == 0x2c) this.i = skipWs(p, this.i + 1, this.end);
    return accepted ? Result.Accepted : Result.Rejected;
  }
}
