/**
 * JSON for persisted devnet state: bigints (token amounts, power) and byte arrays survive the round trip.
 * A bigint is written as {"$n":"123"}, a Uint8Array as {"$b":"<base64>"}; nothing else in state uses "$n"/"$b".
 */

export function stringifyState(v: unknown): string {
  return JSON.stringify(v, function (this: unknown, key: string, val: unknown) {
    // JSON.stringify hands Uint8Array to the replacer after toJSON (none), as the object itself
    const raw = (this as Record<string, unknown>)[key];
    if (typeof raw === 'bigint') return { $n: raw.toString() };
    if (raw instanceof Uint8Array)
      return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    return val;
  });
}

export function parseState<T = unknown>(s: string): T {
  return JSON.parse(s, (_k, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1) {
        if (keys[0] === '$n' && typeof v.$n === 'string') return BigInt(v.$n);
        if (keys[0] === '$b' && typeof v.$b === 'string') return new Uint8Array(Buffer.from(v.$b, 'base64'));
      }
    }
    return v;
  }) as T;
}
