/**
 * The environment processor children start with: the worker's environment as it was when the daemon started,
 * plus what `WorkerSetEnv` / `WorkerRemoveEnv` changed since, for an allow-listed set of variables only.
 * Nothing reads the live `process.env`, so no call can put NODE_OPTIONS, LD_PRELOAD or PATH into a child
 * (docs/security-worker.md lists the variables and why).
 */

/** Exact names `WorkerSetEnv` may change. */
export const SETTABLE_ENV_NAMES: readonly string[] = [
  'RUST_LOG',
  'RUST_BACKTRACE',
  'RAYON_NUM_THREADS',
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
  'GPU_MAX_HEAP_SIZE',
  'TMPDIR',
];
/** Prefixes `WorkerSetEnv` may change: the proofs' tuning knobs. */
export const SETTABLE_ENV_PREFIXES: readonly string[] = ['FIL_PROOFS_', 'BELLMAN_'];

const MAX_VALUE_BYTES = 4096;

/** Why a name may not be set, or null when it may. */
export function whyEnvRefused(name: unknown): string | null {
  if (typeof name !== 'string') return 'the variable name must be a string';
  if (!/^[A-Z][A-Z0-9_]{0,127}$/.test(name)) {
    return 'a variable name is upper-case letters, digits and "_" (at most 128)';
  }
  if (SETTABLE_ENV_NAMES.includes(name) || SETTABLE_ENV_PREFIXES.some((p) => name.startsWith(p))) return null;
  return (
    `${name} is not one of the variables the control API may set ` +
    `(${[...SETTABLE_ENV_NAMES, ...SETTABLE_ENV_PREFIXES.map((p) => `${p}*`)].join(', ')})`
  );
}

export class ChildEnv {
  private readonly base: Readonly<Record<string, string>>;
  private readonly changes = new Map<string, string | null>();

  /** Snapshots `env` now (default: this process's). */
  constructor(env: NodeJS.ProcessEnv = process.env) {
    const copy: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) copy[k] = v;
    this.base = Object.freeze(copy);
  }

  /** Sets an allow-listed variable for children started from now on; throws with the reason otherwise. */
  set(name: unknown, value: unknown): void {
    const why = whyEnvRefused(name);
    if (why) throw new Error(why);
    if (typeof value !== 'string') throw new Error('the value must be a string');
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES)
      throw new Error(`the value is longer than ${MAX_VALUE_BYTES} bytes`);
    if (value.includes('\0')) throw new Error('the value contains a NUL byte');
    this.changes.set(name as string, value);
  }

  /** Unsets an allow-listed variable for children started from now on. */
  remove(name: unknown): void {
    const why = whyEnvRefused(name);
    if (why) throw new Error(why);
    this.changes.set(name as string, null);
  }

  /** A fresh copy for one child. */
  get(): Record<string, string> {
    const env = { ...this.base };
    for (const [k, v] of this.changes) {
      if (v === null) delete env[k];
      else env[k] = v;
    }
    return env;
  }
}
