// Binary framing of a BrokerMessage inside a log record (spool and embedded broker):
// [u16 id length][id][u16 topic length][topic][u16 key length + 1, 0 = no key][key][body].

import type { BrokerMessage } from '../brokers/types.js';

export function encodeMessage(m: BrokerMessage): Buffer {
  const id = Buffer.from(m.id);
  const topic = Buffer.from(m.topic);
  const key = m.key === undefined ? null : Buffer.from(m.key);
  const out = Buffer.allocUnsafe(6 + id.length + topic.length + (key?.length ?? 0) + m.body.byteLength);
  let o = out.writeUInt16LE(id.length, 0);
  o += id.copy(out, o);
  o = out.writeUInt16LE(topic.length, o);
  o += topic.copy(out, o);
  o = out.writeUInt16LE(key ? key.length + 1 : 0, o);
  if (key) o += key.copy(out, o);
  out.set(m.body, o);
  return out;
}

export function decodeMessage(b: Buffer): BrokerMessage {
  let o = 0;
  const u16 = (): number => {
    o += 2;
    return b.readUInt16LE(o - 2);
  };
  const str = (len: number): string => {
    o += len;
    return b.toString('utf8', o - len, o);
  };
  const id = str(u16());
  const topic = str(u16());
  const keyLen = u16();
  const key = keyLen === 0 ? undefined : str(keyLen - 1);
  const body = b.subarray(o);
  return key === undefined ? { id, topic, body } : { id, topic, key, body };
}
