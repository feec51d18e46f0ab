// Who wants to hear that an adapter has its broker connection back (BrokerAdapter.onReconnect):
// the publisher starts its spool drain on it. Adapters call notify() from their client's reconnect
// event, in the same turn in which isConnected() becomes true again.

export class ReconnectListeners {
  private readonly listeners: Array<() => void> = [];

  add(listener: () => void): void {
    this.listeners.push(listener);
  }

  notify(): void {
    for (const l of this.listeners) l();
  }
}
