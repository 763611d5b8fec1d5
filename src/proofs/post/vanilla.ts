/**
 * Window and Winning PoSt vanilla proofs (storage-proofs-post `fallback/vanilla.rs`, filecoin-proofs
 * `api/{window_post,winning_post,post_util}.rs`).
 *
 * A sector's proof is one TreeR-last inclusion proof per challenged leaf plus comm_c and comm_r_last
 * (rust `SectorProof`); it is read from what the persist store keeps after finalize: the sealed file, the
 * `sc-02-data-tree-r-last[-i].dat` files and `p_aux` (rows below the stored ones rebuilt from the replica).
 *
 * Faults: a sector whose files are missing or short, whose p_aux does not give its comm_r, or whose
 * proofs do not verify (a corrupted replica under a challenged path) is reported as faulty; the others are
 * proved. (rust-fil-proofs returns only the fault list in that case and Lotus/damocles retry without
 * them; returning both lets callers do that in one pass.)
 *
 * Verification (rust `FallbackPoSt::verify`): for each public sector (sorted by sector id, as rust's
 * BTreeMap orders them), comm_r = Poseidon2(comm_c, comm_r_last) and every inclusion proof opens the
 * derived leaf under comm_r_last with the full path length.
 */
import { logger } from '../../common/log.js';
import { bytesEqual, toHex } from '../../fil/index.js';
import {
  arrayFromJson,
  domainFromJson,
  domainToJson,
  type InclusionProof,
  inclusionFromJson,
  inclusionToJson,
  objectField,
  verifyInclusion,
} from '../inclusion/proof.js';
import { TreeReader } from '../inclusion/trees.js';
import { baseTreeFileNames } from '../merkle.js';
import { P_AUX_FILE, readPAux, readTAux, T_AUX_FILE } from '../pc2/index.js';
import { poseidonHash2 } from '../poseidon/index.js';
import { compareApiVersion, type PoStProofInfo, postProof, type SealProofInfo, sealProof } from '../registry.js';
import { checkSafeCommitment, postLeafChallenges } from './challenges.js';

const log = logger('post');

/** rust `SectorProof`. */
export interface PoStSectorProof {
  /** One per challenge, in challenge order. */
  inclusionProofs: InclusionProof[];
  commC: Uint8Array;
  commRLast: Uint8Array;
}

/** rust `FallbackPoStSectorProof`: a sector's vanilla proof with its id and comm_r. */
export interface FallbackPoStSectorProof {
  sectorId: bigint;
  commR: Uint8Array;
  vanillaProof: PoStSectorProof;
}

/** A sector to prove: where its files are (damocles' `PoStReplicaInfo`). */
export interface PoStReplica {
  sectorId: bigint;
  commR: Uint8Array;
  /** The sector's cache directory (tree-r-last files, p_aux, t_aux). */
  cacheDir: string;
  sealedPath: string;
}

/** A public sector (what the chain knows). */
export interface PoStPublicSector {
  sectorId: bigint;
  commR: Uint8Array;
}

export interface PoStPublicInputs {
  randomness: Uint8Array;
  proverId: Uint8Array;
  /** In any order; sorted by sector id for proving and verifying. */
  sectors: readonly PoStPublicSector[];
}

export type PoStProofRef = number | string | PoStProofInfo;

export function postProofInfo(p: PoStProofRef): PoStProofInfo {
  return typeof p === 'object' ? p : postProof(p);
}

/** The seal proof config whose trees a PoSt proof opens. */
export function postSealConfig(p: PoStProofInfo): SealProofInfo {
  return sealProof(p.sealProof);
}

function sortSectors<T extends { sectorId: bigint }>(s: readonly T[]): T[] {
  const out = [...s].sort((a, b) => (a.sectorId < b.sectorId ? -1 : a.sectorId > b.sectorId ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i].sectorId === out[i - 1].sectorId) throw new RangeError(`sector ${out[i].sectorId} is listed twice`);
  }
  return out;
}

/**
 * The vanilla proof of one sector for the given leaf challenges (rust `generate_single_vanilla_proof`);
 * throws when a file is missing or short, p_aux does not match comm_r, or a proof does not verify.
 */
export async function generateSingleVanillaProof(
  proof: PoStProofRef,
  replica: PoStReplica,
  challenges: readonly number[],
): Promise<FallbackPoStSectorProof> {
  const info = postProofInfo(proof);
  const cfg = postSealConfig(info);
  checkSafeCommitment(replica.commR, `comm_r of sector ${replica.sectorId}`);
  const aux = await readPAux(replica.cacheDir);
  const pAux = { commC: Uint8Array.from(aux.commC), commRLast: Uint8Array.from(aux.commRLast) };
  if (!bytesEqual(poseidonHash2(pAux.commC, pAux.commRLast), replica.commR)) {
    throw new Error(`sector ${replica.sectorId}: p_aux does not match comm_r ${toHex(replica.commR)}`);
  }
  let rows = cfg.treeRLastRowsToDiscard;
  try {
    rows = (await readTAux(replica.cacheDir)).treeRLastConfig.rowsToDiscard;
  } catch {
    // no t_aux: rust rebuilds it from the defaults
  }
  const tree = await TreeReader.openTreeRLast(cfg, replica.cacheDir, replica.sealedPath, rows);
  try {
    if (!bytesEqual(tree.root, pAux.commRLast)) {
      throw new Error(`sector ${replica.sectorId}: tree-r-last root is not p_aux comm_r_last`);
    }
    const inclusionProofs: InclusionProof[] = [];
    for (const c of challenges) {
      const p = await tree.prove(c);
      const ok = verifyInclusion(p, {
        hash: 'poseidon',
        shape: cfg.shape,
        leaves: cfg.nodes,
        challenge: c,
        root: pAux.commRLast,
      });
      if (!ok)
        throw new Error(`sector ${replica.sectorId}: the proof of leaf ${c} does not verify (replica corrupted?)`);
      inclusionProofs.push(p);
    }
    return {
      sectorId: replica.sectorId,
      commR: replica.commR,
      vanillaProof: { inclusionProofs, commC: pAux.commC, commRLast: pAux.commRLast },
    };
  } finally {
    await tree.close();
  }
}

export interface PoStVanillaResult {
  /** Proofs of the sectors that were proved, sorted by sector id. */
  proofs: FallbackPoStSectorProof[];
  /** Sectors reported faulty, ascending, with the reason. */
  faults: { sectorId: bigint; error: string }[];
}

export interface GeneratePoStOptions {
  proof: PoStProofRef;
  randomness: Uint8Array;
  proverId: Uint8Array;
  replicas: readonly PoStReplica[];
  /** Sectors proved at once (I/O overlap; default 8). */
  concurrency?: number;
}

/**
 * Window PoSt vanilla proofs for the given sectors (any number of partitions; rust
 * `generate_window_post` minus the SNARK), with faulty-sector detection.
 */
export async function generateWindowPoStVanilla(o: GeneratePoStOptions): Promise<PoStVanillaResult> {
  const info = postProofInfo(o.proof);
  if (info.kind !== 'window') throw new RangeError(`${info.name} is not a Window PoSt proof`);
  checkSafeCommitment(o.randomness, 'randomness');
  checkSafeCommitment(o.proverId, 'prover_id');
  let replicas = sortSectors(o.replicas);
  const faults: { sectorId: bigint; error: string }[] = [];
  for (;;) {
    const results = await proveSectors(info, o.randomness, replicas, o.concurrency ?? 8);
    const proofs: FallbackPoStSectorProof[] = [];
    const found: { sectorId: bigint; error: string }[] = [];
    for (const r of results) {
      if ('error' in r) found.push(r);
      else proofs.push(r);
    }
    faults.push(...found);
    // Before API 1.2 a sector's challenges depend on its position in the proven list: once faulty sectors
    // are dropped, the others are challenged again at their new positions (as rust's callers do by retrying).
    if (found.length === 0 || compareApiVersion(info.apiVersion, '1.2.0') >= 0) {
      faults.sort((a, b) => (a.sectorId < b.sectorId ? -1 : 1));
      return { proofs, faults };
    }
    const bad = new Set(found.map((f) => f.sectorId));
    replicas = replicas.filter((r) => !bad.has(r.sectorId));
  }
}

async function proveSectors(
  info: PoStProofInfo,
  randomness: Uint8Array,
  replicas: readonly PoStReplica[],
  concurrency: number,
): Promise<(FallbackPoStSectorProof | { sectorId: bigint; error: string })[]> {
  const results: (FallbackPoStSectorProof | { sectorId: bigint; error: string })[] = new Array(replicas.length);
  let next = 0;
  const lane = async () => {
    while (next < replicas.length) {
      const i = next++;
      const r = replicas[i];
      try {
        results[i] = await generateSingleVanillaProof(info, r, postLeafChallenges(info, randomness, r.sectorId, i));
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        log.warn({ sector: r.sectorId.toString(), error }, 'faulty sector');
        results[i] = { sectorId: r.sectorId, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, replicas.length)) }, lane));
  return results;
}

/**
 * Winning PoSt vanilla proof: the 66 challenges of the one selected sector (rust `generate_winning_post`;
 * pick the sector with `winningPostSectorChallenge`). A faulty sector is an error here: there is nothing
 * else to prove.
 */
export async function generateWinningPoStVanilla(o: GeneratePoStOptions): Promise<FallbackPoStSectorProof[]> {
  const info = postProofInfo(o.proof);
  if (info.kind !== 'winning') throw new RangeError(`${info.name} is not a Winning PoSt proof`);
  checkSafeCommitment(o.proverId, 'prover_id');
  if (o.replicas.length !== info.sectorCount) {
    throw new RangeError(`Winning PoSt proves ${info.sectorCount} sector, got ${o.replicas.length}`);
  }
  const r = o.replicas[0];
  return [await generateSingleVanillaProof(info, r, postLeafChallenges(info, o.randomness, r.sectorId, 0))];
}

/** Why a PoSt proof was rejected. */
export class PoStVerifyError extends Error {}

function fail(msg: string): never {
  throw new PoStVerifyError(msg);
}

/**
 * Verifies vanilla PoSt proofs of `pub.sectors` (one proof per sector, matched by sector id; both lists
 * sorted by id). Throws PoStVerifyError naming the sector and the failing relation.
 */
export function verifyPoStVanillaOrThrow(
  proof: PoStProofRef,
  pub: PoStPublicInputs,
  proofs: readonly FallbackPoStSectorProof[],
): void {
  const info = postProofInfo(proof);
  const cfg = postSealConfig(info);
  try {
    checkSafeCommitment(pub.randomness, 'randomness');
    checkSafeCommitment(pub.proverId, 'prover_id');
  } catch (e) {
    fail((e as Error).message);
  }
  const sectors = sortSectors(pub.sectors);
  if (sectors.length === 0) fail('no sectors');
  if (info.kind === 'winning' && sectors.length !== info.sectorCount)
    fail(`Winning PoSt proves ${info.sectorCount} sector`);
  if (proofs.length !== sectors.length) fail(`${proofs.length} sector proofs for ${sectors.length} sectors`);
  const sorted = [...proofs].sort((a, b) => (a.sectorId < b.sectorId ? -1 : a.sectorId > b.sectorId ? 1 : 0));
  sectors.forEach((s, i) => {
    const p = sorted[i];
    const what = `sector ${s.sectorId}`;
    if (p.sectorId !== s.sectorId) fail(`${what}: proof is for sector ${p.sectorId}`);
    if (!bytesEqual(p.commR, s.commR)) fail(`${what}: proof carries another comm_r`);
    const v = p.vanillaProof;
    let commR: Uint8Array;
    try {
      commR = poseidonHash2(v.commC, v.commRLast);
    } catch {
      fail(`${what}: comm_c or comm_r_last is not a field element`);
    }
    if (!bytesEqual(commR, s.commR)) fail(`${what}: Poseidon2(comm_c, comm_r_last) is not comm_r`);
    const leaves = postLeafChallenges(info, pub.randomness, s.sectorId, i);
    if (v.inclusionProofs.length !== leaves.length)
      fail(`${what}: ${v.inclusionProofs.length} inclusion proofs, expected ${leaves.length}`);
    v.inclusionProofs.forEach((ip, n) => {
      const ok = verifyInclusion(ip, {
        hash: 'poseidon',
        shape: cfg.shape,
        leaves: cfg.nodes,
        challenge: leaves[n],
        root: v.commRLast,
      });
      if (!ok) fail(`${what}: inclusion proof ${n} does not open leaf ${leaves[n]} under comm_r_last`);
    });
  });
}

export function verifyPoStVanilla(
  proof: PoStProofRef,
  pub: PoStPublicInputs,
  proofs: readonly FallbackPoStSectorProof[],
): boolean {
  try {
    verifyPoStVanillaOrThrow(proof, pub, proofs);
    return true;
  } catch (e) {
    if (e instanceof PoStVerifyError) return false;
    throw e;
  }
}

/** rust `partition_vanilla_proofs` for Window PoSt: chunks of `sectorCount`, the last padded with its last sector. */
export function partitionVanillaProofs(
  proof: PoStProofRef,
  proofs: readonly FallbackPoStSectorProof[],
): PoStSectorProof[][] {
  const info = postProofInfo(proof);
  const out: PoStSectorProof[][] = [];
  for (let i = 0; i < proofs.length; i += info.sectorCount) {
    const part = proofs.slice(i, i + info.sectorCount).map((p) => p.vanillaProof);
    while (part.length < info.sectorCount) part.push(part[part.length - 1]);
    out.push(part);
  }
  return out;
}

/** Window PoSt partitions needed for `sectors` sectors (rust `get_partitions_for_window_post`). */
export function windowPoStPartitions(proof: PoStProofRef, sectors: number): number {
  return Math.max(1, Math.ceil(sectors / postProofInfo(proof).sectorCount));
}

// ---------------------------------------------------------------------------------------------- serde JSON

/** `FallbackPoStSectorProof` as serde_json writes it. */
export function fallbackSectorProofToJson(p: FallbackPoStSectorProof): unknown {
  return {
    sector_id: Number(p.sectorId) <= Number.MAX_SAFE_INTEGER ? Number(p.sectorId) : p.sectorId.toString(),
    comm_r: domainToJson(p.commR),
    vanilla_proof: {
      sectors: [
        {
          inclusion_proofs: p.vanillaProof.inclusionProofs.map(inclusionToJson),
          comm_c: domainToJson(p.vanillaProof.commC),
          comm_r_last: domainToJson(p.vanillaProof.commRLast),
        },
      ],
    },
  };
}

export function fallbackSectorProofFromJson(proof: PoStProofRef, v: unknown): FallbackPoStSectorProof {
  const cfg = postSealConfig(postProofInfo(proof));
  const id = objectField(v, 'sector_id', 'proof');
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0)
    throw new TypeError('proof.sector_id: expected a u64');
  const vp = objectField(v, 'vanilla_proof', 'proof');
  const sectors = arrayFromJson(objectField(vp, 'sectors', 'proof.vanilla_proof'), 'proof.vanilla_proof.sectors');
  if (sectors.length !== 1) throw new TypeError('proof.vanilla_proof.sectors: expected one sector');
  const s = sectors[0];
  const w = 'proof.vanilla_proof.sectors[0]';
  return {
    sectorId: BigInt(id),
    commR: domainFromJson(objectField(v, 'comm_r', 'proof'), 'proof.comm_r'),
    vanillaProof: {
      inclusionProofs: arrayFromJson(objectField(s, 'inclusion_proofs', w), `${w}.inclusion_proofs`).map((x, i) =>
        inclusionFromJson(x, cfg.shape, `${w}.inclusion_proofs[${i}]`),
      ),
      commC: domainFromJson(objectField(s, 'comm_c', w), `${w}.comm_c`),
      commRLast: domainFromJson(objectField(s, 'comm_r_last', w), `${w}.comm_r_last`),
    },
  };
}

/** The cache-dir files a PoSt needs (damocles `cached_filenames_for_sector`): p_aux, t_aux, tree-r-last. */
export function postCacheFiles(proof: PoStProofRef): string[] {
  const cfg = postSealConfig(postProofInfo(proof));
  return [P_AUX_FILE, T_AUX_FILE, ...baseTreeFileNames('tree-r-last', cfg.baseTreeCount)];
}
