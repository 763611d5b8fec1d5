/**
 * JSON encoding for the wire. Two conveniences so services can return native values:
 *   bigint      → decimal string   (Lotus big.Int)
 *   Uint8Array  → std base64       (Go []byte), Buffers included
 * Everything else is plain JSON.stringify; `undefined` results are sent as null by the server.
 */
import type { RawData } from 'ws';

export function toJson(value: unknown): string {
  return JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
    // `this[key]` is the value before toJSON ran (Buffer.toJSON would give {type, data}).
    const raw = (this as Record<string, unknown>)[key];
    if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
    if (typeof v === 'bigint') return v.toString(10);
    return v;
  });
}

/** A WebSocket message as text (ws hands out Buffers by default). */
export function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
