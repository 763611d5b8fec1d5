/**
 * `util miner create`: CreateMiner sent through the messager, its receipt awaited, the new miner printed
 * (docs/spec/sealer-api.md §Programs and commands).
 */
import type { TipSetKey } from '../../api/full.js';
import { MESSAGE_STATE_NAMES, type MessageRecord, MessageState } from '../../api/messager.js';
import { UserError } from '../../common/cli.js';
import { logger } from '../../common/log.js';
import { formatFIL, fromBase64, messageCid, parseAddress, setDefaultNetwork } from '../../fil/index.js';
import { formatSectorSize, parseSectorSize, sealProofFor } from '../../proofs/index.js';
import { buildMessage, messageJson } from '../commit/msg.js';
import { connectServices, networkPrefix } from '../daemon.js';
import { checkMinerSectorSize } from '../miner-create-check.js';
import { decodeCreateMinerReturn, encodeCreateMiner, POWER_ACTOR, PowerMethod } from '../params.js';
import { type Globals, loadCfg } from './common.js';

const log = logger('sealer');

/** `util miner create`'s options. */
export interface CreateMinerOptions {
  from: string;
  owner?: string;
  worker?: string;
  sectorSize: string;
  peer?: string;
  multiaddr?: string[];
  exid?: string;
  depositMarginFactor: string;
}

export async function createMiner(g: Globals, o: CreateMinerOptions): Promise<void> {
  const cfg = loadCfg(g);
  let size: number;
  try {
    size = parseSectorSize(o.sectorSize);
  } catch (err) {
    throw new UserError(`--sector-size: ${(err as Error).message}`);
  }
  const sealProof = sealProofFor(size, 'V1_1');
  const postProof = sealProof.windowPostProof;
  const addr = (s: string, what: string) => {
    try {
      return parseAddress(s);
    } catch (err) {
      throw new UserError(`${what}: bad address "${s}": ${(err as Error).message}`);
    }
  };
  const from = addr(o.from, '--from');
  const margin = Number(o.depositMarginFactor);
  if (!Number.isFinite(margin) || margin < 1) throw new UserError('--deposit-margin-factor must be a number ≥ 1');
  const { chain, messager } = connectServices(cfg);
  try {
    const params = await chain.StateGetNetworkParams();
    checkMinerSectorSize(params, size, sealProof.id);
    setDefaultNetwork(networkPrefix(params.NetworkName));
    const fromId = await chain.StateLookupID(from.toString(), null);
    const owner = o.owner ? addr(o.owner, '--owner') : parseAddress(fromId);
    const worker = o.worker ? addr(o.worker, '--worker') : owner;
    const multiaddrs = (o.multiaddr ?? []).map((m) => new TextEncoder().encode(m));
    const peer = o.peer ? new TextEncoder().encode(o.peer) : new Uint8Array(0);
    let deposit = 0n;
    try {
      const d = BigInt(
        await (
          chain as unknown as { StateMinerCreationDeposit(t: TipSetKey): Promise<string> }
        ).StateMinerCreationDeposit(null),
      );
      deposit = (d * BigInt(Math.round(margin * 1000))) / 1000n;
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'StateMinerCreationDeposit unavailable; sending no deposit');
    }
    const msg = buildMessage({
      from: from.toString(),
      to: POWER_ACTOR,
      method: PowerMethod.CreateMiner,
      params: encodeCreateMiner({ owner, worker, windowPoStProofType: postProof, peer, multiaddrs }),
      value: deposit,
    });
    const mid = `${messageCid(msg).toString()}${o.exid ? `-${o.exid}` : ''}`;
    const fields = { size: formatSectorSize(size), from: from.toString(), actor: fromId };
    const rmid = await messager.PushMessageWithId(mid, messageJson(msg), null);
    if (rmid !== mid) log.warn(`mcid not equal to recv id: ${mid} != ${rmid}`);
    const mlog = log.child({ ...fields, mid: rmid });
    if (deposit > 0n) mlog.info({ deposit: formatFIL(deposit) }, 'creation deposit');
    const pollMs = Math.min(30_000, Math.max(1000, params.BlockDelaySecs * 1000));
    let rec: MessageRecord;
    for (;;) {
      mlog.info('wait for message receipt');
      await new Promise((r) => setTimeout(r, pollMs));
      try {
        rec = await messager.GetMessageByUid(rmid);
      } catch (err) {
        mlog.warn(`GetMessageByUid: ${(err as Error).message}`);
        continue;
      }
      // a replaced message (NonceConflictMsg) carries its replacement's receipt: followed as on chain (damocles)
      if (rec.State === MessageState.OnChainMsg || (rec.State === MessageState.NonceConflictMsg && rec.Receipt)) break;
      if (rec.State === MessageState.FailedMsg || rec.State === MessageState.NonceConflictMsg)
        throw new UserError(`CreateMiner message ${rmid} failed in the messager: ${rec.ErrorMsg || 'no reason given'}`);
      mlog.info(`msg state: ${MESSAGE_STATE_NAMES[rec.State] ?? rec.State}`);
    }
    const landed = mlog.child({ smcid: rec.SignedCid?.['/'], height: rec.Height });
    landed.info('message landed on chain');
    const receipt = rec.Receipt;
    if (receipt?.ExitCode !== 0)
      throw new UserError(
        `CreateMiner message ${rmid} failed on chain with exit code ${receipt?.ExitCode} at height ${rec.Height}`,
      );
    const ret = decodeCreateMinerReturn(fromBase64(receipt.Return ?? '', 'Receipt.Return'));
    landed.info(`miner actor: ${ret.idAddress.toString()} (${ret.robustAddress.toString()})`);
  } finally {
    await chain.close();
    await messager.close();
  }
}
