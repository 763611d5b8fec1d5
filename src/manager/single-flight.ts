/**
 * Concurrent identical reads share one request: a call made while the same key's request is in flight gets that
 * request's answer (as if its own had been a moment faster on the wire). Hundreds of workers polling the chain
 * head or the same batch message then cost the chain node one call each time, not one per worker.
 */
export class SingleFlight<K, V> {
  private readonly inflight = new Map<K, Promise<V>>();

  run(key: K, fn: () => Promise<V>): Promise<V> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = fn();
    this.inflight.set(key, p);
    const done = () => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
    };
    p.then(done, done);
    return p;
  }

  /** requests in flight (tests) */
  get size(): number {
    return this.inflight.size;
  }
}

/** `chain` with ChainHead shared by concurrent callers (the other methods untouched). */
export function sharedChainHead<C extends { ChainHead(): Promise<unknown> }>(chain: C): C {
  const flight = new SingleFlight<0, unknown>();
  const head = () => flight.run(0, () => chain.ChainHead());
  // a Proxy of an empty object: the chain may be a frozen RPC client, whose properties a Proxy of it must not alter
  return new Proxy({} as C, {
    get(_, prop) {
      if (prop === 'ChainHead') return head;
      const v = Reflect.get(chain, prop, chain);
      return typeof v === 'function' ? v.bind(chain) : v;
    },
  });
}
