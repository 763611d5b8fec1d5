/**
 * What happened to a message the manager pushed, in words an operator can act on: the Window PoSt poster and the
 * commitment manager read the messager's record and name why a message is stuck or failed, with a bounded reason
 * (the `reason` label of venus_wdpost_failures_total and venus_commit_message_failures_total) and, where there is
 * one, the command that fixes it. A locked or absent wallet is the usual cause: the messager keeps the message
 * unsigned (UnFillMsg with an error) until a wallet that holds the sender registers with the gateway.
 */
import { type MessageRecord, MessagerErrorCode, MessageState } from '../../api/messager.js';
import { executedOk } from './msg.js';

/** Why a message (or a Window PoSt before it was a message) did not land. A closed set: metric labels. */
export type FailureReason =
  /** generating or checking the proof failed */
  | 'proving'
  /** the messager refused or did not answer the push (address, token, connection) */
  | 'push'
  /** the messager's answer about the message could not be read */
  | 'messager'
  /** no wallet signs for the sender: venus-wallet down, locked, or not registered with the gateway */
  | 'signing'
  /** the messager could not estimate gas (the message would fail, or the sender lacks funds) */
  | 'gas'
  /** the message failed on chain (exit code) or the messager gave it up */
  | 'landing'
  /** the deadline closed before the proof landed, or before it could be sent */
  | 'deadline_closed';

export const FAILURE_REASONS: readonly FailureReason[] = [
  'proving',
  'push',
  'messager',
  'signing',
  'gas',
  'landing',
  'deadline_closed',
];

/** The fix an operator runs for a signing failure. */
export const WALLET_FIX =
  'is venus-wallet running, unlocked (`venus-wallet unlock`) and registered with the gateway ([APIRegisterHub] in its config.toml)?';

export interface Outcome {
  status: 'landed' | 'failed' | 'pending';
  /** set when failed, or when pending with an error the messager reported (stuck) */
  reason?: FailureReason;
  /** the messager's words (and exit code), without the fix */
  detail?: string;
  /** what the operator can do, if anything specific */
  fix?: string;
}

/**
 * Which reason a messager's error means: by its code (MessageRecord.ErrorCode), which this project's messager
 * sends with every fill or push error. venus-messager sends no code; only for such a record are its words read,
 * as the last resort that names at least the common cases (its wording is not an interface).
 */
export function reasonOfError(rec: Pick<MessageRecord, 'ErrorMsg' | 'ErrorCode'>): FailureReason {
  switch (rec.ErrorCode) {
    case MessagerErrorCode.WalletUnavailable:
      return 'signing';
    case MessagerErrorCode.GasEstimation:
      return 'gas';
    case MessagerErrorCode.NoSender:
    case MessagerErrorCode.PushRefused:
    case MessagerErrorCode.Expired:
      return 'landing';
    case undefined:
      return reasonOfUncodedError(rec.ErrorMsg);
    default:
      return 'landing'; // a code this build does not know: the message did not land, no more is known
  }
}

/** venus-messager's words (it sends no code): the only text this module reads. */
function reasonOfUncodedError(text: string): FailureReason {
  if (/wallet|sign|locked|not registered|no key|key not found/i.test(text)) return 'signing';
  if (/gas|estimat|insufficient|funds|balance/i.test(text)) return 'gas';
  return 'landing';
}

function withFix(o: Outcome): Outcome {
  if (o.reason === 'signing') return { ...o, fix: WALLET_FIX };
  if (o.reason === 'gas') return { ...o, fix: 'check the sender’s balance and the message’s parameters' };
  return o;
}

/** Reads a messager record: landed, failed (with why) or pending (stuck, with why, when the messager says so). */
export function messageOutcome(rec: MessageRecord): Outcome {
  if (executedOk(rec)) return { status: 'landed' };
  const exit = rec.Receipt?.ExitCode;
  if ((rec.State === MessageState.OnChainMsg || rec.State === MessageState.NonceConflictMsg) && rec.Receipt) {
    return {
      status: 'failed',
      reason: 'landing',
      detail: `exit code ${exit} at height ${rec.Height}${rec.ErrorMsg ? `: ${rec.ErrorMsg}` : ''}`,
    };
  }
  if (rec.State === MessageState.NonceConflictMsg)
    return {
      status: 'failed',
      reason: 'landing',
      detail: `its nonce was used by another message${rec.ErrorMsg ? ` (${rec.ErrorMsg})` : ''}`,
    };
  if (rec.State === MessageState.FailedMsg) {
    const detail = `the messager gave it up: ${rec.ErrorMsg || 'no reason given'}`;
    return withFix({ status: 'failed', reason: reasonOfError(rec), detail });
  }
  if (rec.State === MessageState.UnFillMsg && rec.ErrorMsg) {
    const reason = reasonOfError(rec);
    return withFix({ status: 'pending', reason: reason === 'landing' ? 'push' : reason, detail: rec.ErrorMsg });
  }
  return { status: 'pending' };
}

/** One line for a log or a post_results row: "signing: wallet not found (is venus-wallet running …?)". */
export function describeOutcome(o: Pick<Outcome, 'reason' | 'detail' | 'fix'>): string {
  return `${o.reason ?? 'unknown'}: ${o.detail ?? 'no detail'}${o.fix ? ` (${o.fix})` : ''}`;
}

/**
 * Logs at most once per `everyMs` per key (a locked wallet is reported once a minute, not on every head).
 * `ready(key)` says whether to log now and, if so, starts a new period.
 */
export class Throttle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly everyMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  ready(key: string): boolean {
    const t = this.now();
    const prev = this.last.get(key);
    if (prev !== undefined && t - prev < this.everyMs) return false;
    this.last.set(key, t);
    // bounded: keys of long-finished messages go
    if (this.last.size > 1000) {
      for (const [k, v] of this.last) if (t - v >= this.everyMs) this.last.delete(k);
    }
    return true;
  }

  forget(key: string): void {
    this.last.delete(key);
  }
}
