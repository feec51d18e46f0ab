// hello-headers: the smallest real sidecast filter. It adds `x-hello: <greeting>` to every
// response and counts requests in the `hello_headers.requests` counter. The greeting comes from
// the plugin configuration (plain text; "hello" when empty).
export * from "../sdk/exports";
import { Counter, HttpContext, FilterHeadersStatus, RootContext, log, registerRootContext, responseHeaders } from "../sdk";

class HelloRoot extends RootContext {
  greeting: string = "hello";
  requests: Counter | null = null;

  onConfigure(configurationSize: u32): bool {
    const text = this.pluginConfiguration();
    if (text !== null && text.length > 0) this.greeting = text;
    this.requests = new Counter("hello_headers.requests");
    log.info("hello-headers configured, greeting: " + this.greeting);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext | null {
    return new HelloStream(contextId, this);
  }
}

class HelloStream extends HttpContext {
  // A typed reference to our root: AS has no unchecked downcast, so keep the subclass here.
  constructor(contextId: u32, public readonly hello: HelloRoot) {
    super(contextId, hello);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const counter = this.hello.requests;
    if (counter !== null) counter.increment();
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    responseHeaders.add("x-hello", this.hello.greeting);
    return FilterHeadersStatus.Continue;
  }
}

function createHelloRoot(contextId: u32): RootContext {
  return new HelloRoot(contextId);
}

registerRootContext(createHelloRoot, "hello-headers");
