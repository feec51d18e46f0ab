// SDK probe: HTTP and gRPC callouts delivered to the context that issued them (made effective so
// it can edit its paused request and resume it), or to the root when that stream is gone.
// Request header `x-call: <cluster>` ⇒ HTTP call, `x-grpc: <cluster>` ⇒ unary gRPC call,
// `x-grpc-stream: <cluster>` ⇒ gRPC stream, `x-grpc-cancel: <cluster>` ⇒ call then cancel,
// `x-fire: <cluster>` ⇒ call without waiting. The root issues a call on every tick when
// configured with a cluster name.
export * from "../../../filters/sdk/exports";
import {
  FilterHeadersStatus, GrpcStatus, HeaderPair, HttpContext, RootContext, getStatus, grpcCancel, grpcClose,
  grpcReceiveBuffer, grpcSend, grpcInitialMetadata, httpCallResponseBody, httpCallResponseHeaders, log,
  pendingCallouts, registerRootContext, requestHeaders, responseHeaders,
} from "../../../filters/sdk";

function request(authority: string, path: string): Array<HeaderPair> {
  return [new HeaderPair(":method", "GET"), new HeaderPair(":path", path), new HeaderPair(":authority", authority)];
}

function text(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

class CalloutRoot extends RootContext {
  cluster: string = "";
  onConfigure(size: u32): bool {
    const c = this.pluginConfiguration();
    if (c !== null && c.length > 0) {
      this.cluster = c;
      this.setTickPeriod(1000);
    }
    return true;
  }
  onTick(): void {
    const r = this.httpCall(this.cluster, request(this.cluster, "/tick"), null, [], 500);
    log.info("root tick call status " + (<i32>r.status).toString() + " token " + r.value.toString());
  }
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    const status = httpCallResponseHeaders.get(":status");
    log.info(
      "root got response token " + token.toString() + " status " + (status === null ? "none" : status) +
        " headers " + numHeaders.toString() + " pending " + pendingCallouts().toString(),
    );
  }
  createHttpContext(id: u32): HttpContext | null {
    return new CalloutStream(id, this);
  }
}

class CalloutStream extends HttpContext {
  report: Array<HeaderPair> = [];
  streamToken: u32 = 0;

  onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus {
    const call = requestHeaders.get("x-call");
    if (call !== null) {
      const r = this.httpCall(call, request(call, "/check"), text("ping"), [], 1000);
      this.report.push(new HeaderPair("x-r-call-status", (<i32>r.status).toString()));
      return r.ok ? FilterHeadersStatus.StopAllIterationAndWatermark : FilterHeadersStatus.Continue;
    }
    const fire = requestHeaders.get("x-fire");
    if (fire !== null) {
      const r = this.httpCall(fire, request(fire, "/fire"), null, [], 1000);
      requestHeaders.add("x-fire-token", r.value.toString());
      return FilterHeadersStatus.Continue;
    }
    const grpc = requestHeaders.get("x-grpc");
    if (grpc !== null) {
      const r = this.grpcCall(grpc, "sidecast.test.Echo", "Say", [new HeaderPair("x-md", "1")], text("hello"), 1000);
      this.report.push(new HeaderPair("x-r-grpc-status", (<i32>r.status).toString()));
      return r.ok ? FilterHeadersStatus.StopAllIterationAndWatermark : FilterHeadersStatus.Continue;
    }
    const cancel = requestHeaders.get("x-grpc-cancel");
    if (cancel !== null) {
      const r = this.grpcCall(cancel, "sidecast.test.Echo", "Say", [], text("bye"), 1000);
      const c = r.ok ? grpcCancel(r.value) : r.status;
      requestHeaders.add("x-grpc-cancel-status", (<i32>c).toString());
      return FilterHeadersStatus.Continue;
    }
    const stream = requestHeaders.get("x-grpc-stream");
    if (stream !== null) {
      const r = this.grpcStream(stream, "sidecast.test.Echo", "Chat", []);
      this.report.push(new HeaderPair("x-r-stream-status", (<i32>r.status).toString()));
      if (!r.ok) return FilterHeadersStatus.Continue;
      this.streamToken = r.value;
      this.report.push(new HeaderPair("x-r-send-status", (<i32>grpcSend(r.value, text("one"), false)).toString()));
      return FilterHeadersStatus.StopAllIterationAndWatermark;
    }
    return FilterHeadersStatus.Continue;
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    if (numHeaders == 0) {
      const st = getStatus();
      this.sendLocalResponse(503, "callout_failed", text("callout failed: " + st.message), [
        new HeaderPair("x-r-failure-code", st.code.toString()),
      ]);
      return;
    }
    const status = httpCallResponseHeaders.get(":status");
    const body = httpCallResponseBody.text();
    // The stream is effective: its paused request headers are writable again.
    requestHeaders.add("x-call-status", status === null ? "none" : status);
    requestHeaders.add("x-call-body", body === null ? "" : body);
    this.continueRequest();
  }

  onGrpcReceiveInitialMetadata(token: u32, n: u32): void {
    const md = grpcInitialMetadata.get("x-reply-md");
    this.report.push(new HeaderPair("x-r-grpc-initial", md === null ? "(none)" : md));
  }

  onGrpcReceive(token: u32, size: u32): void {
    const msg = grpcReceiveBuffer.text();
    this.report.push(new HeaderPair("x-r-grpc-message", msg === null ? "(null)" : msg));
    if (token == this.streamToken) {
      grpcSend(token, text("two"), true);
      this.report.push(new HeaderPair("x-r-close-status", (<i32>grpcClose(token)).toString()));
    }
  }

  onGrpcClose(token: u32, status: GrpcStatus): void {
    const st = getStatus();
    this.report.push(new HeaderPair("x-r-grpc-close", (<i32>status).toString() + " " + st.message));
    this.continueRequest();
  }

  onResponseHeaders(n: u32, eos: bool): FilterHeadersStatus {
    for (let i = 0; i < this.report.length; i++) responseHeaders.add(this.report[i].key, this.report[i].value);
    responseHeaders.add("x-r-pending-callouts", pendingCallouts().toString());
    return FilterHeadersStatus.Continue;
  }
}

function createRoot(id: u32): RootContext {
  return new CalloutRoot(id);
}

registerRootContext(createRoot, "");
