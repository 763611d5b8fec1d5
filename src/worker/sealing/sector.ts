/**
 * The sector document of a sealing thread (damocles `Sector`, docs/spec/sealer-api.md §Sealing store): one JSON file
 * `meta/sector.json` in the seal store, rewritten after each event and before each step. Writes are crash-safe: a
 * temporary file, fsync, rename over the old one, fsync of the directory; a kill at any instant leaves the old or the
 * new document.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AllocatedSector, CidJson, SectorPieces, Seed, Ticket } from '../../api/sealer.js';
import { PLANS, type PlanName } from '../config.js';
import { fsyncPath } from '../fsync.js';
import type { AddPiecesOutput, C1Output, C2Output, PC1Output, PC2Output } from '../processor/index.js';
import { sectorIdProblem } from '../store.js';
import { isState, type State } from './states.js';

export const SECTOR_FILE = 'sector.json';

export interface SectorPhases {
  /** AddPieces output: the pieces as written in the staged file. */
  pieces: AddPiecesOutput | null;
  comm_d: number[] | null;
  ticket: Ticket | null;
  pc1out: PC1Output | null;
  pc2out: PC2Output | null;
  pc2_re_submit: boolean;
  persist_instance: string | null;
  seed: Seed | null;
  c1out: C1Output | null;
  c2out: C2Output | null;
  c2_re_submit: boolean;
}

/** The unseal plan's task (damocles' phases.unseal_in and finalized.private). */
export interface UnsealJob {
  piece_cid: CidJson;
  /** Unpadded offset of the piece in the sector. */
  offset: number;
  /** Unpadded bytes to unseal. */
  size: number;
  comm_d: number[];
  /** The manager's name of the persist store holding the replica. */
  access_instance: string;
  /** Unpadded bytes the unseal wrote. */
  written: number | null;
  /** Set for an upgraded (SnapDeals) sector: `access_instance` holds the updated replica, `comm_d` is comm_d_new. */
  upgrade?: UnsealUpgrade | null;
}

/** What decoding an updated replica needs besides it (the manager's UnsealUpgradeInfo). */
export interface UnsealUpgrade {
  /** The sector key's comm_r (the CC replica's). */
  comm_r_old: number[];
  /** The persist store the sector key was in ("" unknown): read from there if still present, else sealed again. */
  sector_key_instance: string;
}

/** What a rebuild checks its result against (the manager's SectorRebuildInfo). */
export interface RebuildTarget {
  /** The chain's sealed CID, as the manager sent it. */
  sealed_cid: string;
  /** Its comm_r bytes: the rebuilt replica's must be equal. */
  comm_r: number[];
  /**
   * Set for an upgraded (SnapDeals) sector: the CC sector sealed again must give `comm_r_old` (the chain's sector
   * key), then the deal pieces encoded into it must give `comm_r` (docs/rebuild.md).
   */
  upgrade?: { comm_r_old: number[]; sector_key_cid: string; pieces: SectorPieces } | null;
}

/** The snapup plan's task (damocles' finalized public/private info and snap encode/prove outputs). */
export interface SnapUpJob {
  /** The sector's CommR on chain before the update: the CC replica read as sector key must give it. */
  comm_r_old: number[];
  sealed_cid: string | null;
  /** The manager's name of the persist store holding the CC replica. */
  access_instance: string;
  comm_r_new: number[] | null;
  comm_d_new: number[] | null;
  /** The update proof (base64), what SubmitSnapUpProof carries. */
  proof: string | null;
}

export interface SectorDoc {
  version: 1;
  plan: PlanName;
  state: State;
  prev_state: State | null;
  /** Temporary failures of the current step so far. */
  retry: number;
  base: { allocated: AllocatedSector; prover_id: number[] } | null;
  /** The deal pieces the manager assigned (null: a CC sector). */
  deals: SectorPieces;
  phases: SectorPhases;
  /** The unseal plan's task (null in the sealer plan). */
  unseal?: UnsealJob | null;
  /** The rebuild plan's target (null for the sealer plan). */
  rebuild?: RebuildTarget | null;
  /** The snapup plan's task (null for the other plans). */
  snapup?: SnapUpJob | null;
}

export function newSectorDoc(plan: PlanName = 'sealer'): SectorDoc {
  return {
    version: 1,
    plan,
    state: 'Empty',
    prev_state: null,
    retry: 0,
    base: null,
    deals: null,
    phases: {
      pieces: null,
      comm_d: null,
      ticket: null,
      pc1out: null,
      pc2out: null,
      pc2_re_submit: false,
      persist_instance: null,
      seed: null,
      c1out: null,
      c2out: null,
      c2_re_submit: false,
    },
  };
}

/** Loads and saves the document of one seal store. */
export class SectorDocStore {
  readonly path: string;

  constructor(readonly metaDir: string) {
    this.path = join(metaDir, SECTOR_FILE);
  }

  /** The saved document, or a new empty one. A damaged file is an error (the operator must look). */
  async load(): Promise<SectorDoc> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return newSectorDoc();
      throw err;
    }
    let doc: SectorDoc;
    try {
      doc = JSON.parse(text) as SectorDoc;
    } catch (err) {
      throw new Error(`sector document ${this.path} is damaged: ${(err as Error).message}`);
    }
    if (doc?.version !== 1 || !PLANS.includes(doc.plan) || !isState(doc.state)) {
      throw new Error(
        `sector document ${this.path} is not a sector document of version 1 (plan ${PLANS.join(' or ')})`,
      );
    }
    // file names are built from the id: an edited or damaged document must not point outside the store
    const badId = doc.base ? sectorIdProblem(doc.base.allocated?.ID) : null;
    if (badId) throw new Error(`sector document ${this.path} is damaged: ${badId}`);
    return { ...newSectorDoc(), ...doc, phases: { ...newSectorDoc().phases, ...doc.phases } };
  }

  async save(doc: SectorDoc): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(`${JSON.stringify(doc, null, 1)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    await fsyncPath(this.metaDir);
  }

  /** Forgets the sector (after finalize or abort). */
  async clear(): Promise<void> {
    await rm(this.path, { force: true });
    await fsyncPath(this.metaDir);
  }
}
