/**
 * Chain objects of the devnet: block headers (lotus 16-tuple CBOR, so block CIDs are real), one-block
 * tipsets, deterministic tickets and beacon entries, and randomness drawn from them as lotus chain/rand does.
 */
import {
  type Address,
  addressFromBytes,
  blake2b256,
  blake2bN,
  CID,
  cborCid,
  cidToJSON,
  concatBytes,
  decodeBigInt,
  decodeCbor,
  drawRandomnessFromDigest,
  encodeBigInt,
  encodeCbor,
  expectArray,
  expectBytes,
  expectCid,
  expectInt,
  expectTuple,
  expectUint,
  type Signature,
  signatureFromBytes,
  signatureToBytes,
  signatureToJSON,
  toBase64,
} from '../fil/index.js';

export interface BeaconEntry {
  round: number;
  data: Uint8Array;
}

export interface BlockHeader {
  miner: Address;
  /** Ticket.VRFProof (96 bytes). */
  ticket: Uint8Array;
  electionProof: { winCount: number; vrfProof: Uint8Array };
  beaconEntries: BeaconEntry[];
  winPoStProof: { postProof: number; proofBytes: Uint8Array }[];
  parents: CID[];
  parentWeight: bigint;
  height: number;
  parentStateRoot: CID;
  parentMessageReceipts: CID;
  messages: CID;
  blsAggregate: Signature | null;
  timestamp: number;
  blockSig: Signature | null;
  forkSignaling: number;
  parentBaseFee: bigint;
}

/** CBOR of a block header: the 16-tuple of lotus chain/types/cbor_gen.go. */
export function encodeBlockHeader(h: BlockHeader): Uint8Array {
  return encodeCbor([
    h.miner.bytes(),
    [h.ticket],
    [h.electionProof.winCount, h.electionProof.vrfProof],
    h.beaconEntries.map((b) => [b.round, b.data]),
    h.winPoStProof.map((p) => [p.postProof, p.proofBytes]),
    h.parents,
    encodeBigInt(h.parentWeight),
    h.height,
    h.parentStateRoot,
    h.parentMessageReceipts,
    h.messages,
    h.blsAggregate ? signatureToBytes(h.blsAggregate) : null,
    h.timestamp,
    h.blockSig ? signatureToBytes(h.blockSig) : null,
    h.forkSignaling,
    encodeBigInt(h.parentBaseFee),
  ]);
}

/** Inverse of encodeBlockHeader. */
export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  const t = expectTuple(decodeCbor(bytes), 16, 'BlockHeader');
  const ticket = expectTuple(t[1], 1, 'Ticket');
  const ep = expectTuple(t[2], 2, 'ElectionProof');
  return {
    miner: addressFromBytes(expectBytes(t[0], 'Miner')),
    ticket: expectBytes(ticket[0], 'Ticket.VRFProof'),
    electionProof: { winCount: expectInt(ep[0], 'WinCount'), vrfProof: expectBytes(ep[1], 'VRFProof') },
    beaconEntries: expectArray(t[3], 'BeaconEntries').map((b) => {
      const bt = expectTuple(b, 2, 'BeaconEntry');
      return { round: expectUint(bt[0], 'Round'), data: expectBytes(bt[1], 'Data') };
    }),
    winPoStProof: expectArray(t[4], 'WinPoStProof').map((p) => {
      const pt = expectTuple(p, 2, 'PoStProof');
      return { postProof: expectInt(pt[0], 'PoStProof'), proofBytes: expectBytes(pt[1], 'ProofBytes') };
    }),
    parents: expectArray(t[5], 'Parents').map((c) => expectCid(c, 'Parents')),
    parentWeight: decodeBigInt(expectBytes(t[6], 'ParentWeight')),
    height: expectInt(t[7], 'Height'),
    parentStateRoot: expectCid(t[8], 'ParentStateRoot'),
    parentMessageReceipts: expectCid(t[9], 'ParentMessageReceipts'),
    messages: expectCid(t[10], 'Messages'),
    blsAggregate: t[11] === null ? null : signatureFromBytes(expectBytes(t[11], 'BLSAggregate')),
    timestamp: expectUint(t[12], 'Timestamp'),
    blockSig: t[13] === null ? null : signatureFromBytes(expectBytes(t[13], 'BlockSig')),
    forkSignaling: expectUint(t[14], 'ForkSignaling'),
    parentBaseFee: decodeBigInt(expectBytes(t[15], 'ParentBaseFee')),
  };
}

export function blockCid(h: BlockHeader): CID {
  return cborCid(encodeBlockHeader(h));
}

/** Lotus JSON of a block header. */
export function blockHeaderJson(h: BlockHeader): Record<string, unknown> {
  return {
    Miner: h.miner.toString(),
    Ticket: { VRFProof: toBase64(h.ticket) },
    ElectionProof: { WinCount: h.electionProof.winCount, VRFProof: toBase64(h.electionProof.vrfProof) },
    BeaconEntries: h.beaconEntries.map((b) => ({ Round: b.round, Data: toBase64(b.data) })),
    WinPoStProof: h.winPoStProof.map((p) => ({ PoStProof: p.postProof, ProofBytes: toBase64(p.proofBytes) })),
    Parents: h.parents.map(cidToJSON),
    ParentWeight: h.parentWeight.toString(),
    Height: h.height,
    ParentStateRoot: cidToJSON(h.parentStateRoot),
    ParentMessageReceipts: cidToJSON(h.parentMessageReceipts),
    Messages: cidToJSON(h.messages),
    BLSAggregate: h.blsAggregate ? signatureToJSON(h.blsAggregate) : null,
    Timestamp: h.timestamp,
    BlockSig: h.blockSig ? signatureToJSON(h.blockSig) : null,
    ForkSignaling: h.forkSignaling,
    ParentBaseFee: h.parentBaseFee.toString(),
  };
}

/** A tipset of the devnet: always one block (one producer, no null rounds). */
export interface TipSet {
  height: number;
  cid: CID;
  block: BlockHeader;
}

export function tipSetKeyJson(ts: TipSet): { '/': string }[] {
  return [cidToJSON(ts.cid)];
}

export function tipSetJson(ts: TipSet): Record<string, unknown> {
  return { Cids: tipSetKeyJson(ts), Blocks: [blockHeaderJson(ts.block)], Height: ts.height };
}

const te = new TextEncoder();
const be64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n));
  return b;
};

/** 96 deterministic bytes per (seed, purpose, height): stand-ins for VRF proofs and drand signatures. */
export function deterministic96(seed: Uint8Array, purpose: string, height: number): Uint8Array {
  const base = concatBytes(seed, te.encode(purpose), be64(height));
  return concatBytes(blake2bN(base, 64), blake2b256(base));
}

/** The drand round recorded in the block at `height` (quicknet-like numbering from a fixed genesis round). */
export const BEACON_GENESIS_ROUND = 1_000_000;

/** Randomness over the chain ending at `headHeight`, from the blocks' tickets and beacon entries. */
export class ChainRandomness {
  constructor(
    private readonly headHeight: number,
    private readonly blockAt: (height: number) => BlockHeader,
  ) {}

  private block(round: number): BlockHeader {
    if (round > this.headHeight) {
      throw new Error(`cannot draw randomness from the future (round ${round} > head ${this.headHeight})`);
    }
    // every devnet epoch has a block, so "the next non-null tipset" is the one at max(round, 0)
    return this.blockAt(Math.max(round, 0));
  }

  ticketDigest(round: number): Uint8Array {
    return blake2b256(this.block(round).ticket);
  }

  beaconDigest(round: number): Uint8Array {
    const b = this.block(round);
    const entry = b.beaconEntries[b.beaconEntries.length - 1];
    if (!entry) throw new Error(`no beacon entry at round ${round}`);
    return blake2b256(entry.data);
  }

  fromTickets(dst: number, round: number, entropy: Uint8Array): Uint8Array {
    return drawRandomnessFromDigest(this.ticketDigest(round), dst, round, entropy);
  }

  fromBeacon(dst: number, round: number, entropy: Uint8Array): Uint8Array {
    return drawRandomnessFromDigest(this.beaconDigest(round), dst, round, entropy);
  }
}

/** lotus ComputeNextBaseFee (post-Smoke): ±12.5% toward the gas target, floored at the minimum base fee. */
export function computeNextBaseFee(
  baseFee: bigint,
  gasLimitUsed: number,
  opts: { blockGasTarget: number; minimumBaseFee: bigint },
): bigint {
  const target = BigInt(opts.blockGasTarget);
  let delta = BigInt(gasLimitUsed) - target;
  if (delta > target) delta = target;
  if (delta < -target) delta = -target;
  const change = (baseFee * delta) / target / 8n;
  const next = baseFee + change;
  return next < opts.minimumBaseFee ? opts.minimumBaseFee : next;
}

export { CID };
