/**
 * The devnet chain node: genesis, the state at the head, the mempool, block production on a clock, message
 * lookup, gas estimation, and SQLite persistence (WAL; each new tipset is one transaction, so a restart
 * resumes at the same height with the same state).
 *
 * Execution follows lotus: the messages included in tipset H run at epoch H (then the epoch's cron) when
 * tipset H+1 is produced; H+1's ParentStateRoot and ParentMessageReceipts are their result (produce.ts).
 */
import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import { logger } from '../common/log.js';
import {
  type Address,
  CID,
  checkMessageValid,
  checkSignedMessage,
  decodeSignedMessage,
  encodeMessage,
  encodeSignedMessage,
  type KeyInfo,
  type Message,
  messageCid,
  Protocol,
  type SignedMessage,
  SigType,
  signedMessageCid,
  signMessage,
} from '../fil/index.js';
import {
  type BlockHeader,
  blockCid,
  ChainRandomness,
  computeNextBaseFee,
  decodeBlockHeader,
  type TipSet,
} from './chain.js';
import { ExitCode, exitCodeName } from './exitcode.js';
import { parseState } from './jsonc.js';
import type { MinerState } from './miner.js';
import { type DevnetConfig, type MessageRow, openDb, parseConfig, writeGenesis } from './node-db.js';
import type { Policy } from './policy.js';
import { chainLength, produceTipSet } from './produce.js';
import type { ProofVerifier } from './runtime.js';
import { emptyState, type StateData, StateTree } from './state.js';
import { type ApplyResult, accountKey, applyMessage, messageInclusionGas, type Receipt } from './vm.js';

const log = logger('devnet.chain');

export { type DevnetConfig, INITIAL_BASE_FEE } from './node-db.js';
export { chainLength } from './produce.js';

export interface MsgLookup {
  /** CID of the message as included on chain (the signed CID for secp256k1, the unsigned for BLS). */
  message: CID;
  receipt: Receipt;
  /** The tipset where the message was executed (the child of the inclusion tipset). */
  tipset: TipSet;
  height: number;
}

export interface HeadChange {
  type: 'current' | 'apply' | 'revert';
  tipset: TipSet;
}

/** lotus MinGasPremium. */
export const MIN_GAS_PREMIUM = 100_000n;
/** lotus ReplaceByFeeRatio: a replacing message needs a 25% higher premium. */
const RBF_NUM = 125n;
const RBF_DENOM = 100n;

export class DevnetNode {
  readonly events = new EventEmitter();
  readonly policy: Policy;
  readonly config: DevnetConfig;
  /** Committed state at the head: the result of executing everything before the head's messages. */
  state: StateData;
  head: TipSet;
  private readonly blocks = new Map<number, BlockHeader>();
  private timer: NodeJS.Timeout | undefined;
  private producing: Promise<TipSet> | undefined;
  private closed = false;
  /** Keys the node can sign with (genesis accounts): MpoolPushMessage, `send`. */
  readonly wallet = new Map<string, KeyInfo>();

  private constructor(
    readonly db: Database.Database,
    readonly verifier: ProofVerifier,
  ) {
    const cfg = this.meta('config');
    if (!cfg) throw new Error('devnet database has no genesis (run venus-devnet init)');
    this.config = parseConfig(cfg);
    this.policy = this.config.policy;
    this.state = this.loadState();
    const h = this.db.prepare('SELECT MAX(height) AS h FROM blocks').get() as { h: number | null };
    if (h.h === null) throw new Error('devnet database has no blocks');
    this.head = this.tipSetAt(h.h);
    this.events.setMaxListeners(0);
  }

  /** Creates the database and genesis (state and block 0). Fails if the database already has a chain. */
  static create(path: string, config: DevnetConfig, verifier: ProofVerifier): DevnetNode {
    const db = openDb(path);
    if (db.prepare("SELECT value FROM meta WHERE key = 'config'").get()) {
      db.close();
      throw new Error(`${path} already holds a devnet chain`);
    }
    db.transaction(() => writeGenesis(db, config))();
    return new DevnetNode(db, verifier);
  }

  /** Opens an existing devnet database at its head. */
  static open(path: string, verifier: ProofVerifier): DevnetNode {
    return new DevnetNode(openDb(path), verifier);
  }

  private meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  private loadState(): StateData {
    const s = emptyState();
    for (const r of this.db.prepare('SELECT id, body FROM actors').iterate() as Iterable<{
      id: number;
      body: string;
    }>) {
      s.actors[r.id] = parseState(r.body);
    }
    for (const r of this.db.prepare('SELECT key, id FROM addresses').iterate() as Iterable<{
      key: string;
      id: number;
    }>) {
      s.addresses[r.key] = r.id;
    }
    s.nextId = Number(this.meta('nextId'));
    return s;
  }

  // ------------------------------------------------------------------------------------------------
  // chain access

  blockAt(height: number): BlockHeader {
    const cached = this.blocks.get(height);
    if (cached) return cached;
    const row = this.db.prepare('SELECT header FROM blocks WHERE height = ?').get(height) as
      | { header: Buffer }
      | undefined;
    if (!row) throw new Error(`no block at height ${height}`);
    const h = decodeBlockHeader(new Uint8Array(row.header));
    if (this.blocks.size > 2000) this.blocks.clear();
    this.blocks.set(height, h);
    return h;
  }

  tipSetAt(height: number): TipSet {
    const block = this.blockAt(height);
    return { height, block, cid: blockCid(block) };
  }

  /** The tipset with this block CID, or undefined. */
  tipSetByCid(cid: CID | string): TipSet | undefined {
    const row = this.db.prepare('SELECT height FROM blocks WHERE cid = ?').get(cid.toString()) as
      | { height: number }
      | undefined;
    return row ? this.tipSetAt(row.height) : undefined;
  }

  /** Chain randomness over the chain ending at `height` (default: the head). */
  randomness(height = this.head.height): ChainRandomness {
    return new ChainRandomness(height, (h) => this.blockAt(h));
  }

  /** A read-only view of the head state. Mutations land in the view's own layer and are dropped. */
  view(): StateTree {
    return new StateTree(this.state);
  }

  /** Raw CBOR of a chain object (block header, message, or a root the devnet recorded). */
  readObj(cid: CID): Uint8Array | undefined {
    const s = cid.toString();
    const b = this.db.prepare('SELECT header FROM blocks WHERE cid = ?').get(s) as { header: Buffer } | undefined;
    if (b) return new Uint8Array(b.header);
    const m = this.db.prepare('SELECT signed FROM messages WHERE cid = ? OR unsigned_cid = ? LIMIT 1').get(s, s) as
      | { signed: Buffer }
      | undefined;
    if (m) {
      const sm = decodeSignedMessage(new Uint8Array(m.signed));
      return messageCid(sm.message).toString() === s ? encodeMessage(sm.message) : encodeSignedMessage(sm);
    }
    const o = this.db.prepare('SELECT data FROM objects WHERE cid = ?').get(s) as { data: Buffer } | undefined;
    return o ? new Uint8Array(o.data) : undefined;
  }

  /** Messages included in the block at `height`, in order. */
  blockMessages(height: number): { cid: CID; signed: SignedMessage }[] {
    const rows = this.db
      .prepare('SELECT cid, signed FROM messages WHERE block_height = ? ORDER BY idx')
      .all(height) as MessageRow[];
    return rows.map((r) => ({ cid: CID.parse(r.cid), signed: decodeSignedMessage(new Uint8Array(r.signed)) }));
  }

  /** Receipts of the messages executed to produce the state of the tipset at `execHeight`. */
  receiptsAt(execHeight: number): Receipt[] {
    const rows = this.db
      .prepare('SELECT exit_code, ret, gas_used FROM receipts WHERE exec_height = ? ORDER BY idx')
      .all(execHeight) as { exit_code: number; ret: Buffer; gas_used: number }[];
    return rows.map((r) => ({ exitCode: r.exit_code, return: new Uint8Array(r.ret), gasUsed: r.gas_used }));
  }

  /** A message by its signed or unsigned CID. */
  getMessage(cid: CID | string): SignedMessage | undefined {
    const s = cid.toString();
    const m = this.db.prepare('SELECT signed FROM messages WHERE cid = ? OR unsigned_cid = ? LIMIT 1').get(s, s) as
      | { signed: Buffer }
      | undefined;
    return m ? decodeSignedMessage(new Uint8Array(m.signed)) : undefined;
  }

  /** The message from `sender` (actor ID) with `nonce` that went into a block, if one did. */
  includedAtNonce(sender: number, nonce: number): { cid: CID; signed: SignedMessage } | undefined {
    const r = this.db
      .prepare('SELECT cid, signed FROM messages WHERE sender = ? AND nonce = ? AND block_height IS NOT NULL LIMIT 1')
      .get(sender, nonce) as MessageRow | undefined;
    return r ? { cid: CID.parse(r.cid), signed: decodeSignedMessage(new Uint8Array(r.signed)) } : undefined;
  }

  /** StateSearchMsg: where a message (signed or unsigned CID) was executed, if it has been. */
  searchMsg(cid: CID | string): MsgLookup | undefined {
    const s = cid.toString();
    const row = this.db
      .prepare(
        `SELECT m.cid AS cid, r.exec_height AS h, r.exit_code AS e, r.ret AS ret, r.gas_used AS g
         FROM messages m JOIN receipts r ON r.cid = m.cid
         WHERE (m.cid = ? OR m.unsigned_cid = ?) LIMIT 1`,
      )
      .get(s, s) as { cid: string; h: number; e: number; ret: Buffer; g: number } | undefined;
    if (!row || row.h > this.head.height) return undefined;
    return {
      message: CID.parse(row.cid),
      receipt: { exitCode: row.e, return: new Uint8Array(row.ret), gasUsed: row.g },
      tipset: this.tipSetAt(row.h),
      height: row.h,
    };
  }

  /** Why a message failed, as the actor said (not part of the receipt; for logs and the messager). */
  receiptError(cid: CID | string): string | undefined {
    const row = this.db.prepare('SELECT error FROM receipts WHERE cid = ?').get(cid.toString()) as
      | { error: string | null }
      | undefined;
    return row?.error ?? undefined;
  }

  /** StateWaitMsg: resolves once the message has `confidence` tipsets on top of its execution tipset. */
  waitMsg(cid: CID | string, confidence: number, signal?: AbortSignal): Promise<MsgLookup> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const r = this.searchMsg(cid);
        if (r && this.head.height - r.height >= confidence) {
          cleanup();
          resolve(r);
          return true;
        }
        return false;
      };
      const onHead = () => void check();
      const onAbort = () => {
        cleanup();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const cleanup = () => {
        this.events.off('head', onHead);
        signal?.removeEventListener('abort', onAbort);
      };
      if (check()) return;
      this.events.on('head', onHead);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // ------------------------------------------------------------------------------------------------
  // accounts and mempool

  /** ID of an address in the head state. */
  lookupId(a: Address): number | undefined {
    return this.view().resolve(a);
  }

  /** Key address (f1/f3) of an account. */
  accountKey(a: Address): Address | undefined {
    const id = this.lookupId(a);
    if (id === undefined) return a.protocol === Protocol.BLS || a.protocol === Protocol.Secp256k1 ? a : undefined;
    const rec = this.state.actors[id];
    return rec ? accountKey(rec) : undefined;
  }

  /**
   * The sender's nonce once the head's own messages have run (Lotus' mpool reads the actor *after* the head,
   * GetActorAfter). The state here is the head's parent state: the messages included in the head only execute
   * when the next tipset is produced, so the state nonce alone would hand their nonces out a second time.
   */
  private nonceAfterHead(id: number, stateNonce: number): number {
    let next = stateNonce;
    const rows = this.db
      .prepare('SELECT nonce FROM messages WHERE block_height = ? AND sender = ? AND nonce >= ? ORDER BY nonce')
      .all(this.head.height, id, stateNonce) as { nonce: number }[];
    for (const r of rows) if (r.nonce === next) next++;
    return next;
  }

  /** Next nonce for an address: after the head's messages and its pending ones (MpoolGetNonce). */
  mpoolNonce(a: Address): number {
    const id = this.lookupId(a);
    if (id === undefined) return 0;
    let next = this.nonceAfterHead(id, this.state.actors[id]!.nonce);
    const rows = this.db
      .prepare('SELECT nonce FROM messages WHERE block_height IS NULL AND sender = ? AND nonce >= ? ORDER BY nonce')
      .all(id, next) as { nonce: number }[];
    for (const r of rows) if (r.nonce === next) next++;
    return next;
  }

  pending(): SignedMessage[] {
    const rows = this.db
      .prepare('SELECT signed FROM messages WHERE block_height IS NULL ORDER BY sender, nonce')
      .all() as MessageRow[];
    return rows.map((r) => decodeSignedMessage(new Uint8Array(r.signed)));
  }

  /** Validates and adds a signed message to the mempool (MpoolPush). Returns its chain CID. */
  mpoolPush(sm: SignedMessage): CID {
    const m = sm.message;
    const size = chainLength(sm);
    checkMessageValid(m, messageInclusionGas(size));
    if (m.gasFeeCap < this.policy.minimumBaseFee) {
      throw new Error(`mpool push: gas fee cap too low: ${m.gasFeeCap} < ${this.policy.minimumBaseFee}`);
    }
    const view = this.view();
    const id = view.resolve(m.from);
    const rec = id === undefined ? undefined : view.get(id);
    if (!rec) throw new Error(`mpool push: sender ${m.from.toString()} not found`);
    const key = accountKey(rec);
    if (!key) throw new Error(`mpool push: sender ${m.from.toString()} is not an account`);
    const expectType = key.protocol === Protocol.BLS ? SigType.BLS : SigType.Secp256k1;
    if (sm.signature.type !== expectType) throw new Error('mpool push: signature type does not match the sender key');
    checkSignedMessage(sm, key);
    // against the nonce after the head's messages, as Lotus: one with a nonce the head already holds would
    // only be dropped once the head executes (and look like a replaced message to whoever sent it)
    const minNonce = this.nonceAfterHead(id!, rec.nonce);
    if (m.nonce < minNonce) throw new Error(`mpool push: nonce too low: ${m.nonce} < ${minNonce}`);
    const required = BigInt(m.gasLimit) * m.gasFeeCap + m.value;
    if (rec.balance < required) {
      throw new Error(`mpool push: not enough funds (required: ${required}, balance: ${rec.balance})`);
    }
    const cid = signedMessageCid(sm);
    const existing = this.db
      .prepare('SELECT cid, signed FROM messages WHERE block_height IS NULL AND sender = ? AND nonce = ?')
      .get(id, m.nonce) as MessageRow | undefined;
    if (existing) {
      if (existing.cid === cid.toString()) return cid;
      const old = decodeSignedMessage(new Uint8Array(existing.signed)).message;
      if (m.gasPremium * RBF_DENOM < old.gasPremium * RBF_NUM) {
        throw new Error(
          `mpool push: message with nonce ${m.nonce} already in mpool, increase GasPremium to ${(old.gasPremium * RBF_NUM) / RBF_DENOM + 1n} from ${old.gasPremium} to replace`,
        );
      }
      this.db.prepare('DELETE FROM messages WHERE cid = ?').run(existing.cid);
    }
    const dup = this.db.prepare('SELECT block_height FROM messages WHERE cid = ?').get(cid.toString());
    if (dup) return cid;
    this.db
      .prepare(
        'INSERT INTO messages (cid, unsigned_cid, signed, sender, nonce, block_height, idx, received) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?)',
      )
      .run(cid.toString(), messageCid(m).toString(), Buffer.from(encodeSignedMessage(sm)), id, m.nonce, Date.now());
    this.events.emit('mpool', cid);
    return cid;
  }

  /** Signs with a key the node holds and pushes (MpoolPushMessage); fills nonce and gas if unset. */
  async mpoolPushMessage(m: Message, maxFee = 0n): Promise<SignedMessage> {
    const key = this.accountKey(m.from);
    const ki = key && this.wallet.get(key.key());
    if (!key || !ki) throw new Error(`the devnet holds no key for ${m.from.toString()}`);
    const filled = { ...m, from: m.from, nonce: this.mpoolNonce(m.from) };
    const est = await this.estimateMessageGas(filled, maxFee);
    const sm = signMessage(ki, est);
    this.mpoolPush(sm);
    return sm;
  }

  // ------------------------------------------------------------------------------------------------
  // execution without inclusion: estimation and StateCall

  /** Execution at `epoch`, with randomness from the chain up to `randHeight` (default: `epoch`). */
  private execContext(epoch: number, baseFee: bigint, randHeight = epoch) {
    return {
      policy: this.policy,
      epoch,
      baseFee,
      rand: this.randomness(randHeight),
      verifier: this.verifier,
    };
  }

  /**
   * Runs a message on a throw-away copy of the head state (StateCall, gas estimation); never included.
   * Like lotus (vmHeight = head + 1) it runs at the epoch the message would execute in if included next.
   */
  async call(m: Message, opts: { skipSenderChecks?: boolean; signatureBytes?: number } = {}): Promise<ApplyResult> {
    const tree = this.view();
    const size = encodeMessage(m).length + (opts.signatureBytes ?? 0);
    const ctx = this.execContext(this.head.height + 1, this.nextBaseFee(), this.head.height);
    return applyMessage(tree, ctx, m, size, {
      skipSenderChecks: opts.skipSenderChecks ?? true,
    });
  }

  /** GasEstimateGasLimit: gas used by the message at the head, or an error if it would fail. */
  async estimateGasLimit(m: Message): Promise<number> {
    const key = this.accountKey(m.from);
    const sigBytes = key?.protocol === Protocol.Secp256k1 ? 69 : 0;
    const id = this.lookupId(m.from);
    const probe: Message = {
      ...m,
      gasLimit: this.policy.blockGasLimit,
      gasFeeCap: this.policy.minimumBaseFee + 1n,
      gasPremium: 1n,
      nonce: id === undefined ? m.nonce : this.state.actors[id]!.nonce,
    };
    const r = await this.call(probe, { skipSenderChecks: true, signatureBytes: sigBytes });
    if (r.receipt.exitCode !== ExitCode.Ok) {
      throw new Error(`message execution failed: exit ${exitCodeName(r.receipt.exitCode)}, reason: ${r.error ?? ''}`);
    }
    return r.receipt.gasUsed;
  }

  /** GasEstimateFeeCap: the parent base fee grown for `maxQueueBlocks` full blocks (×1.125 each), plus the premium. */
  estimateFeeCap(m: Message, maxQueueBlocks = 20): bigint {
    let fee = this.nextBaseFee();
    for (let i = 0; i < maxQueueBlocks; i++) fee = (fee * 1125n) / 1000n;
    return fee + m.gasPremium;
  }

  /** GasEstimateGasPremium: the devnet's blocks are never full, so the minimum premium suffices. */
  estimateGasPremium(): bigint {
    return MIN_GAS_PREMIUM;
  }

  /** GasEstimateMessageGas: fills GasLimit (× over-estimation), GasPremium and GasFeeCap where unset. */
  async estimateMessageGas(m: Message, maxFee = 0n, overEstimation = 1.25): Promise<Message> {
    const out = { ...m };
    if (out.gasLimit === 0) {
      const used = await this.estimateGasLimit(out);
      out.gasLimit = Math.min(Math.ceil(used * overEstimation), this.policy.blockGasLimit);
    }
    if (out.gasPremium === 0n) out.gasPremium = this.estimateGasPremium();
    if (out.gasFeeCap === 0n) out.gasFeeCap = this.estimateFeeCap(out, 20);
    // lotus capGasFee: never pay more than maxFee in total
    if (maxFee > 0n && BigInt(out.gasLimit) * out.gasFeeCap > maxFee) {
      out.gasFeeCap = maxFee / BigInt(out.gasLimit);
      if (out.gasPremium > out.gasFeeCap) out.gasPremium = out.gasFeeCap;
    }
    return out;
  }

  /** Base fee that the next tipset's messages will pay. */
  nextBaseFee(): bigint {
    const msgs = this.blockMessages(this.head.height);
    const used = msgs.reduce((s, x) => s + x.signed.message.gasLimit, 0);
    return computeNextBaseFee(this.head.block.parentBaseFee, used, this.policy);
  }

  // ------------------------------------------------------------------------------------------------
  // block production

  /** Produces the next tipset now (waits for one already under way). */
  async mine(): Promise<TipSet> {
    while (this.producing) await this.producing;
    this.producing = this.produce().finally(() => {
      this.producing = undefined;
    });
    return this.producing;
  }

  /** Mines until the head reaches `height`. */
  async mineUntil(height: number): Promise<TipSet> {
    while (this.head.height < height) await this.mine();
    return this.head;
  }

  private async produce(): Promise<TipSet> {
    if (this.closed) throw new Error('devnet node is closed');
    const parent = this.head;
    const ts = await produceTipSet(this, this.execContext(parent.height, parent.block.parentBaseFee));
    this.blocks.set(ts.height, ts.block);
    this.head = ts;
    this.events.emit('head', { type: 'apply', tipset: ts } satisfies HeadChange);
    return ts;
  }

  // ------------------------------------------------------------------------------------------------
  // clock

  /** Starts producing a tipset every blockTimeMs. */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = async () => {
      const started = Date.now();
      try {
        await this.mine();
      } catch (e) {
        if (!this.closed)
          log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'block production failed');
      }
      if (this.closed || !this.timer) return;
      this.timer = setTimeout(tick, Math.max(0, this.config.blockTimeMs - (Date.now() - started)));
    };
    this.timer = setTimeout(tick, this.config.blockTimeMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    while (this.producing) await this.producing.catch(() => undefined);
    this.closed = true;
    this.db.close();
  }

  // ------------------------------------------------------------------------------------------------
  // queries

  minerState(a: Address): { id: number; st: MinerState } | undefined {
    const id = this.lookupId(a);
    if (id === undefined) return undefined;
    const rec = this.state.actors[id];
    if (rec?.kind !== 'miner') return undefined;
    return { id, st: rec.state as MinerState };
  }

  minerIds(): number[] {
    return Object.values(this.state.actors)
      .filter((a) => a.kind === 'miner')
      .map((a) => a.id)
      .sort((a, b) => a - b);
  }
}
