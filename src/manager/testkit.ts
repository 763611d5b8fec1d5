/**
 * An in-process stand-in for the chain node and the messager, for the manager's unit tests while the devnet's
 * RPC server is not there: a height you advance by hand, deterministic randomness, miners with allocated
 * numbers, PreCommits, sectors and partitions, and a messager that executes pushed messages on `mine()`
 * (decoding the params the manager built). Failures are injected per method. The end-to-end test uses the
 * real devnet instead.
 */
import type {
  DeadlineInfo,
  HeadChange,
  MessageJson,
  MinerInfo,
  Partition,
  SectorOnChainInfo,
  SectorPreCommitOnChainInfo,
  TipSet,
} from '../api/full.js';
import { type MessageRecord, MessageState, type SendSpec } from '../api/messager.js';
import {
  BitField,
  blake2b256,
  CID,
  cborCid,
  commRToCid,
  concatBytes,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectTuple,
  expectUint,
  fromBase64,
  idAddress,
  toBase64,
} from '../fil/index.js';
import { PushChannel, RpcError, type Subscription } from '../rpc/index.js';
import type { ChainAPI, MessagerAPI, NetworkPolicy } from './chain.js';
import { MAINNET_POLICY } from './chain.js';
import { MinerMethod } from './params.js';
import type { SealVerifier, SealVerifyInput, WindowPoStInput, WindowPoStProver } from './prover.js';

export const TEST_POLICY: NetworkPolicy = {
  ...MAINNET_POLICY,
  networkName: 'test',
  blockDelaySecs: 1,
  preCommitChallengeDelay: 10,
};

const be64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n));
  return b;
};

interface FakeMiner {
  id: number;
  info: MinerInfo;
  allocated: Set<number>;
  precommits: Map<number, SectorPreCommitOnChainInfo>;
  sectors: Map<number, SectorOnChainInfo>;
  /** deadline → partitions of sector numbers */
  partitions: Map<number, { all: number[]; faulty: Set<number>; recovering: Set<number> }[]>;
  posts: { deadline: number; partitions: { index: number; skipped: number[] }[]; height: number }[];
  recoveries: { deadline: number; partition: number; sectors: number[] }[];
}

export class FakeChain {
  height = 100;
  readonly miners = new Map<number, FakeMiner>();
  readonly records = new Map<string, MessageRecord>();
  readonly pushed: string[] = [];
  /** exit code to give the next executed message of a method */
  readonly failNext = new Map<number, number>();
  /**
   * Methods whose next message is replaced on chain by the same call with other gas (venus-messager reports
   * NonceConflictMsg, with the replacement's receipt) or, for `lose`, whose nonce another call spent (a
   * NonceConflictMsg without receipt: this message never ran).
   */
  readonly replaceNext = new Map<number, 'replace' | 'lose'>();
  /** proving period settings of the fake: deadlines of `window` epochs from `periodStart` */
  deadlines = { count: 48, window: 60, lookback: 20, periodStart: 0 };
  private readonly subs = new Set<PushChannel<HeadChange[]>>();
  pushError: Error | undefined;
  /** while set, pushed messages stay unsigned (UnFillMsg) with this error, as with a locked or absent wallet */
  unsignable: string | undefined;

  addMiner(id: number, sectorSize = 2048, worker = 't3worker'): FakeMiner {
    const m: FakeMiner = {
      id,
      info: {
        Owner: 't0100',
        Worker: worker === 't3worker' ? 't0100' : worker,
        NewWorker: '<empty>',
        ControlAddresses: [],
        WorkerChangeEpoch: -1,
        PeerId: null,
        Multiaddrs: [],
        WindowPoStProofType: 10,
        SectorSize: sectorSize,
        WindowPoStPartitionSectors: 2,
        ConsensusFaultElapsed: -1,
        PendingOwnerAddress: null,
        Beneficiary: 't0100',
        BeneficiaryTerm: { Quota: '0', UsedQuota: '0', Expiration: 0 },
        PendingBeneficiaryTerm: null,
      },
      allocated: new Set(),
      precommits: new Map(),
      sectors: new Map(),
      partitions: new Map(),
      posts: [],
      recoveries: [],
    };
    this.miners.set(id, m);
    return m;
  }

  tipset(h = this.height): TipSet {
    const c = cborCid(encodeCbor(['fake-tipset', h]));
    return { Cids: [{ '/': c.toString() }], Blocks: [], Height: h };
  }

  private miner(addr: string): FakeMiner {
    const id = Number(/^[ft]0(\d+)$/.exec(addr)?.[1]);
    const m = this.miners.get(id);
    if (!m) throw new RpcError(1, `actor not found: ${addr}`);
    return m;
  }

  ticketRand(dst: number, epoch: number, entropy: Uint8Array): Uint8Array {
    return blake2b256(concatBytes(Uint8Array.of(1), be64(dst), be64(Math.max(epoch, 0)), entropy));
  }

  beaconRand(dst: number, epoch: number, entropy: Uint8Array): Uint8Array {
    return blake2b256(concatBytes(Uint8Array.of(2), be64(dst), be64(Math.max(epoch, 0)), entropy));
  }

  deadlineInfo(h = this.height): DeadlineInfo {
    const { count, window, lookback, periodStart } = this.deadlines;
    const period = count * window;
    const ps = periodStart + Math.floor((h - periodStart) / period) * period;
    const index = Math.floor((h - ps) / window);
    const open = ps + index * window;
    return {
      CurrentEpoch: h,
      PeriodStart: ps,
      Index: index,
      Open: open,
      Close: open + window,
      Challenge: open - lookback,
      FaultCutoff: open - 70,
      WPoStPeriodDeadlines: count,
      WPoStProvingPeriod: period,
      WPoStChallengeWindow: window,
      WPoStChallengeLookback: lookback,
      FaultDeclarationCutoff: 70,
    };
  }

  /** Advances the head by `n` epochs, executing pushed messages in the first new tipset. */
  async mine(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.height++;
      for (const rec of this.records.values()) {
        if (rec.State === MessageState.UnFillMsg && this.unsignable !== undefined) rec.ErrorMsg = this.unsignable;
        else if (rec.State === MessageState.UnFillMsg || rec.State === MessageState.FillMsg) this.execute(rec);
        else if (rec.Receipt) rec.Confidence = this.height - rec.Height;
      }
      const ts = this.tipset();
      for (const s of this.subs) s.push([{ Type: 'apply', Val: ts }]);
    }
    // let subscribers run
    await new Promise((r) => setImmediate(r));
  }

  private execute(rec: MessageRecord): void {
    const replace = this.replaceNext.get(rec.Method);
    if (replace) this.replaceNext.delete(rec.Method);
    if (replace === 'lose') {
      rec.State = MessageState.NonceConflictMsg;
      rec.ErrorMsg = 'nonce was used by another message';
      return;
    }
    const m = this.miner(rec.To);
    let exit = this.failNext.get(rec.Method);
    if (exit !== undefined) this.failNext.delete(rec.Method);
    let ret: Uint8Array = new Uint8Array(0);
    if (exit === undefined) {
      try {
        ret = this.apply(m, rec);
        exit = 0;
      } catch (err) {
        exit = 16;
        rec.ErrorMsg = (err as Error).message;
      }
    }
    rec.State = replace ? MessageState.NonceConflictMsg : MessageState.OnChainMsg;
    rec.Height = this.height;
    rec.Confidence = 0;
    rec.Receipt = { ExitCode: exit, Return: toBase64(ret), GasUsed: 1, EventsRoot: null };
    rec.SignedCid = { '/': cborCid(encodeCbor([rec.ID, replace ?? ''])).toString() };
  }

  private apply(m: FakeMiner, rec: MessageRecord): Uint8Array {
    const params = decodeCbor(fromBase64(rec.Params ?? '', 'params'));
    switch (rec.Method) {
      case MinerMethod.PreCommitSectorBatch2: {
        const list = expectArray(expectTuple(params, 1, 'params')[0], 'sectors');
        for (const e of list) {
          const t = expectTuple(e, 7, 'SectorPreCommitInfo');
          const n = expectUint(t[1], 'SectorNumber');
          if (m.allocated.has(n)) throw new Error(`sector ${n} already allocated`);
          m.allocated.add(n);
          m.precommits.set(n, {
            Info: {
              SealProof: expectUint(t[0], 'SealProof'),
              SectorNumber: n,
              SealedCID: { '/': (t[2] as CID).toString() },
              SealRandEpoch: t[3] as number,
              DealIDs: null,
              Expiration: t[5] as number,
              UnsealedCid: t[6] ? { '/': (t[6] as CID).toString() } : null,
            },
            PreCommitDeposit: '1000',
            PreCommitEpoch: this.height,
          });
        }
        return new Uint8Array(0);
      }
      case MinerMethod.ProveCommitSectors3: {
        const t = expectTuple(params, 6, 'ProveCommitSectors3Params');
        const acts = expectArray(t[0], 'activations');
        const fails: [number, number][] = [];
        acts.forEach((a, i) => {
          const n = expectUint(expectTuple(a, 2, 'act')[0], 'n');
          const pc = m.precommits.get(n);
          if (!pc) {
            fails.push([i, 16]);
            return;
          }
          m.precommits.delete(n);
          m.sectors.set(n, {
            SectorNumber: n,
            SealProof: pc.Info.SealProof,
            SealedCID: pc.Info.SealedCID,
            Activation: this.height,
            Expiration: pc.Info.Expiration,
            DealWeight: '0',
            VerifiedDealWeight: '0',
            InitialPledge: '0',
            ExpectedDayReward: '0',
            ExpectedStoragePledge: '0',
            PowerBaseEpoch: this.height,
            ReplacedDayReward: '0',
            SectorKeyCID: null,
            Flags: 0,
          });
          this.assignToPartition(m, n);
        });
        return encodeCbor([acts.length - fails.length, fails]);
      }
      case MinerMethod.SubmitWindowedPoSt: {
        const t = expectTuple(params, 5, 'SubmitWindowedPoStParams');
        const parts = expectArray(t[1], 'partitions').map((p) => {
          const pt = expectTuple(p, 2, 'partition');
          return {
            index: expectUint(pt[0], 'index'),
            skipped: BitField.decode(expectBytes(pt[1], 'skipped')).toArray(),
          };
        });
        const dl = expectUint(t[0], 'deadline');
        const info = this.deadlineInfo(this.height);
        if (info.Index !== dl) throw new Error(`deadline ${dl} is not open (current ${info.Index})`);
        // as the miner actor: a partition is proven once per challenge window
        const posted = this.postSubmissions(m, dl);
        const dup = parts.find((p) => posted.has(p.index));
        if (dup) throw new Error(`partition ${dup.index} already proven in deadline ${dl}`);
        for (const p of parts) {
          const part = m.partitions.get(dl)?.[p.index];
          if (!part) throw new Error(`no partition ${p.index}`);
          for (const s of p.skipped) part.faulty.add(s);
          for (const s of part.recovering) if (!p.skipped.includes(s)) part.faulty.delete(s);
          part.recovering.clear();
        }
        m.posts.push({ deadline: dl, partitions: parts, height: this.height });
        return new Uint8Array(0);
      }
      case MinerMethod.DeclareFaultsRecovered: {
        const decls = expectArray(expectTuple(params, 1, 'params')[0], 'recoveries');
        for (const d of decls) {
          const t = expectTuple(d, 3, 'decl');
          const sectors = BitField.decode(expectBytes(t[2], 'sectors')).toArray();
          const dl = expectUint(t[0], 'dl');
          const pi = expectUint(t[1], 'p');
          m.recoveries.push({ deadline: dl, partition: pi, sectors });
          const part = m.partitions.get(dl)?.[pi];
          for (const s of sectors) part?.recovering.add(s);
        }
        return new Uint8Array(0);
      }
      default:
        throw new Error(`fake chain: method ${rec.Method} not implemented`);
    }
  }

  /** Makes `n` an active sector of the miner in `deadline` (tests of Window PoSt). */
  activateSector(miner: number, n: number, deadline: number, commR: Uint8Array): void {
    const m = this.miners.get(miner)!;
    m.allocated.add(n);
    m.sectors.set(n, {
      SectorNumber: n,
      SealProof: 5,
      SealedCID: { '/': commRToCid(commR).toString() },
      Activation: this.height,
      Expiration: this.height + 1_000_000,
      DealWeight: '0',
      VerifiedDealWeight: '0',
      InitialPledge: '0',
      ExpectedDayReward: '0',
      ExpectedStoragePledge: '0',
      PowerBaseEpoch: this.height,
      ReplacedDayReward: '0',
      SectorKeyCID: null,
      Flags: 0,
    });
    const saved = this.deadlineOf;
    this.deadlineOf = () => deadline;
    this.assignToPartition(m, n);
    this.deadlineOf = saved;
  }

  /** Partitions of deadline `dl` with a PoSt in its current challenge window (cleared when the window closes). */
  postSubmissions(m: FakeMiner, dl: number): Set<number> {
    const info = this.deadlineInfo(this.height);
    if (info.Index !== dl) return new Set();
    return new Set(
      m.posts
        .filter((p) => p.deadline === dl && p.height >= info.Open && p.height < info.Close)
        .flatMap((p) => p.partitions.map((x) => x.index)),
    );
  }

  /** Puts a proven sector in deadline `deadlineOf(n)` (default: the deadline after the current one). */
  deadlineOf: (n: number) => number = () => (this.deadlineInfo().Index + 2) % this.deadlines.count;

  private assignToPartition(m: FakeMiner, n: number): void {
    const dl = this.deadlineOf(n);
    const parts = m.partitions.get(dl) ?? [];
    let p = parts[parts.length - 1];
    if (!p || p.all.length >= m.info.WindowPoStPartitionSectors) {
      p = { all: [], faulty: new Set(), recovering: new Set() };
      parts.push(p);
    }
    p.all.push(n);
    m.partitions.set(dl, parts);
  }

  /** The full-node API the manager sees. */
  api(): ChainAPI {
    const bf = (xs: Iterable<number>) => BitField.fromNumbers(xs).toJSON();
    return {
      ChainHead: async () => this.tipset(),
      ChainNotify: async () => {
        const ch = new PushChannel<HeadChange[]>();
        this.subs.add(ch);
        ch.push([{ Type: 'current', Val: this.tipset() }]);
        return ch as unknown as Subscription<HeadChange[]>;
      },
      StateMinerInfo: async (a) => this.miner(a).info,
      StateMinerProvingDeadline: async () => this.deadlineInfo(),
      StateMinerDeadlines: async (a) => {
        const m = this.miner(a);
        return Array.from({ length: this.deadlines.count }, (_, dl) => ({
          PostSubmissions: bf(this.postSubmissions(m, dl)),
          DisputableProofCount: 0,
        }));
      },
      StateMinerPartitions: async (a, dl) =>
        (this.miner(a).partitions.get(dl) ?? []).map(
          (p): Partition => ({
            AllSectors: bf(p.all),
            FaultySectors: bf(p.faulty),
            RecoveringSectors: bf(p.recovering),
            LiveSectors: bf(p.all),
            ActiveSectors: bf(p.all.filter((s) => !p.faulty.has(s))),
          }),
        ),
      StateMinerSectors: async (a, filter) => {
        const m = this.miner(a);
        const want = filter ? new Set(BitField.fromJSON(filter).toArray()) : undefined;
        return [...m.sectors.values()].filter((s) => !want || want.has(s.SectorNumber));
      },
      StateSectorGetInfo: async (a, n) => this.miner(a).sectors.get(n) ?? null,
      StateSectorPreCommitInfo: async (a, n) => this.miner(a).precommits.get(n) ?? null,
      StateMinerSectorAllocated: async (a, n) => this.miner(a).allocated.has(n),
      StateMinerPreCommitDepositForPower: async () => '1000',
      StateMinerInitialPledgeCollateral: async () => '5000',
      // pledge over QA power: verified bytes count 10× (the fake's 5000 per CC sector scaled)
      StateMinerInitialPledgeForSector: async (_duration: number, size: number, verified: number) =>
        String((5000n * BigInt(size - verified + verified * 10)) / BigInt(size)),
      StateNetworkVersion: async () => 28,
      StateGetNetworkParams: async () => ({
        NetworkName: 'test',
        BlockDelaySecs: TEST_POLICY.blockDelaySecs,
        ConsensusMinerMinPower: '2048',
        SupportedProofTypes: [5],
        PreCommitChallengeDelay: TEST_POLICY.preCommitChallengeDelay,
        ForkUpgradeParams: {},
      }),
      StateGetRandomnessFromTickets: async (dst, epoch, entropy) => {
        if (epoch > this.height) throw new RpcError(1, 'cannot draw randomness from the future');
        return toBase64(this.ticketRand(dst, epoch, fromBase64(entropy ?? '', 'entropy')));
      },
      StateGetRandomnessFromBeacon: async (dst, epoch, entropy) => {
        if (epoch > this.height) throw new RpcError(1, 'cannot draw randomness from the future');
        return toBase64(this.beaconRand(dst, epoch, fromBase64(entropy ?? '', 'entropy')));
      },
      StateLookupID: async (a) => a,
      StateAccountKey: async (a) => a,
    };
  }

  /** The messager API the manager sees. */
  messager(): MessagerAPI {
    return {
      PushMessageWithId: async (id: string, msg: MessageJson, spec: SendSpec | null) => {
        if (this.pushError) throw this.pushError;
        if (this.records.has(id)) return id;
        this.pushed.push(id);
        this.records.set(id, {
          ID: id,
          UnsignedCid: null,
          SignedCid: null,
          Version: 0,
          To: msg.To,
          From: msg.From,
          Nonce: 0,
          Value: msg.Value,
          GasLimit: 0,
          GasFeeCap: msg.GasFeeCap,
          GasPremium: '0',
          Method: msg.Method,
          Params: msg.Params,
          Signature: null,
          Height: 0,
          Confidence: 0,
          Receipt: null,
          TipSetKey: null,
          Meta: spec,
          WalletName: '',
          State: MessageState.UnFillMsg,
          ErrorMsg: '',
          CreatedAt: new Date().toISOString(),
          UpdatedAt: new Date().toISOString(),
        });
        return id;
      },
      HasMessageByUid: async (id) => this.records.has(id),
      GetMessageByUid: async (id) => {
        const r = this.records.get(id);
        if (!r) throw new RpcError(1, `message ${id} not found`);
        return structuredClone(r);
      },
      WaitMessage: async (id) => {
        const r = this.records.get(id);
        if (!r) throw new RpcError(1, `message ${id} not found`);
        return structuredClone(r);
      },
    };
  }
}

/** Test proofs: blake2b of the sector's public inputs. Stands in for C2 / Window PoSt where SNARKs are out of reach. */
export function fakeSealProof(i: Omit<SealVerifyInput, 'proof'>): Uint8Array {
  return blake2b256(
    concatBytes(encodeCbor([i.sealProof, i.minerId, i.sectorNumber]), i.ticket, i.seed, i.commR, i.commD),
  );
}

export const fakeVerifier: SealVerifier = {
  async verifySeal(i) {
    const want = fakeSealProof(i);
    return want.length === i.proof.length && want.every((b, k) => b === i.proof[k]);
  },
};

/** A Window PoSt prover over sector files: a sector whose sealed file is missing is reported faulty. */
export function fakePoStProver(exists: (path: string) => boolean): WindowPoStProver & { calls: WindowPoStInput[] } {
  const calls: WindowPoStInput[] = [];
  const proofOf = (i: WindowPoStInput) =>
    blake2b256(concatBytes(i.randomness, encodeCbor(i.sectors.map((s) => [s.sectorNumber, s.commR]))));
  return {
    calls,
    async generateWindowPoSt(i) {
      calls.push(i);
      const faults = i.sectors.filter((s) => !exists(s.sealedPath)).map((s) => s.sectorNumber);
      return { proofBytes: faults.length ? new Uint8Array(0) : proofOf(i), faults };
    },
    async verifyWindowPoSt(i, proof) {
      const want = proofOf(i);
      return want.every((b, k) => b === proof[k]) && proof.length === want.length;
    },
    async checkSector(s) {
      return exists(s.sealedPath) ? undefined : `${s.sealedPath} missing`;
    },
  };
}

export function minerAddrOf(id: number): string {
  return idAddress(id).toString();
}

export { CID };
