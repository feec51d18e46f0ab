// What the xds-server publishes over ECDS, fed to the release event-emitter.wasm in the
// Envoy-faithful test host: the filter accepts every generated config (including the no-events
// stand-in and the listener's default_config) and emits exactly what the EventRoutes say.
import { describe, expect, it } from '@jest/globals';
import { envoyChecker, TYPE } from '../../proto/envoy.js';
import {
  emitterResourceName,
  loadMesh,
  translate,
  type FleetResources,
} from '../../xds-server/mesh/index.js';
import {
  acceptAll,
  emitter,
  exchange,
  flush,
  healthy,
  type Emitter,
  type RequestSpec,
  type ResponseSpec,
} from '../event-emitter/harness.js';
import { BANK_FILE } from './bank.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const fleet: FleetResources = translate(loadMesh(BANK_FILE));
const decode = (group: string, type: string, name: string): Json =>
  envoyChecker().decode(type.split('/')[1]!, fleet.get(group)!.get(type)!.get(name)!, `${group} ${name}`);

/** Starts the filter exactly as Envoy would from a Wasm filter config (name, root_id, vm_id, fail-open). */
async function fromWasmConfig(wasm: Json): Promise<Emitter> {
  const c = wasm.config;
  expect(c.configuration['@type']).toBe('type.googleapis.com/google.protobuf.StringValue');
  const e = await emitter(c.configuration.value, {
    name: c.name,
    rootId: c.root_id,
    vmId: c.vm_config.vm_id,
    failurePolicy: c.fail_open ? 'fail_open' : 'fail_closed',
  });
  healthy(e.plugin);
  return e;
}
/** One exchange, then past the mesh's flushInterval (100 ms), accepting the batch if one was sent. */
function emitOne(e: Emitter, req: RequestSpec, res: ResponseSpec) {
  exchange(e.plugin, req, res);
  const calls = flush(e.host, 100);
  return calls.length ? acceptAll(calls[0]!) : [];
}
const ecds = (service: string) =>
  decode(service, TYPE.extensionConfig, emitterResourceName(service)).typed_config;
const defaultConfig = (service: string) =>
  decode(service, TYPE.listener, 'sidecast_inbound').filter_chains[0].filters[0].typed_config.http_filters[0]
    .config_discovery.default_config;

describe('ECDS configs in the real filter', () => {
  it('accounts: POST /accounts answered 201 becomes acme/bank/account/opened/v1, keyed by the new id, ssn redacted', async () => {
    const e = await fromWasmConfig(ecds('accounts'));
    const events = emitOne(
      e,
      {
        method: 'POST',
        path: '/accounts',
        body: '{"owner":"Ada"}',
        headers: { 'content-type': 'application/json' },
      },
      {
        status: 201,
        headers: { 'content-type': 'application/json' },
        body: '{"id":"acc-1","owner":"Ada","ssn":"123"}',
      },
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'acme.bank.account.opened.v1',
      source: '//bank.example/accounts',
      topic: 'acme/bank/account/opened/v1',
      subject: 'acc-1',
      partitionkey: 'acc-1',
      data: { id: 'acc-1', owner: 'Ada' },
    });
    expect((events[0]!.data as Json).ssn).toBe('[redacted]');
    // GET, or a POST answered 409, emits nothing.
    expect(emitOne(e, { method: 'GET', path: '/accounts' }, { status: 200, body: '[]' })).toEqual([]);
    expect(
      emitOne(e, { method: 'POST', path: '/accounts', body: '{}' }, { status: 409, body: '{}' }),
    ).toEqual([]);
  });

  it('services without EventRoutes, and every default_config, load and emit nothing', async () => {
    for (const wasm of [
      ecds('audit'),
      ecds('notifications'),
      ecds('analytics'),
      defaultConfig('accounts'),
      defaultConfig('audit'),
    ]) {
      const e = await fromWasmConfig(wasm);
      expect(
        emitOne(e, { method: 'POST', path: '/accounts', body: '{}' }, { status: 201, body: '{"id":"x"}' }),
      ).toEqual([]);
      healthy(e.plugin);
    }
  });
});
