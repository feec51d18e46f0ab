// Settles one consumer's JetStream messages (ack / nak) and keeps the unsettled ones alive.
//
// Why batch: nats.js writes its outbound buffer to the socket once per microtask checkpoint, and each
// delivery finishes in its own I/O callback (the subscriber's HTTP response), so acking inline costs
// one write syscall per event — the largest single item in the bridge's CPU profile at 3k events/s.
// Queuing acks and naks until the end of the event-loop turn (setImmediate) sends every settlement
// of that turn in one write. Nothing is acknowledged earlier than before: an ack is queued only after
// the handler resolved.
//
// Why one timer: a handler may take longer than the consumer's ack_wait (a slow subscriber being
// retried); working() every ack_wait/2 tells JetStream the message is not abandoned. One interval
// per consumer over the unsettled set replaces one interval per message.
import type { JsMsg } from '@nats-io/jetstream';

export class JsMsgSettler {
  private readonly unsettled = new Set<JsMsg>();
  private queued: Array<() => void> = [];
  private scheduled = false;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    ackWaitMs: number,
    private readonly redeliveryDelayMs: number,
  ) {
    this.keepAlive = setInterval(() => {
      for (const m of this.unsettled) m.working();
    }, ackWaitMs / 2);
    this.keepAlive.unref();
  }

  /** The handler starts on `m`: keep it alive until it is settled. */
  hold(m: JsMsg): void {
    this.unsettled.add(m);
  }

  ack(m: JsMsg): void {
    this.enqueue(m, () => m.ack());
  }

  /** Hands `m` back: JetStream redelivers it after the redelivery delay. */
  nak(m: JsMsg): void {
    this.enqueue(m, () => m.nak(this.redeliveryDelayMs));
  }

  /** Sends what is queued now and stops the keep-alive timer (the consumer is closing). */
  close(): void {
    clearInterval(this.keepAlive);
    this.flush();
  }

  private enqueue(m: JsMsg, send: () => void): void {
    this.unsettled.delete(m);
    this.queued.push(send);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const sends = this.queued;
    this.queued = [];
    for (const send of sends) send();
  };
}
