/**
 * A push-driven async queue: producers `push` values and `end()` it; a consumer iterates with `for await`.
 * Server-side channel methods can return one (ChainNotify fed by the chain, ListenWalletEvent fed by the
 * gateway); the client uses it for subscriptions. When the consumer stops (break, cancel, connection
 * closed), the `onReturn` callbacks run so the producer can drop its reference.
 */
export class PushChannel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private readonly waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private failure: { error: unknown } | undefined;
  private done = false;
  private readonly returnHooks: (() => void)[] = [];

  /** True once ended (by either side); later pushes are dropped. */
  get closed(): boolean {
    return this.done;
  }

  /** Values queued and not yet taken. */
  get size(): number {
    return this.buffer.length;
  }

  /** Queue a value; returns false (and drops it) when the channel is closed. */
  push(value: T): boolean {
    if (this.done) return false;
    const w = this.waiting.shift();
    if (w) w.resolve({ value, done: false });
    else this.buffer.push(value);
    return true;
  }

  /** Producer side: no more values. Queued values are still delivered. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.flushWaiting();
  }

  /** Producer side: end with an error, thrown to the consumer after the queued values. */
  fail(error: unknown): void {
    if (this.done) return;
    this.failure = { error };
    this.done = true;
    this.flushWaiting();
  }

  /** Run `fn` when the consumer stops early (return()). */
  onReturn(fn: () => void): void {
    this.returnHooks.push(fn);
  }

  private flushWaiting(): void {
    // Only waiters remain when the buffer is empty, so they all see the end now.
    for (const w of this.waiting.splice(0)) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        w.reject(error);
      } else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.done) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Consumer side: stop. Drops queued values and runs the onReturn hooks once. */
  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.done = true;
    this.failure = undefined;
    this.flushWaiting();
    for (const fn of this.returnHooks.splice(0)) {
      try {
        fn();
      } catch {
        // a producer's cleanup must not break the consumer
      }
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
