// Benchmark probe (test/bench/host.ts): on each request it repeats ONE raw hostcall N times, so the
// bench can subtract the empty loop and report ns per host call. Plugin configuration: "<op> <N>".
export * from "../../../filters/sdk/exports";
import { FilterHeadersStatus, HttpContext, RootContext, registerRootContext } from "../../../filters/sdk";
import * as abi from "../../../filters/sdk/imports";
import { resetExchange, retA, retB } from "../../../filters/sdk/memory";

let op: string = "none";
let n: i32 = 0;
let metricId: u32 = 0;
const KEY = String.UTF8.encode(":path");
const PATH = String.UTF8.encode("request\0path");
const MSG = String.UTF8.encode("a debug line nobody sees");
const NAME = String.UTF8.encode("bench.defined");

function once(): void {
  resetExchange();
  if (op == "get_header") abi.proxy_get_header_map_value(0, changetype<usize>(KEY), KEY.byteLength, retA, retB);
  else if (op == "get_property") abi.proxy_get_property(changetype<usize>(PATH), PATH.byteLength, retA, retB);
  else if (op == "log_below_level") abi.proxy_log(1, changetype<usize>(MSG), MSG.byteLength);
  else if (op == "increment_metric") abi.proxy_increment_metric(metricId, 1);
  else if (op == "define_metric") abi.proxy_define_metric(0, changetype<usize>(NAME), NAME.byteLength, retA);
  else if (op == "get_time") abi.proxy_get_current_time_nanoseconds(retA);
}

class BenchRoot extends RootContext {
  onConfigure(size: u32): bool {
    const c = this.pluginConfiguration();
    if (c !== null) {
      const parts = c.split(" ");
      op = parts[0];
      n = parts.length > 1 ? I32.parseInt(parts[1], 10) : 0;
    }
    abi.proxy_define_metric(0, changetype<usize>(NAME), NAME.byteLength, retA);
    metricId = load<u32>(retA);
    return true;
  }
  createHttpContext(id: u32): HttpContext | null {
    return new BenchStream(id, this);
  }
}

class BenchStream extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    for (let i = 0; i < n; i++) once();
    return FilterHeadersStatus.Continue;
  }
}

function createRoot(id: u32): RootContext {
  return new BenchRoot(id);
}
registerRootContext(createRoot, "bench");
