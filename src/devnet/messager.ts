/**
 * The messager (venus-messager `Message.*`, src/api/messager.ts; docs/spec/chain.md §Messager) the devnet plays:
 * clients push unsigned messages under an id; on each new head the messager fills gas and nonce, has the
 * registered wallet sign through the gateway (`WalletSign` with MsgMeta{Type:"message"}), pushes to the
 * mempool (UnFillMsg → FillMsg), and marks them OnChainMsg with the receipt once executed. Records persist
 * in the devnet database, so a restart keeps ids, states and receipts.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MessageJson } from '../api/full.js';
import { type MessageRecord, type MessagerAPI, MessagerErrorCode, type SendSpec } from '../api/messager.js';
import { logger } from '../common/log.js';
import {
  type Address,
  cidToJSON,
  encodeMessage,
  type Message,
  messageCid,
  messageFromJSON,
  messageSigningBytes,
  messageToJSON,
  type SignedMessage,
  signatureToJSON,
  signedMessageCid,
  toBase64,
} from '../fil/index.js';
import { type ApiImpl, rpcError } from '../rpc/index.js';
import type { Gateway } from './gateway.js';
import type { DevnetNode, MsgLookup } from './node.js';

const log = logger('devnet.messager');

/** Fill attempts (one per head) before a message whose gas estimation keeps failing is marked FailedMsg. */
const MAX_FILL_ATTEMPTS = 3;
/** How often the messages still waiting for a wallet are said again, per sender address. */
const WAIT_WARN_EVERY_MS = 60_000;

/** Who signs for the messager: the gateway, routing to the registered wallets (tests may plug in their own). */
export type MessageSigner = Pick<Gateway, 'has' | 'sign'>;

const State = { UnFillMsg: 1, FillMsg: 2, OnChainMsg: 3, FailedMsg: 4, NonceConflictMsg: 5 } as const;

interface Row {
  id: string;
  msg: string;
  spec: string | null;
  wallet: string;
  state: number;
  signed_cid: string | null;
  unsigned_cid: string | null;
  signed: string | null;
  height: number;
  tsk: string | null;
  receipt: string | null;
  error: string;
  /** MessagerErrorCode of `error`, when it is one the manager acts on */
  error_code: number | null;
  attempts: number;
  created: number;
  updated: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messager (
  id TEXT PRIMARY KEY, msg TEXT NOT NULL, spec TEXT, wallet TEXT NOT NULL, state INTEGER NOT NULL,
  signed_cid TEXT, unsigned_cid TEXT, signed TEXT, height INTEGER NOT NULL DEFAULT 0, tsk TEXT, receipt TEXT,
  error TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messager_state ON messager(state);
CREATE INDEX IF NOT EXISTS messager_signed ON messager(signed_cid);
CREATE INDEX IF NOT EXISTS messager_unsigned ON messager(unsigned_cid);
`;

export class Messager {
  private readonly events = new EventEmitter();
  private busy: Promise<void> | undefined;
  private again = false;
  private readonly onHead = () => this.kick();
  /** sender address → when its waiting messages were last said (a WARN per message, then once a minute) */
  private readonly waitWarned = new Map<string, number>();

  constructor(
    private readonly node: DevnetNode,
    private readonly gateway: MessageSigner,
  ) {
    node.db.exec(SCHEMA);
    // chains made before the record carried ErrorCode
    const cols = node.db.prepare('PRAGMA table_info(messager)').all() as { name: string }[];
    if (!cols.some((c) => c.name === 'error_code')) node.db.exec('ALTER TABLE messager ADD COLUMN error_code INTEGER');
    this.events.setMaxListeners(0);
    node.events.on('head', this.onHead);
  }

  close(): void {
    this.node.events.off('head', this.onHead);
  }

  private get db() {
    return this.node.db;
  }

  private row(id: string): Row | undefined {
    return this.db.prepare('SELECT * FROM messager WHERE id = ?').get(id) as Row | undefined;
  }

  /** Stores a message as UnFillMsg (an existing id is returned as is). */
  push(id: string, msg: Message, spec: SendSpec | null, wallet: string): string {
    if (this.row(id)) return id;
    const now = Date.now();
    this.db
      .prepare('INSERT INTO messager (id, msg, spec, wallet, state, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(
        id,
        JSON.stringify(messageToJSON(msg)),
        spec ? JSON.stringify(spec) : null,
        wallet,
        State.UnFillMsg,
        now,
        now,
      );
    log.info({ id, to: msg.to.toString(), method: msg.method }, 'message pushed');
    this.kick();
    return id;
  }

  /** Runs a fill/track pass now (coalesced: one at a time, one more if asked meanwhile). */
  kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.pass()
      .catch((e: Error) => log.error({ err: e.message }, 'messager pass failed'))
      .finally(() => {
        this.busy = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Waits for any pass under way (tests). */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  private update(id: string, fields: Partial<Row>): void {
    // a new error without a code clears the code of the one before
    this.write(id, 'error' in fields && !('error_code' in fields) ? { ...fields, error_code: null } : fields);
    this.events.emit('change', id);
  }

  /** The row update alone (inside a transaction the caller emits 'change' once it committed). */
  private write(id: string, fields: Partial<Row>): void {
    const keys = Object.keys(fields);
    const sets = keys.map((k) => `${k} = @${k}`).join(', ');
    this.db.prepare(`UPDATE messager SET ${sets}, updated = @updated WHERE id = @id`).run({
      ...fields,
      updated: Date.now(),
      id,
    });
  }

  private async pass(): Promise<void> {
    // track what is in the mempool
    const filled = this.db.prepare('SELECT * FROM messager WHERE state = ?').all(State.FillMsg) as Row[];
    for (const r of filled) {
      const found = this.node.searchMsg(r.signed_cid!);
      if (found) {
        this.update(r.id, { state: State.OnChainMsg, ...this.landed(found), error: this.receiptError(found) });
        log.info({ id: r.id, exit: found.receipt.exitCode, height: found.height - 1 }, 'message on chain');
        continue;
      }
      this.checkNonceTaken(r);
    }
    // fill new ones (and those whose nonce another message took), oldest first
    const unfilled = this.db
      .prepare('SELECT * FROM messager WHERE state = ? ORDER BY created')
      .all(State.UnFillMsg) as Row[];
    for (const r of unfilled) await this.fill(r);
  }

  private landed(found: MsgLookup): Pick<Row, 'height' | 'tsk' | 'receipt'> {
    return {
      height: found.height - 1,
      tsk: JSON.stringify([cidToJSON(found.tipset.cid)]),
      receipt: JSON.stringify({
        ExitCode: found.receipt.exitCode,
        Return: found.receipt.return.length ? toBase64(found.receipt.return) : null,
        GasUsed: found.receipt.gasUsed,
        EventsRoot: null,
      }),
    };
  }

  private receiptError(found: MsgLookup): string {
    return found.receipt.exitCode === 0 ? '' : (this.node.receiptError(found.message) ?? '');
  }

  /**
   * A filled message not on chain whose nonce the sender's state has passed: another message with that nonce
   * was executed. If it is this message re-signed with other gas (`mpool replace`), the record follows it as
   * NonceConflictMsg (venus-messager's ReplacedMsg) with its receipt. Otherwise this message never ran and can
   * never run (its nonce is spent): it goes back to UnFillMsg and is filled again with a fresh nonce.
   */
  private checkNonceTaken(r: Row): void {
    const sm = JSON.parse(r.signed!) as { Message: MessageJson };
    const mine = messageFromJSON(sm.Message);
    const id = this.node.lookupId(mine.from);
    const stateNonce = id === undefined ? 0 : this.node.state.actors[id]!.nonce;
    if (id === undefined || stateNonce <= mine.nonce || this.node.getMessage(r.signed_cid!)) return;
    const other = this.node.includedAtNonce(id, mine.nonce);
    const found = other && this.node.searchMsg(other.cid);
    if (other && found && sameCall(other.signed.message, mine)) {
      const m = other.signed.message;
      this.update(r.id, {
        state: State.NonceConflictMsg,
        signed_cid: other.cid.toString(),
        unsigned_cid: messageCid(m).toString(),
        signed: JSON.stringify({ Message: messageToJSON(m), Signature: signatureToJSON(other.signed.signature) }),
        ...this.landed(found),
        error: this.receiptError(found),
      });
      log.warn({ id: r.id, replacement: other.cid.toString(), nonce: mine.nonce }, 'message replaced on chain');
      return;
    }
    const why = `nonce ${mine.nonce} was taken by ${other ? `message ${other.cid}` : 'another message'}; filled again`;
    this.update(r.id, { state: State.UnFillMsg, signed_cid: null, unsigned_cid: null, signed: null, error: why });
    log.warn({ id: r.id, nonce: mine.nonce, other: other?.cid.toString() }, 'nonce taken by another message');
  }

  /**
   * UnFillMsg → FillMsg: nonce, gas, signature, mpool. The nonce is the sender's next one after the head's and
   * the mempool's messages (src/devnet/node.ts mpoolNonce); fills run one at a time, and the push and the
   * FillMsg record are one transaction in the database the mempool lives in, checked against the nonce again:
   * a message that took the nonce while the wallet was signing (a block, a MpoolPush from elsewhere) makes this
   * one start over with the next nonce instead of colliding, and a restart finds either both or neither.
   */
  private async fill(r: Row): Promise<void> {
    const msg = messageFromJSON(JSON.parse(r.msg));
    const spec = r.spec ? (JSON.parse(r.spec) as SendSpec) : null;
    const key = this.node.accountKey(msg.from);
    if (!key)
      return this.failFill(
        r,
        `from address ${msg.from.toString()} is not an account on chain`,
        MessagerErrorCode.NoSender,
        true,
      );
    if (!this.gateway.has(key.toString(), [r.wallet])) {
      // no wallet yet: wait for one to register (not counted as an attempt)
      const why = `no wallet registered for account ${JSON.stringify(r.wallet)} holds ${key.toString()} (is venus-wallet running, unlocked and registered?)`;
      this.waiting(r, key.toString(), why);
      return;
    }
    for (let round = 1; ; round++) {
      const expired = this.expired(spec);
      if (expired) return this.failFill(r, expired, MessagerErrorCode.Expired, true);
      let filled: Message;
      try {
        filled = await this.estimate(msg, key, spec);
      } catch (e) {
        return this.failFill(r, (e as Error).message, MessagerErrorCode.GasEstimation);
      }
      let sm: SignedMessage;
      try {
        const sig = await this.gateway.sign(key.toString(), [r.wallet], messageSigningBytes(filled), {
          Type: 'message',
          Extra: toBase64(encodeMessage(filled)),
        });
        sm = { message: filled, signature: sig };
      } catch (e) {
        // the wallet refused or went away (locked, restarted): the message waits for it, as for a missing one
        const why = `the wallet of account ${JSON.stringify(r.wallet)} did not sign for ${key.toString()}: ${(e as Error).message} (is venus-wallet running and unlocked?)`;
        return this.waiting(r, key.toString(), why);
      }
      let outcome: 'pushed' | 'taken' | 'gone' | 'expired';
      try {
        outcome = this.db.transaction(() => {
          const now = this.row(r.id);
          if (now?.state !== State.UnFillMsg) return 'gone';
          // the wallet may have taken long: a head that reached the expiry meanwhile still stops it here
          if (this.expired(spec)) return 'expired';
          if (this.node.mpoolNonce(key) !== filled.nonce) return 'taken';
          this.node.mpoolPush(sm);
          this.write(r.id, {
            state: State.FillMsg,
            signed_cid: signedMessageCid(sm).toString(),
            unsigned_cid: messageCid(filled).toString(),
            signed: JSON.stringify({ Message: messageToJSON(filled), Signature: signatureToJSON(sm.signature) }),
            error: '',
            error_code: null,
          });
          return 'pushed';
        })();
      } catch (e) {
        return this.failFill(r, `push: ${(e as Error).message}`, MessagerErrorCode.PushRefused);
      }
      if (outcome === 'gone') return; // marked bad meanwhile
      if (outcome === 'expired') return this.failFill(r, this.expired(spec)!, MessagerErrorCode.Expired, true);
      if (outcome === 'taken') {
        log.info({ id: r.id, nonce: filled.nonce, round }, 'nonce taken while signing; filling again');
        // not an attempt: the message is fine; the next pass retries if others keep taking the nonce
        if (round < MAX_FILL_ATTEMPTS) continue;
        this.update(r.id, { error: `nonce ${filled.nonce} taken while signing; will fill again` });
        return;
      }
      this.events.emit('change', r.id);
      log.info({ id: r.id, cid: signedMessageCid(sm).toString(), nonce: filled.nonce }, 'message filled and pushed');
      return;
    }
  }

  /**
   * A message that waits for its sender's wallet: the reason goes in its record (the sector-manager reads it) and in
   * a WARN, once for the message and then once a minute for every message from the address.
   */
  private waiting(r: Row, from: string, why: string): void {
    if (r.error === why) {
      const last = this.waitWarned.get(from) ?? 0;
      if (Date.now() - last < WAIT_WARN_EVERY_MS) return;
      this.waitWarned.set(from, Date.now());
      const n = (
        this.db
          .prepare('SELECT COUNT(*) AS n FROM messager WHERE state = ? AND error = ?')
          .get(State.UnFillMsg, why) as {
          n: number;
        }
      ).n;
      log.warn({ from, waiting: n }, `${n} message(s) from ${from} wait: ${why}`);
      return;
    }
    this.update(r.id, { error: why, error_code: MessagerErrorCode.WalletUnavailable });
    this.waitWarned.set(from, Date.now());
    log.warn({ id: r.id, from }, `message ${r.id} from ${from} waits: ${why}`);
  }

  /** Nonce and gas for `msg` from `key`, as the SendSpec asks. */
  private async estimate(msg: Message, key: Address, spec: SendSpec | null): Promise<Message> {
    const withNonce = { ...msg, from: key, nonce: this.node.mpoolNonce(key) };
    const over = spec?.gasOverEstimation && spec.gasOverEstimation > 0 ? spec.gasOverEstimation : 1.25;
    const maxFee = spec?.maxFee ? BigInt(spec.maxFee) : 0n;
    const filled = await this.node.estimateMessageGas(withNonce, maxFee, over);
    if (spec?.gasOverPremium && spec.gasOverPremium > 0 && msg.gasPremium === 0n) {
      filled.gasPremium = BigInt(Math.ceil(Number(filled.gasPremium) * spec.gasOverPremium));
      if (filled.gasPremium > filled.gasFeeCap) filled.gasFeeCap = filled.gasPremium;
    }
    const maxFeeCap = spec?.maxFeeCap ? BigInt(spec.maxFeeCap) : 0n;
    if (maxFeeCap > 0n && filled.gasFeeCap > maxFeeCap) filled.gasFeeCap = maxFeeCap;
    if (filled.gasPremium > filled.gasFeeCap) filled.gasPremium = filled.gasFeeCap;
    return filled;
  }

  /**
   * SendSpec.expireEpoch as venus-messager reads it: from a head at that epoch on the message is not sent (it
   * could only be included later, e.g. a Window PoSt after its deadline closed, which the chain runs and fails).
   */
  private expired(spec: SendSpec | null): string | undefined {
    const head = this.node.head.height;
    if (!spec?.expireEpoch || head < spec.expireEpoch) return undefined;
    return `expired: not sent from epoch ${spec.expireEpoch} on (head ${head})`;
  }

  private failFill(r: Row, why: string, code: MessagerErrorCode, permanent = false): void {
    const attempts = r.attempts + 1;
    if (permanent || attempts >= MAX_FILL_ATTEMPTS) {
      this.update(r.id, { state: State.FailedMsg, error: why, error_code: code, attempts });
      log.warn({ id: r.id, err: why }, 'message failed');
    } else {
      this.update(r.id, { error: why, error_code: code, attempts });
    }
  }

  record(r: Row): MessageRecord {
    const unsigned = JSON.parse(r.signed ?? 'null')?.Message ?? JSON.parse(r.msg);
    const m = unsigned as MessageJson;
    const sig = r.signed ? JSON.parse(r.signed).Signature : null;
    const receipt = r.receipt ? JSON.parse(r.receipt) : null;
    return {
      ID: r.id,
      UnsignedCid: r.unsigned_cid ? { '/': r.unsigned_cid } : null,
      SignedCid: r.signed_cid ? { '/': r.signed_cid } : null,
      Version: m.Version ?? 0,
      To: m.To,
      From: m.From,
      Nonce: m.Nonce,
      Value: m.Value,
      GasLimit: m.GasLimit,
      GasFeeCap: m.GasFeeCap,
      GasPremium: m.GasPremium,
      Method: m.Method,
      Params: m.Params,
      Signature: sig,
      Height: r.height,
      Confidence: r.receipt !== null ? this.node.head.height - r.height : 0,
      Receipt: receipt,
      TipSetKey: r.tsk ? JSON.parse(r.tsk) : null,
      Meta: r.spec ? JSON.parse(r.spec) : null,
      WalletName: r.wallet,
      State: r.state as MessageRecord['State'],
      ErrorMsg: r.error,
      ...(r.error_code !== null && r.error ? { ErrorCode: r.error_code as MessagerErrorCode } : {}),
      CreatedAt: new Date(r.created).toISOString(),
      UpdatedAt: new Date(r.updated).toISOString(),
    };
  }

  get(id: string): MessageRecord {
    const r = this.row(id);
    if (!r) throw rpcError(`message ${id} not found`);
    return this.record(r);
  }

  /** Resolves when the message is on chain with Confidence > confidence, or at once when it failed. */
  wait(id: string, confidence: number, signal?: AbortSignal): Promise<MessageRecord> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const r = this.row(id);
        if (!r) {
          cleanup();
          reject(rpcError(`message ${id} not found`));
          return true;
        }
        const rec = this.record(r);
        // a replaced message (NonceConflictMsg) is followed like an on-chain one: its replacement's receipt
        const executed = r.state === State.OnChainMsg || (r.state === State.NonceConflictMsg && r.receipt !== null);
        const done =
          (executed && rec.Confidence > confidence) ||
          r.state === State.FailedMsg ||
          (r.state === State.NonceConflictMsg && r.receipt === null);
        if (done) {
          cleanup();
          resolve(rec);
        }
        return done;
      };
      const onEvent = () => void check();
      const onAbort = () => {
        cleanup();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const cleanup = () => {
        this.node.events.off('head', onEvent);
        this.events.off('change', onEvent);
        signal?.removeEventListener('abort', onAbort);
      };
      if (check()) return;
      this.node.events.on('head', onEvent);
      this.events.on('change', onEvent);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  impl(): ApiImpl<typeof MessagerAPI> {
    const parse = (m: MessageJson): Message => {
      try {
        return messageFromJSON({ ...m, GasLimit: m.GasLimit ?? 0 });
      } catch (e) {
        throw rpcError(`invalid message: ${(e as Error).message}`);
      }
    };
    const byCid = (col: 'signed_cid' | 'unsigned_cid', cid: { '/': string }) => {
      const r = this.db.prepare(`SELECT * FROM messager WHERE ${col} = ?`).get(cid['/']) as Row | undefined;
      if (!r) throw rpcError(`message ${cid['/']} not found`);
      return this.record(r);
    };
    return {
      PushMessage: (msg, spec, ctx) => this.push(randomUUID(), parse(msg), spec, ctx.token?.name ?? ''),
      PushMessageWithId: (id, msg, spec, ctx) => {
        if (!id) throw rpcError('empty message id');
        return this.push(id, parse(msg), spec, ctx.token?.name ?? '');
      },
      HasMessageByUid: (id) => this.row(id) !== undefined,
      GetMessageByUid: (id) => this.get(id),
      GetMessageBySignedCid: (cid) => byCid('signed_cid', cid),
      GetMessageByUnsignedCid: (cid) => byCid('unsigned_cid', cid),
      WaitMessage: (id, confidence, ctx) => this.wait(id, confidence, ctx.signal),
      ListMessageByAddress: (addr) => {
        const rows = (this.db.prepare('SELECT * FROM messager ORDER BY created').all() as Row[])
          .map((r) => this.record(r))
          .filter((m) => m.From === addr);
        return rows.length ? rows : null;
      },
      MarkBadMessage: (id) => {
        const r = this.row(id);
        if (!r) throw rpcError(`message ${id} not found`);
        if (r.state === State.OnChainMsg) throw rpcError(`message ${id} is already on chain`);
        this.update(id, { state: State.FailedMsg, error: 'marked bad' });
        return null;
      },
      ReplaceMessage: () => {
        throw rpcError('ReplaceMessage is not supported by the devnet messager');
      },
    };
  }
}

/** The same call (sender, receiver, value, method, params): a replacement differs in gas only. */
function sameCall(a: Message, b: Message): boolean {
  return (
    a.to.toString() === b.to.toString() &&
    a.value === b.value &&
    a.method === b.method &&
    Buffer.compare(Buffer.from(a.params), Buffer.from(b.params)) === 0
  );
}
