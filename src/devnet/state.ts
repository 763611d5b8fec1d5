/**
 * The chain's state tree: actors by ID (kind, nonce, balance, actor state) plus the init actor's address
 * index. Transactions are copy-on-write layers: a message runs in a child layer that is committed on
 * success and dropped on abort, so a failed call changes nothing.
 */
import type { Address } from '../fil/index.js';
import { ActorError, ExitCode } from './exitcode.js';

export type ActorKind =
  | 'system'
  | 'init'
  | 'reward'
  | 'cron'
  | 'power'
  | 'market'
  | 'verifreg'
  | 'datacap'
  | 'eam'
  | 'burnt'
  | 'account'
  | 'miner';

export interface ActorRecord<S = unknown> {
  id: number;
  kind: ActorKind;
  nonce: number;
  balance: bigint;
  /** Hex of the binary key address (account: f1/f3) or robust actor address (miner: f2), if any. */
  robust?: string;
  state: S;
}

export interface StateData {
  nextId: number;
  actors: Record<string, ActorRecord>;
  /** Hex of a binary robust address → actor ID. */
  addresses: Record<string, number>;
}

export const SYSTEM_ACTOR = 0;
export const INIT_ACTOR = 1;
export const REWARD_ACTOR = 2;
export const CRON_ACTOR = 3;
export const POWER_ACTOR = 4;
export const MARKET_ACTOR = 5;
export const VERIFREG_ACTOR = 6;
export const DATACAP_ACTOR = 7;
export const EAM_ACTOR = 10;
export const BURNT_FUNDS_ACTOR = 99;
/** lotus genesis numbers user actors from 1000 (FirstNonSingletonActorId is 100; genesis reserves the rest). */
export const FIRST_USER_ACTOR = 1000;

export class StateTree {
  private readonly overlay = new Map<number, ActorRecord>();
  private readonly newAddresses = new Map<string, number>();
  private nextIdOverride: number | undefined;

  constructor(
    private readonly base: StateData | StateTree,
    private readonly readOnly = false,
  ) {}

  /** A child layer: changes stay in it until commit(). */
  fork(): StateTree {
    return new StateTree(this);
  }

  /** Writes this layer's changes into its parent layer. */
  commit(): void {
    const parent = this.base;
    if (!(parent instanceof StateTree)) throw new Error('commit() on a root state tree; use flush()');
    for (const [id, rec] of this.overlay) parent.overlay.set(id, rec);
    for (const [k, id] of this.newAddresses) parent.newAddresses.set(k, id);
    if (this.nextIdOverride !== undefined) parent.nextIdOverride = this.nextIdOverride;
    this.overlay.clear();
    this.newAddresses.clear();
    this.nextIdOverride = undefined;
  }

  /** Writes a root layer's changes into its StateData; returns what changed (for persistence). */
  flush(): { actors: number[]; addresses: [string, number][] } {
    const data = this.base;
    if (data instanceof StateTree) throw new Error('flush() on a child layer; use commit()');
    const actors = [...this.overlay.keys()];
    const addresses = [...this.newAddresses.entries()];
    for (const [id, rec] of this.overlay) data.actors[id] = rec;
    for (const [k, id] of addresses) data.addresses[k] = id;
    if (this.nextIdOverride !== undefined) data.nextId = this.nextIdOverride;
    this.overlay.clear();
    this.newAddresses.clear();
    this.nextIdOverride = undefined;
    return { actors, addresses };
  }

  /** The actor as it is in this layer. Do not mutate it: use mut(). */
  get(id: number): Readonly<ActorRecord> | undefined {
    const o = this.overlay.get(id);
    if (o) return o;
    return this.base instanceof StateTree ? this.base.get(id) : this.base.actors[id];
  }

  /** A mutable copy of the actor in this layer (copied from the layers below on first use). */
  mut<S = unknown>(id: number): ActorRecord<S> {
    if (this.readOnly) throw new ActorError(ExitCode.ErrReadOnly, 'state tree is read-only');
    let rec = this.overlay.get(id);
    if (!rec) {
      const below = this.base instanceof StateTree ? this.base.get(id) : this.base.actors[id];
      if (!below) throw new ActorError(ExitCode.SysErrInvalidReceiver, `actor ${id} not found`);
      rec = structuredClone(below) as ActorRecord;
      this.overlay.set(id, rec);
    }
    return rec as ActorRecord<S>;
  }

  /** The actor's state for reading. */
  stateOf<S>(id: number): Readonly<S> {
    const a = this.get(id);
    if (!a) throw new ActorError(ExitCode.ErrNotFound, `actor ${id} not found`);
    return a.state as S;
  }

  private lookupKey(key: string): number | undefined {
    const n = this.newAddresses.get(key);
    if (n !== undefined) return n;
    return this.base instanceof StateTree ? this.base.lookupKey(key) : this.base.addresses[key];
  }

  private get nextId(): number {
    if (this.nextIdOverride !== undefined) return this.nextIdOverride;
    return this.base instanceof StateTree ? this.base.nextId : this.base.nextId;
  }

  /** ID of the actor behind an address (ID addresses resolve to themselves if the actor exists). */
  resolve(addr: Address): number | undefined {
    if (addr.protocol === 0) {
      const id = addr.id();
      return this.get(id) ? id : undefined;
    }
    return this.lookupKey(addr.key());
  }

  /** Creates an actor with the next free ID; registers its robust address if given. */
  createActor(kind: ActorKind, state: unknown, robust?: Address, balance = 0n): number {
    if (this.readOnly) throw new ActorError(ExitCode.ErrReadOnly, 'state tree is read-only');
    const id = this.nextId;
    this.nextIdOverride = id + 1;
    const rec: ActorRecord = { id, kind, nonce: 0, balance, state };
    if (robust) {
      const key = robust.key();
      if (this.lookupKey(key) !== undefined)
        throw new ActorError(ExitCode.ErrIllegalArgument, 'address already in use');
      rec.robust = key;
      this.newAddresses.set(key, id);
    }
    this.overlay.set(id, rec);
    return id;
  }

  /** Creates a singleton (builtin) actor at a fixed ID. */
  createSingleton(id: number, kind: ActorKind, state: unknown, balance = 0n): void {
    if (this.get(id)) throw new Error(`actor ${id} already exists`);
    this.overlay.set(id, { id, kind, nonce: 0, balance, state });
  }

  /** Moves funds; the sender's balance never goes negative (SysErrInsufficientFunds). */
  transfer(from: number, to: number, amount: bigint): void {
    if (amount < 0n) throw new ActorError(ExitCode.SysErrForbidden, `negative transfer ${amount}`);
    if (amount === 0n || from === to) {
      if (!this.get(to)) throw new ActorError(ExitCode.SysErrInvalidReceiver, `actor ${to} not found`);
      return;
    }
    const src = this.mut(from);
    if (src.balance < amount) {
      throw new ActorError(
        ExitCode.SysErrInsufficientFunds,
        `transfer of ${amount} from ${from}: insufficient balance ${src.balance}`,
      );
    }
    const dst = this.mut(to);
    src.balance -= amount;
    dst.balance += amount;
  }

  /** All actor IDs visible in this layer, ascending. */
  ids(): number[] {
    const set = new Set<number>(this.overlay.keys());
    if (this.base instanceof StateTree) for (const id of this.base.ids()) set.add(id);
    else for (const k of Object.keys(this.base.actors)) set.add(Number(k));
    return [...set].sort((a, b) => a - b);
  }
}

export function emptyState(): StateData {
  return { nextId: FIRST_USER_ACTOR, actors: {}, addresses: {} };
}
