// The contracts ingest checks events against, by CloudEvents type; replaced as a whole when the
// xds-server's set changes. Empty (the default) costs ingest one size check per request.
import type { EventContract } from './contract.js';

export class ContractRegistry {
  private byType = new Map<string, EventContract>();

  get size(): number {
    return this.byType.size;
  }

  /** One contract per event type: when two routes declare the same type, the first by name wins. */
  set(contracts: Iterable<EventContract>): void {
    const next = new Map<string, EventContract>();
    for (const c of [...contracts].sort((a, b) => a.name.localeCompare(b.name)))
      if (!next.has(c.type)) next.set(c.type, c);
    this.byType = next;
  }

  forType(type: string): EventContract | undefined {
    return this.byType.get(type);
  }
}
