/**
 * What the devnet's chain holds for one sender, read block by block (not from the messager's records): every
 * message included, at which epoch, with its receipt, and the miner methods' parameters decoded — for tests that
 * check on chain that nothing was sent twice (one PreCommit and one ProveCommit per sector, one Window PoSt per
 * partition and deadline window, every nonce once).
 */
import type { FullNodeAPI } from '../../src/api/full.js';
import {
  decodeParams,
  decodePreCommitSectorBatch2Params,
  decodeProveCommitSectors3Params,
  decodeSubmitWindowedPoStParams,
} from '../../src/devnet/codec.js';
import { fromBase64 } from '../../src/fil/index.js';
import { MinerMethod } from '../../src/manager/params.js';
import type { ApiClient } from '../../src/rpc/index.js';

export interface ChainMessage {
  cid: string;
  /** the epoch of the tipset that included it: the epoch the actor saw when it ran */
  epoch: number;
  from: string;
  to: string;
  nonce: number;
  method: number;
  exitCode: number;
  /** PreCommitSectorBatch2, ProveCommitSectors3: the sector numbers */
  sectors?: number[];
  /** SubmitWindowedPoSt: the deadline, its partitions and the chain commit epoch (one per deadline window) */
  post?: { deadline: number; partitions: number[]; chainCommitEpoch: number };
}

/**
 * Runs `f` over `items`, `n` at a time, keeping the order, starting at most `perSecond` calls a second: the
 * devnet refuses a connection more than 1000 messages a second, and a refused call is never answered.
 */
async function mapLimit<T, R>(items: T[], n: number, f: (t: T) => Promise<R>, perSecond = 400): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let slot = Date.now();
  const pace = async () => {
    const at = Math.max(slot, Date.now());
    slot = at + 1000 / perSecond;
    if (at > Date.now()) await new Promise((r) => setTimeout(r, at - Date.now()));
  };
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) {
        await pace();
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

function decoded(method: number, params: Uint8Array): Pick<ChainMessage, 'sectors' | 'post'> {
  if (method === MinerMethod.PreCommitSectorBatch2)
    return {
      sectors: decodeParams('pre', params, decodePreCommitSectorBatch2Params).sectors.map((s) => s.sectorNumber),
    };
  if (method === MinerMethod.ProveCommitSectors3)
    return {
      sectors: decodeParams('prove', params, decodeProveCommitSectors3Params).sectorActivations.map(
        (a) => a.sectorNumber,
      ),
    };
  if (method === MinerMethod.SubmitWindowedPoSt) {
    const p = decodeParams('post', params, decodeSubmitWindowedPoStParams);
    return {
      post: {
        deadline: p.deadline,
        partitions: p.partitions.map((x) => x.index),
        chainCommitEpoch: p.chainCommitEpoch,
      },
    };
  }
  return {};
}

/** Every message from one of `senders` on the chain from `fromEpoch` to the head, in chain order. */
export async function chainMessages(
  chain: ApiClient<typeof FullNodeAPI>,
  senders: readonly string[],
  fromEpoch = 0,
): Promise<ChainMessage[]> {
  const head = await chain.ChainHead();
  // one tipset before the first: the epoch of the messages the first one's parents included
  const start = Math.max(0, fromEpoch - 1);
  const heights = Array.from({ length: head.Height - start + 1 }, (_, i) => start + i);
  const tipsets = await mapLimit(heights, 8, (h) => chain.ChainGetTipSetByHeight(h, head.Cids));
  const out: ChainMessage[] = [];
  // a null round answers an earlier tipset: each tipset once, its parent the one before it in this list
  const chainOrder = tipsets.filter((ts, i) => ts.Height === heights[i]);
  const children = chainOrder.slice(1).map((ts, i) => ({ ts, epoch: chainOrder[i]!.Height }));
  const included = await mapLimit(children, 8, async ({ ts, epoch }) => {
    const block = ts.Cids[0]!;
    const msgs = ((await chain.ChainGetParentMessages(block)) ?? []).map((m, i) => ({ ...m, i }));
    const ours = msgs.filter((m) => senders.includes(m.Message.From));
    // receipts only where there is something of ours (fewer calls)
    const receipts = ours.length ? ((await chain.ChainGetParentReceipts(block)) ?? []) : [];
    return { ours, receipts, epoch };
  });
  for (const { ours, receipts, epoch } of included) {
    for (const m of ours) {
      const params = m.Message.Params ? fromBase64(m.Message.Params) : new Uint8Array(0);
      out.push({
        cid: m.Cid['/'],
        epoch,
        from: m.Message.From,
        to: m.Message.To,
        nonce: m.Message.Nonce,
        method: m.Message.Method,
        exitCode: receipts[m.i]?.ExitCode ?? -1,
        ...decoded(m.Message.Method, params),
      });
    }
  }
  return out;
}

/** What was sent twice or failed: duplicate nonces, sectors pre-committed or proven twice, partitions posted twice. */
export function duplicatesAndFailures(msgs: readonly ChainMessage[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const once = (key: string, m: ChainMessage) => {
    const prev = seen.get(key);
    if (prev) problems.push(`${key}: ${prev} and ${m.cid} (epoch ${m.epoch})`);
    else seen.set(key, `${m.cid} (epoch ${m.epoch})`);
  };
  for (const m of msgs) {
    if (m.exitCode !== 0)
      problems.push(
        `method ${m.method} ${m.cid} at epoch ${m.epoch} failed: exit ${m.exitCode} ${JSON.stringify(m.post ?? m.sectors ?? null)}`,
      );
    once(`nonce ${m.from} ${m.nonce}`, m);
    if (m.exitCode !== 0) continue;
    if (m.method === MinerMethod.PreCommitSectorBatch2)
      for (const s of m.sectors ?? []) once(`PreCommit of sector ${s}`, m);
    if (m.method === MinerMethod.ProveCommitSectors3)
      for (const s of m.sectors ?? []) once(`ProveCommit of sector ${s}`, m);
    if (m.post)
      for (const p of m.post.partitions)
        once(`PoSt of deadline ${m.post.deadline} partition ${p} (window of challenge ${m.post.chainCommitEpoch})`, m);
  }
  return problems;
}
