/**
 * Block production: the head's messages run at epoch H (then the epoch's cron), the pending messages that fit
 * are selected against the result, and block H+1, whose ParentStateRoot and ParentMessageReceipts are that
 * execution's result, is written in one transaction. DevnetNode.mine makes it the head.
 */
import type Database from 'better-sqlite3';
import { logger } from '../common/log.js';
import {
  type Address,
  blake2b256,
  CID,
  cborCid,
  decodeSignedMessage,
  encodeCbor,
  encodeMessage,
  encodeSignedMessage,
  idAddress,
  type SignedMessage,
  SigType,
} from '../fil/index.js';
import {
  BEACON_GENESIS_ROUND,
  type BlockHeader,
  blockCid,
  computeNextBaseFee,
  deterministic96,
  encodeBlockHeader,
  type TipSet,
} from './chain.js';
import { stringifyState } from './jsonc.js';
import type { DevnetNode } from './node.js';
import type { MessageRow } from './node-db.js';
import type { Policy } from './policy.js';
import type { PowerState } from './power.js';
import { POWER_ACTOR, REWARD_ACTOR, StateTree } from './state.js';
import { applyMessage, type ExecContext, type Receipt, runCron } from './vm.js';

const log = logger('devnet.chain');

/** Executes the head tipset with `ctx` (epoch H) and persists the tipset at H+1; the caller makes it the head. */
export async function produceTipSet(node: DevnetNode, ctx: ExecContext): Promise<TipSet> {
  const parent = node.head;
  const H = parent.height;
  const root = new StateTree(node.state);
  const tree = root.fork();

  // execute the head's messages at epoch H, then the epoch's cron
  const included = node.blockMessages(H);
  const receipts: { cid: string; receipt: Receipt; error?: string }[] = [];
  let gasLimitUsed = 0;
  for (const { cid, signed } of included) {
    gasLimitUsed += signed.message.gasLimit;
    const r = await applyMessage(tree, ctx, signed.message, chainLength(signed));
    receipts.push({ cid: cid.toString(), receipt: r.receipt, error: r.error });
    if (r.receipt.exitCode !== 0) {
      log.debug({ cid: cid.toString(), exit: r.receipt.exitCode, err: r.error }, 'message failed');
    }
  }
  await runCron(tree, ctx);
  tree.commit();

  const height = H + 1;
  const baseFee = computeNextBaseFee(parent.block.parentBaseFee, gasLimitUsed, node.policy);
  const flushed = root.flush();
  const stateRoot = cborCid(
    encodeCbor([
      parent.block.parentStateRoot,
      flushed.actors
        .sort((a, b) => a - b)
        .map((id) => [id, blake2b256(new TextEncoder().encode(stringifyState(node.state.actors[id])))]),
    ]),
  );
  const receiptsRoot = cborCid(
    encodeCbor(receipts.map((r) => [r.receipt.exitCode, r.receipt.return, r.receipt.gasUsed])),
  );

  // select the next messages against the new state
  const selected = selectMessages(node.db, node.policy, root, baseFee);
  const secp = selected.filter((s) => s.signed.signature.type !== SigType.BLS).map((s) => CID.parse(s.cid));
  const bls = selected.filter((s) => s.signed.signature.type === SigType.BLS).map((s) => CID.parse(s.cid));
  const txMetaBytes = encodeCbor([bls, secp]);
  const txMeta = cborCid(txMetaBytes);
  const seed = Buffer.from(node.config.seed, 'hex');
  const block: BlockHeader = {
    miner: blockProducer(root),
    ticket: deterministic96(seed, 'ticket', height),
    electionProof: { winCount: 1, vrfProof: deterministic96(seed, 'election', height) },
    beaconEntries: [{ round: BEACON_GENESIS_ROUND + height, data: deterministic96(seed, 'beacon', height) }],
    winPoStProof: [],
    parents: [parent.cid],
    parentWeight: parent.block.parentWeight + 1n,
    height,
    parentStateRoot: stateRoot,
    parentMessageReceipts: receiptsRoot,
    messages: txMeta,
    blsAggregate: null,
    timestamp: Math.max(parent.block.timestamp, Math.floor(Date.now() / 1000)),
    blockSig: null,
    forkSignaling: 0,
    parentBaseFee: baseFee,
  };
  const cid = blockCid(block);

  // persist: one transaction per tipset
  const putActor = node.db.prepare('INSERT OR REPLACE INTO actors (id, body) VALUES (?, ?)');
  const putAddr = node.db.prepare('INSERT OR REPLACE INTO addresses (key, id) VALUES (?, ?)');
  const putReceipt = node.db.prepare(
    'INSERT OR REPLACE INTO receipts (cid, exec_height, idx, exit_code, ret, gas_used, error) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const include = node.db.prepare('UPDATE messages SET block_height = ?, idx = ? WHERE cid = ?');
  const putObj = node.db.prepare('INSERT OR IGNORE INTO objects (cid, data) VALUES (?, ?)');
  const dropStale = node.db.prepare('DELETE FROM messages WHERE block_height IS NULL AND sender = ? AND nonce < ?');
  node.db.transaction(() => {
    for (const id of flushed.actors) putActor.run(id, stringifyState(node.state.actors[id]));
    for (const [k, id] of flushed.addresses) putAddr.run(k, id);
    setMeta(node.db, 'nextId', String(node.state.nextId));
    receipts.forEach((r, i) => {
      putReceipt.run(
        r.cid,
        height,
        i,
        r.receipt.exitCode,
        Buffer.from(r.receipt.return),
        r.receipt.gasUsed,
        r.error ?? null,
      );
    });
    selected.forEach((s, i) => {
      include.run(height, i, s.cid);
    });
    for (const id of flushed.actors) {
      const a = node.state.actors[id]!;
      if (a.kind === 'account') dropStale.run(id, a.nonce);
    }
    putObj.run(txMeta.toString(), Buffer.from(txMetaBytes));
    node.db
      .prepare('INSERT INTO blocks (height, cid, header) VALUES (?, ?, ?)')
      .run(height, cid.toString(), Buffer.from(encodeBlockHeader(block)));
  })();
  const ts: TipSet = { height, cid, block };
  return ts;
}

function setMeta(db: Database.Database, key: string, value: string): void {
  db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
}

/** Pending messages that can go in the next block: consecutive nonces per sender, fee cap ≥ base fee, within the gas limit. */
function selectMessages(
  db: Database.Database,
  policy: Policy,
  tree: StateTree,
  baseFee: bigint,
): { cid: string; signed: SignedMessage }[] {
  const rows = db
    .prepare('SELECT cid, signed, sender, nonce FROM messages WHERE block_height IS NULL ORDER BY received, nonce')
    .all() as MessageRow[];
  const bySender = new Map<number, MessageRow[]>();
  for (const r of rows) {
    const list = bySender.get(r.sender) ?? [];
    list.push(r);
    bySender.set(r.sender, list);
  }
  const out: { cid: string; signed: SignedMessage }[] = [];
  let gas = 0;
  for (const [sender, list] of bySender) {
    const rec = tree.get(sender);
    if (!rec) continue;
    let nonce = rec.nonce;
    let funds = rec.balance;
    for (const r of list.sort((a, b) => a.nonce - b.nonce)) {
      if (r.nonce < nonce) continue;
      if (r.nonce > nonce) break;
      const sm = decodeSignedMessage(new Uint8Array(r.signed));
      const m = sm.message;
      if (m.gasFeeCap < baseFee) break;
      const need = BigInt(m.gasLimit) * m.gasFeeCap + m.value;
      if (need > funds || gas + m.gasLimit > policy.blockGasLimit) break;
      funds -= need;
      gas += m.gasLimit;
      out.push({ cid: r.cid, signed: sm });
      nonce++;
    }
  }
  return out;
}

/** The block's Miner: the miner with the most power, else the reward actor. */
function blockProducer(tree: StateTree): Address {
  const power = tree.stateOf<PowerState>(POWER_ACTOR);
  let best: [number, bigint] | undefined;
  for (const [id, c] of Object.entries(power.claims)) {
    if (c.rawBytePower > 0n && (!best || c.rawBytePower > best[1])) best = [Number(id), c.rawBytePower];
  }
  return idAddress(best ? best[0] : REWARD_ACTOR);
}

/** Bytes a message occupies on chain: the unsigned message for BLS, the signed message otherwise. */
export function chainLength(sm: SignedMessage): number {
  return sm.signature.type === SigType.BLS ? encodeMessage(sm.message).length : encodeSignedMessage(sm).length;
}
