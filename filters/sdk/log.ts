// Logging through proxy_log. The active level is cached (refreshed from proxy_get_log_level by the
// dispatcher on root callbacks — create, vm start, configure, tick — and every 64th stream), so a
// disabled level costs one comparison and, guarded with log.enabled(), builds no string at all:
//   if (log.enabled(LogLevel.Debug)) log.debug("matched rule " + name);
import { LogLevel, WasmResult } from "./types";
import { proxy_get_log_level, proxy_log } from "./imports";
import { putLen, putString, resetExchange, retA } from "./memory";

// Until the host tells us, let everything through: the host filters by its own level anyway.
let activeLevel: LogLevel = LogLevel.Trace;

export namespace log {
  /** True when a message at `level` would be shown. Guard any string building with it. */
  export function enabled(level: LogLevel): bool {
    return level >= activeLevel && level < LogLevel.Off;
  }

  /** The cached active level. */
  export function level(): LogLevel {
    return activeLevel;
  }

  /** Re-reads the level from the host (cheap; the dispatcher calls it on root callbacks). */
  export function refreshLevel(): void {
    if (proxy_get_log_level(retA) == WasmResult.Ok) {
      const l = load<u32>(retA);
      activeLevel = l > <u32>LogLevel.Off ? LogLevel.Off : <LogLevel>l;
    }
  }

  /** Logs `msg` at `level` when enabled; returns the host status (Ok when filtered out). */
  export function write(level: LogLevel, msg: string): WasmResult {
    if (!enabled(level)) return WasmResult.Ok;
    resetExchange();
    const p = putString(msg);
    return <WasmResult>proxy_log(<u32>level, p, putLen);
  }

  export function trace(msg: string): void {
    write(LogLevel.Trace, msg);
  }
  export function debug(msg: string): void {
    write(LogLevel.Debug, msg);
  }
  export function info(msg: string): void {
    write(LogLevel.Info, msg);
  }
  export function warn(msg: string): void {
    write(LogLevel.Warn, msg);
  }
  export function error(msg: string): void {
    write(LogLevel.Error, msg);
  }
  export function critical(msg: string): void {
    write(LogLevel.Critical, msg);
  }
}
