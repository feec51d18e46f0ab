// Event id and partition key of an MQTT message: MQTT 5 user properties set by our publisher,
// else (MQTT 3.1.1, or a foreign publisher) the structured CloudEvent in the payload.
import type { IPublishPacket } from 'mqtt';

export const ID_PROPERTY = 'ce-id';
export const KEY_PROPERTY = 'sidecast-key';

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function messageMeta(packet: IPublishPacket): { id: string; key?: string } {
  const props = packet.properties?.userProperties;
  const id = first(props?.[ID_PROPERTY]);
  if (id !== undefined) return { id, key: first(props?.[KEY_PROPERTY]) };
  try {
    const ce = JSON.parse(Buffer.from(packet.payload).toString('utf8')) as {
      id?: unknown;
      partitionkey?: unknown;
    };
    return {
      id: typeof ce.id === 'string' ? ce.id : '',
      key: typeof ce.partitionkey === 'string' ? ce.partitionkey : undefined,
    };
  } catch {
    return { id: '' };
  }
}
