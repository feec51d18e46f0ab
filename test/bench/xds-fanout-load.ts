// Load process for xds-fanout.ts: opens many ADS streams (SotW or delta) over a few grpc-js
// channels, subscribes each like a sidecar (CDS wildcard + named EDS), and ACKs every response —
// or NACKs them while told to. `stuck` more streams (node ids "stuck-…") run over raw HTTP/2
// sessions of their own: they sync like the others, then on "stick" stop reading (window 0).
// Run by the benchmark with `node --import tsx`; talks over IPC.
import type * as grpc from '@grpc/grpc-js';
import { TYPE } from '../../proto/envoy.js';
import {
  adsClient,
  deltaStream,
  sotwStream,
  type DeltaResponseMsg,
  type SotwResponseMsg,
} from '../xds-server/ads-client.js';
import { H2DiscoveryStream } from '../xds-server/h2-client.js';

const [address, protocol, streamsArg, channelsArg, edsNamesArg, idPrefix, stuckArg] = process.argv.slice(2);
const stuckCount = Number(stuckArg ?? 0);
const streams = Number(streamsArg) + stuckCount;
const channels = Number(channelsArg);
const edsNames = edsNamesArg!.split(',');
let nack = false;
let responses = 0;
let ready = 0;

process.on('message', (m: { cmd: string; on?: boolean }) => {
  if (m.cmd === 'nack') nack = !!m.on;
  if (m.cmd === 'count') process.send!({ responses });
  if (m.cmd === 'stick') for (const s of stuck) s.stick();
  if (m.cmd === 'exit') {
    for (const c of clients) c.close();
    for (const s of stuck) s.close();
    process.exit(0);
  }
});

const clients: grpc.Client[] = Array.from({ length: channels }, (_, i) =>
  adsClient(address!, { 'sidecast.bench.channel': i }),
);
const error_detail = { code: 3, message: 'bench: rejected on purpose' };

function markReady(seen: Set<string>, type: string): void {
  if (seen.has(type)) return;
  seen.add(type);
  if (seen.size === 2 && ++ready === streams) process.send!({ ready: true });
}

const stuck: H2DiscoveryStream[] = [];
for (let i = 0; i < stuckCount; i++) {
  const s = new H2DiscoveryStream(address!, { delta: protocol !== 'sotw' });
  stuck.push(s);
  const node = { id: `stuck-${idPrefix}-${i}`, cluster: 'bench', user_agent_name: 'envoy' };
  const seen = new Set<string>();
  s.onResponse = (r) => {
    const type = r.type_url as string;
    if (protocol === 'sotw')
      s.send({
        type_url: type,
        response_nonce: r.nonce,
        version_info: r.version_info,
        resource_names: type === TYPE.endpoint ? edsNames : [],
      });
    else s.send({ type_url: type, response_nonce: r.nonce });
    markReady(seen, type);
  };
  if (protocol === 'sotw') {
    s.send({ node, type_url: TYPE.cluster, resource_names: [] });
    s.send({ type_url: TYPE.endpoint, resource_names: edsNames });
  } else {
    s.send({ node, type_url: TYPE.cluster, resource_names_subscribe: ['*'] });
    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: edsNames });
  }
}

for (let i = 0; i < streams - stuckCount; i++) {
  const client = clients[i % channels]!;
  const node = { id: `${idPrefix}-${i}`, cluster: 'bench', user_agent_name: 'envoy' };
  const seen = new Set<string>();
  if (protocol === 'sotw') {
    const s = sotwStream(client);
    const accepted = new Map<string, string>();
    const names = (type: string) => (type === TYPE.endpoint ? edsNames : []);
    s.onResponse = (r: SotwResponseMsg) => {
      responses++;
      const base = { type_url: r.type_url, response_nonce: r.nonce, resource_names: names(r.type_url) };
      if (nack) s.send({ ...base, version_info: accepted.get(r.type_url) ?? '', error_detail });
      else {
        accepted.set(r.type_url, r.version_info);
        s.send({ ...base, version_info: r.version_info });
      }
      markReady(seen, r.type_url);
    };
    s.send({ node, type_url: TYPE.cluster, resource_names: [] });
    s.send({ type_url: TYPE.endpoint, resource_names: edsNames });
  } else {
    const s = deltaStream(client);
    s.onResponse = (r: DeltaResponseMsg) => {
      responses++;
      s.send(
        nack
          ? { type_url: r.type_url, response_nonce: r.nonce, error_detail }
          : { type_url: r.type_url, response_nonce: r.nonce },
      );
      markReady(seen, r.type_url);
    };
    s.send({ node, type_url: TYPE.cluster, resource_names_subscribe: ['*'] });
    s.send({ type_url: TYPE.endpoint, resource_names_subscribe: edsNames });
  }
}
