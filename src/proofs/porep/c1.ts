/**
 * Commit phase 1 (filecoin-proofs `seal_commit_phase1`, rust-filecoin-proofs-api `seal.rs`): the vanilla
 * proofs of every partition's challenges, and `SealCommitPhase1Output` in serde_json's form so an external
 * C2 prover built on rust-fil-proofs can consume it (and we can read one back):
 *
 *   { "registered_proof": "StackedDrg2KiBV1_1",
 *     "vanilla_proofs": { "StackedDrg2KiBV1": [[ Proof, … ], …] },      // enum by sector size, [partition][i]
 *     "comm_r": [32 bytes], "comm_d": […], "replica_id": […], "seed": […], "ticket": […] }
 *
 *   Proof = { "comm_d_proofs": MerkleProof, "comm_r_last_proof": MerkleProof,
 *             "replica_column_proofs": { "c_x": ColumnProof, "drg_parents": [6], "exp_parents": [8] },
 *             "labeling_proofs": [{ "parents": [37], "layer_index": L, "node": c }, …],
 *             "encoding_proof": { "parents": [37], "layer_index": L, "node": c } }
 *   ColumnProof = { "column": { "index": c, "rows": [L], "_h": null }, "inclusion_proof": MerkleProof }
 *
 * `Column` keeps its `_h: PhantomData` field in JSON (serde writes null and requires it on reading);
 * the labeling and encoding proofs skip theirs. Byte arrays are arrays of numbers.
 *
 * Synthetic PoRep: `generateSynthProofs` proves every synthetic challenge after PC2 and writes
 * `syn-porep-vanilla-proofs.dat`; C1 then reads the selected records from it (the layers may be gone).
 */
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../../common/log.js';
import {
  arrayFromJson,
  BINARY_SHAPE,
  domainFromJson,
  domainToJson,
  inclusionFromJson,
  inclusionToJson,
  objectField,
  uintFromJson,
} from '../inclusion/proof.js';
import { type SealProofInfo, sealProof, type TreeShape } from '../registry.js';
import { generateReplicaId } from '../sdr/index.js';
import { allPorepChallenges, SyntheticChallenges } from './challenges.js';
import { PorepProver, type SealedSectorFiles } from './prove.js';
import { encodeRecords, readSynthProofs, SYNTH_PROOFS_FILE } from './records.js';
import type { ColumnProof, LabelingProof, PorepChallengeProof } from './vanilla.js';
import { verifyPorepProofsOrThrow } from './verify.js';

const log = logger('c1');

/** rust-filecoin-proofs-api `SealCommitPhase1Output`. */
export interface SealCommitPhase1Output {
  /** The registered seal proof (its rust variant name in JSON). */
  registeredProof: SealProofInfo;
  /** `[partition][challenge]`. */
  vanillaProofs: PorepChallengeProof[][];
  commR: Uint8Array;
  commD: Uint8Array;
  replicaId: Uint8Array;
  seed: Uint8Array;
  ticket: Uint8Array;
}

/** The `VanillaSealProof` variant: by sector size only, `StackedDrg<size>V1` for every version. */
export function vanillaSealProofVariant(p: Pick<SealProofInfo, 'sectorSize' | 'name'>): string {
  const m = /^StackedDrg(\d+[KMG]iB)/.exec(p.name);
  if (!m) throw new Error(`no VanillaSealProof variant for ${p.name}`);
  return `StackedDrg${m[1]}V1`;
}

// ---------------------------------------------------------------------------------------------- to JSON

function labelingToJson(p: LabelingProof): unknown {
  return { parents: p.parents.map(domainToJson), layer_index: p.layerIndex, node: p.node };
}

function columnToJson(c: ColumnProof): unknown {
  return {
    column: { index: c.column.index, rows: c.column.rows.map(domainToJson), _h: null },
    inclusion_proof: inclusionToJson(c.inclusionProof),
  };
}

/** One challenge proof as serde writes `stacked::Proof`. */
export function challengeProofToJson(p: PorepChallengeProof): unknown {
  return {
    comm_d_proofs: inclusionToJson(p.commDProofs),
    comm_r_last_proof: inclusionToJson(p.commRLastProof),
    replica_column_proofs: {
      c_x: columnToJson(p.replicaColumnProofs.cX),
      drg_parents: p.replicaColumnProofs.drgParents.map(columnToJson),
      exp_parents: p.replicaColumnProofs.expParents.map(columnToJson),
    },
    labeling_proofs: p.labelingProofs.map(labelingToJson),
    encoding_proof: labelingToJson(p.encodingProof),
  };
}

/** The JSON value (serde field order) of a C1 output. */
export function c1OutputToJson(o: SealCommitPhase1Output): unknown {
  return {
    registered_proof: o.registeredProof.rustName,
    vanilla_proofs: {
      [vanillaSealProofVariant(o.registeredProof)]: o.vanillaProofs.map((part) => part.map(challengeProofToJson)),
    },
    comm_r: domainToJson(o.commR),
    comm_d: domainToJson(o.commD),
    replica_id: domainToJson(o.replicaId),
    seed: domainToJson(o.seed),
    ticket: domainToJson(o.ticket),
  };
}

/** serde_json bytes of a C1 output, as filecoin-ffi hands them to Lotus and damocles hands them to `c2`. */
export function encodeC1Output(o: SealCommitPhase1Output): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(c1OutputToJson(o)));
}

// ---------------------------------------------------------------------------------------------- from JSON

function labelingFromJson(v: unknown, what: string): LabelingProof {
  return {
    parents: arrayFromJson(objectField(v, 'parents', what), `${what}.parents`).map((x, i) =>
      domainFromJson(x, `${what}.parents[${i}]`),
    ),
    layerIndex: uintFromJson(objectField(v, 'layer_index', what), `${what}.layer_index`, 0xffffffff),
    node: uintFromJson(objectField(v, 'node', what), `${what}.node`),
  };
}

function columnFromJson(v: unknown, shape: TreeShape, what: string): ColumnProof {
  const col = objectField(v, 'column', what);
  const w = `${what}.column`;
  if (objectField(col, '_h', w) !== null) throw new TypeError(`${w}._h: expected null`);
  return {
    column: {
      index: uintFromJson(objectField(col, 'index', w), `${w}.index`, 0xffffffff),
      rows: arrayFromJson(objectField(col, 'rows', w), `${w}.rows`).map((x, i) => domainFromJson(x, `${w}.rows[${i}]`)),
    },
    inclusionProof: inclusionFromJson(objectField(v, 'inclusion_proof', what), shape, `${what}.inclusion_proof`),
  };
}

/** Reads one `stacked::Proof` JSON value for a tree shape. */
export function challengeProofFromJson(v: unknown, shape: TreeShape, what = 'proof'): PorepChallengeProof {
  const rc = objectField(v, 'replica_column_proofs', what);
  const w = `${what}.replica_column_proofs`;
  return {
    commDProofs: inclusionFromJson(objectField(v, 'comm_d_proofs', what), BINARY_SHAPE, `${what}.comm_d_proofs`),
    commRLastProof: inclusionFromJson(objectField(v, 'comm_r_last_proof', what), shape, `${what}.comm_r_last_proof`),
    replicaColumnProofs: {
      cX: columnFromJson(objectField(rc, 'c_x', w), shape, `${w}.c_x`),
      drgParents: arrayFromJson(objectField(rc, 'drg_parents', w), `${w}.drg_parents`).map((x, i) =>
        columnFromJson(x, shape, `${w}.drg_parents[${i}]`),
      ),
      expParents: arrayFromJson(objectField(rc, 'exp_parents', w), `${w}.exp_parents`).map((x, i) =>
        columnFromJson(x, shape, `${w}.exp_parents[${i}]`),
      ),
    },
    labelingProofs: arrayFromJson(objectField(v, 'labeling_proofs', what), `${what}.labeling_proofs`).map((x, i) =>
      labelingFromJson(x, `${what}.labeling_proofs[${i}]`),
    ),
    encodingProof: labelingFromJson(objectField(v, 'encoding_proof', what), `${what}.encoding_proof`),
  };
}

/** Reads a C1 output JSON value (as `c1OutputToJson` or rust writes it). */
export function c1OutputFromJson(v: unknown): SealCommitPhase1Output {
  const name = objectField(v, 'registered_proof', 'c1out');
  if (typeof name !== 'string') throw new TypeError('c1out.registered_proof: expected a string');
  const registeredProof = sealProof(name);
  const vp = objectField(v, 'vanilla_proofs', 'c1out');
  const variant = vanillaSealProofVariant(registeredProof);
  if (typeof vp !== 'object' || vp === null || Object.keys(vp).length !== 1 || !(variant in vp)) {
    throw new TypeError(`c1out.vanilla_proofs: expected {"${variant}": [...]} for ${name}`);
  }
  const parts = arrayFromJson((vp as Record<string, unknown>)[variant], `c1out.vanilla_proofs.${variant}`);
  const vanillaProofs = parts.map((part, k) =>
    arrayFromJson(part, `vanilla_proofs[${k}]`).map((p, i) =>
      challengeProofFromJson(p, registeredProof.shape, `vanilla_proofs[${k}][${i}]`),
    ),
  );
  const d = (key: string) => domainFromJson(objectField(v, key, 'c1out'), `c1out.${key}`);
  return {
    registeredProof,
    vanillaProofs,
    commR: d('comm_r'),
    commD: d('comm_d'),
    replicaId: d('replica_id'),
    seed: d('seed'),
    ticket: d('ticket'),
  };
}

/** Parses serde_json bytes (or a string) of a C1 output. */
export function decodeC1Output(bytes: Uint8Array | string): SealCommitPhase1Output {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`c1out is not JSON: ${(e as Error).message}`);
  }
  return c1OutputFromJson(v);
}

/** Verifies a C1 output's vanilla proofs in full (throws PorepVerifyError naming the failing relation). */
export function verifyC1Output(o: SealCommitPhase1Output): void {
  verifyPorepProofsOrThrow(o.registeredProof, o, o.vanillaProofs);
}

// ---------------------------------------------------------------------------------------------- proving

export interface SealCommitPhase1Options extends SealedSectorFiles {
  /** Registered seal proof (id, name or info). */
  proof: number | string | SealProofInfo;
  proverId: Uint8Array;
  sectorId: bigint | number;
  ticket: Uint8Array;
  /** Interactive randomness (for NI-PoRep any 32 bytes; rust passes it through). */
  seed: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
}

function infoOf(p: number | string | SealProofInfo): SealProofInfo {
  return typeof p === 'object' ? p : sealProof(p);
}

/**
 * C1: derives the challenges, proves them from the sector's files (or, for Synthetic PoRep, reads them from
 * the synthetic proofs file), verifies everything and returns the output.
 */
export async function sealCommitPhase1(opts: SealCommitPhase1Options): Promise<SealCommitPhase1Output> {
  const cfg = infoOf(opts.proof);
  const t0 = performance.now();
  const replicaId = generateReplicaId(opts.proverId, opts.sectorId, opts.ticket, opts.commD, cfg.porepId);
  const pub = { replicaId, commD: opts.commD, commR: opts.commR, seed: opts.seed };
  let vanillaProofs: PorepChallengeProof[][];
  if (cfg.challengeKind === 'synthetic') {
    const path = join(opts.cacheDir, SYNTH_PROOFS_FILE);
    const synth = new SyntheticChallenges(cfg.nodes, replicaId, opts.commR, cfg.syntheticChallengeCount);
    vanillaProofs = [];
    for (let k = 0; k < cfg.partitions; k++) {
      const indexes = synth.selectedIndexes(opts.seed, cfg.challengesPerPartition, k);
      vanillaProofs.push(
        await readSynthProofs(path, cfg, indexes).catch((e: NodeJS.ErrnoException) => {
          throw new Error(`synthetic PoRep: cannot read ${path}: ${e.message}`);
        }),
      );
    }
  } else {
    const prover = await PorepProver.open(cfg, opts, { commD: opts.commD, commR: opts.commR });
    try {
      const challenges = allPorepChallenges(cfg, pub);
      vanillaProofs = [];
      for (const part of challenges) vanillaProofs.push(await prover.proveAll(part));
    } finally {
      await prover.close();
    }
  }
  // rust-fil-proofs verifies its own vanilla proofs before handing them out; so do we.
  verifyPorepProofsOrThrow(cfg, pub, vanillaProofs);
  log.info(
    {
      proof: cfg.name,
      partitions: cfg.partitions,
      challenges: cfg.partitions * cfg.challengesPerPartition,
      ms: Math.round(performance.now() - t0),
    },
    'C1 done',
  );
  return {
    registeredProof: cfg,
    vanillaProofs,
    commR: opts.commR,
    commD: opts.commD,
    replicaId,
    seed: opts.seed,
    ticket: opts.ticket,
  };
}

export interface GenerateSynthProofsOptions extends SealedSectorFiles {
  proof: number | string | SealProofInfo;
  proverId: Uint8Array;
  sectorId: bigint | number;
  ticket: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
}

/**
 * Synthetic PoRep, after PC2 (filecoin-proofs `generate_synth_proofs`): proves every synthetic challenge
 * and writes `<cache>/syn-porep-vanilla-proofs.dat` (rust's format), so the layers can be dropped before
 * the seed arrives. Returns the file path.
 */
export async function generateSynthProofs(opts: GenerateSynthProofsOptions): Promise<string> {
  const cfg = infoOf(opts.proof);
  if (cfg.challengeKind !== 'synthetic') throw new Error(`${cfg.name} does not use synthetic PoRep`);
  const replicaId = generateReplicaId(opts.proverId, opts.sectorId, opts.ticket, opts.commD, cfg.porepId);
  const synth = new SyntheticChallenges(cfg.nodes, replicaId, opts.commR, cfg.syntheticChallengeCount);
  const path = join(opts.cacheDir, SYNTH_PROOFS_FILE);
  const tmp = `${path}.tmp`;
  const prover = await PorepProver.open(cfg, opts, { commD: opts.commD, commR: opts.commR });
  const out = await open(tmp, 'w');
  try {
    // roots once, then the records in batches: 2^18 challenges do not fit in memory as objects
    await out.write(Buffer.concat([prover.commD, prover.commC, prover.commRLast]));
    const BATCH = 256;
    for (let start = 0; start < synth.count; start += BATCH) {
      const proofs = await prover.proveAll(synth.range(start, Math.min(BATCH, synth.count - start)));
      await out.write(encodeRecords(proofs, cfg));
    }
    await out.sync();
    await out.close();
    await rename(tmp, path);
  } catch (e) {
    await out.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await prover.close();
  }
  return path;
}
