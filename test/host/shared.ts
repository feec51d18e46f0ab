// Process-wide shared data and shared queues, keyed by vm_id (cpp-host shared_data.cc /
// shared_queue.cc, reference §2.11).
import { WasmResult } from './abi.js';
import type { RootContext, WasmVm } from './vm.js';

interface Queue {
  vmId: string;
  name: string;
  items: Buffer[];
  /** The last registrant: every enqueue notifies it (one on_queue_ready per item). */
  target: RootContext;
}

export class SharedState {
  private readonly data = new Map<string, { value: Buffer; cas: number }>();
  private nextCas = 1;
  private readonly queues = new Map<number, Queue>();
  private readonly queueIds = new Map<string, number>();
  private nextQueueId = 1;

  private static key(vmId: string, name: string): string {
    return `${vmId}\u0000${name}`;
  }

  getData(vmId: string, key: string): { value: Buffer; cas: number } | undefined {
    return this.data.get(SharedState.key(vmId, key));
  }
  setData(vmId: string, key: string, value: Buffer, cas: number): WasmResult {
    const k = SharedState.key(vmId, key);
    const cur = this.data.get(k);
    if (cas !== 0 && cur && cur.cas !== cas) return WasmResult.CasMismatch;
    this.data.set(k, { value: Buffer.from(value), cas: this.nextCas++ });
    return WasmResult.Ok;
  }
  registerQueue(vmId: string, name: string, target: RootContext): number {
    const k = SharedState.key(vmId, name);
    let id = this.queueIds.get(k);
    if (id === undefined) {
      id = this.nextQueueId++;
      this.queueIds.set(k, id);
      this.queues.set(id, { vmId, name, items: [], target });
    }
    this.queues.get(id)!.target = target;
    return id;
  }
  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueIds.get(SharedState.key(vmId, name));
  }
  /** Appends and posts one proxy_on_queue_ready to the registrant once the enqueuing VM call returns. */
  enqueue(from: WasmVm, id: number, value: Buffer): WasmResult {
    const q = this.queues.get(id);
    if (!q) return WasmResult.NotFound;
    q.items.push(Buffer.from(value));
    const target = q.target;
    from.defer(() => target.vm.whenIdle(() => target.plugin.queueReady(target, id)));
    return WasmResult.Ok;
  }
  dequeue(id: number): Buffer | WasmResult {
    const q = this.queues.get(id);
    if (!q) return WasmResult.NotFound;
    return q.items.shift() ?? WasmResult.Empty;
  }
  /** Items waiting in a queue (for assertions). */
  queueLength(vmId: string, name: string): number | undefined {
    const id = this.resolveQueue(vmId, name);
    return id === undefined ? undefined : this.queues.get(id)!.items.length;
  }
}
