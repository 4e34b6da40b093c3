import type { BusMessage } from '../core/index.ts';

/**
 * BusMessage ⇄ JSON. Bytes (a chat message's file) travel as base64; the relay hot path has
 * none and skips the replacer, which costs more than the rest of the encoding.
 */
export function encode(message: BusMessage): string {
  return message.kind === 'relay' ? JSON.stringify(message) : JSON.stringify(message, bytes);
}

/** One message, or the array of a batch (see RedisBus). */
export function decode(text: string): BusMessage | BusMessage[] {
  return (text.includes('"$bytes"') ? JSON.parse(text, unbytes) : JSON.parse(text)) as
    BusMessage | BusMessage[];
}

function bytes(this: Record<string, unknown>, k: string, v: unknown): unknown {
  const raw = this[k];
  return raw instanceof Uint8Array ? { $bytes: Buffer.from(raw).toString('base64') } : v;
}

function unbytes(_k: string, v: unknown): unknown {
  if (typeof v === 'object' && v !== null && typeof (v as { $bytes?: unknown }).$bytes === 'string')
    return new Uint8Array(Buffer.from((v as { $bytes: string }).$bytes, 'base64'));
  return v;
}
