/**
 * Vanilla PoRep proving (C1's work, storage-proofs-porep `StackedDrg::prove_layers`): for each challenge,
 * open TreeD, TreeR-last and TreeC at the node, the columns of the node and of its 14 parents, and derive
 * the labeling and encoding proofs from those columns.
 *
 * Reads the sector's cache directory as PC1/PC2 left it: `sc-02-data-layer-<L>.dat`, `sc-02-data-tree-d.dat`,
 * `sc-02-data-tree-c[-i].dat`, `sc-02-data-tree-r-last[-i].dat`, `p_aux`, `t_aux`, plus the sealed file.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { bytesEqual, toHex } from '../../fil/index.js';
import { NODE } from '../inclusion/proof.js';
import { readExact, TreeReader } from '../inclusion/trees.js';
import { readPAux, readTAux } from '../pc2/index.js';
import { poseidonHash2 } from '../poseidon/index.js';
import type { PoRepConfig } from '../registry.js';
import { BASE_DEGREE } from '../registry.js';
import { labelLayerPath, SdrGraph } from '../sdr/index.js';
import { type ColumnProof, type PorepChallengeProof, proofFromParts } from './vanilla.js';

/** Where a sealed sector's files are. */
export interface SealedSectorFiles {
  /** The sector cache directory (layers, trees, p_aux, t_aux). */
  cacheDir: string;
  /** The replica. */
  sealedPath: string;
  /** TreeD when it is not `<cacheDir>/sc-02-data-tree-d.dat` (damocles keeps it under prepared/). */
  treeDPath?: string;
}

/** The TreeR-last rows_to_discard PC2 used: from t_aux when present, else the default. */
export async function treeRLastRowsToDiscard(cfg: PoRepConfig, cacheDir: string): Promise<number> {
  try {
    return (await readTAux(cacheDir)).treeRLastConfig.rowsToDiscard;
  } catch {
    return cfg.treeRLastRowsToDiscard;
  }
}

/** Open layer files; reads columns. */
class LayerColumns {
  private constructor(
    private readonly files: FileHandle[],
    private readonly names: string[],
  ) {}

  static async open(cacheDir: string, layers: number, sectorSize: number): Promise<LayerColumns> {
    const files: FileHandle[] = [];
    const names: string[] = [];
    try {
      for (let l = 1; l <= layers; l++) {
        const name = labelLayerPath(cacheDir, l);
        const fh = await open(name, 'r');
        files.push(fh);
        names.push(name);
        const { size } = await fh.stat();
        if (size !== sectorSize) throw new Error(`${name}: ${size} bytes, expected ${sectorSize}`);
      }
    } catch (e) {
      await Promise.all(files.map((f) => f.close()));
      throw e;
    }
    return new LayerColumns(files, names);
  }

  async column(node: number): Promise<Uint8Array[]> {
    return Promise.all(this.files.map((f, i) => readExact(f, node * NODE, NODE, this.names[i])));
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close().catch(() => {})));
  }
}

/** Holds a sealed sector's trees and layers open and proves challenges against them. */
export class PorepProver {
  private constructor(
    readonly cfg: PoRepConfig,
    readonly commD: Uint8Array,
    readonly commC: Uint8Array,
    readonly commRLast: Uint8Array,
    readonly commR: Uint8Array,
    private readonly graph: SdrGraph,
    private readonly treeD: TreeReader,
    private readonly treeC: TreeReader,
    private readonly treeR: TreeReader,
    private readonly layers: LayerColumns,
  ) {}

  /**
   * Opens every file and checks the commitments agree: TreeD's root with `commD` (when given), TreeC's and
   * TreeR-last's roots with p_aux, and Poseidon2(comm_c, comm_r_last) with `commR` (when given).
   */
  static async open(
    cfg: PoRepConfig,
    files: SealedSectorFiles,
    expect: { commD?: Uint8Array; commR?: Uint8Array } = {},
  ): Promise<PorepProver> {
    const opened: { close(): Promise<void> }[] = [];
    try {
      const pAux = await readPAux(files.cacheDir);
      const rows = await treeRLastRowsToDiscard(cfg, files.cacheDir);
      const treeD = await TreeReader.openTreeD(cfg, files.cacheDir, files.treeDPath);
      opened.push(treeD);
      const treeC = await TreeReader.openTreeC(cfg, files.cacheDir);
      opened.push(treeC);
      const treeR = await TreeReader.openTreeRLast(cfg, files.cacheDir, files.sealedPath, rows);
      opened.push(treeR);
      const layers = await LayerColumns.open(files.cacheDir, cfg.layers, cfg.sectorSize);
      opened.push(layers);
      if (expect.commD && !bytesEqual(treeD.root, expect.commD)) {
        throw new Error(`TreeD root ${toHex(treeD.root)} is not comm_d ${toHex(expect.commD)}`);
      }
      if (!bytesEqual(treeC.root, pAux.commC))
        throw new Error(`TreeC root ${toHex(treeC.root)} is not p_aux comm_c ${toHex(pAux.commC)}`);
      if (!bytesEqual(treeR.root, pAux.commRLast)) {
        throw new Error(`TreeR-last root ${toHex(treeR.root)} is not p_aux comm_r_last ${toHex(pAux.commRLast)}`);
      }
      const commR = poseidonHash2(pAux.commC, pAux.commRLast);
      if (expect.commR && !bytesEqual(commR, expect.commR)) {
        throw new Error(
          `comm_r ${toHex(expect.commR)} does not match p_aux (H(comm_c, comm_r_last) = ${toHex(commR)})`,
        );
      }
      return new PorepProver(
        cfg,
        treeD.root,
        pAux.commC,
        pAux.commRLast,
        commR,
        SdrGraph.forConfig(cfg),
        treeD,
        treeC,
        treeR,
        layers,
      );
    } catch (e) {
      await Promise.all(opened.map((o) => o.close()));
      throw e;
    }
  }

  private async columnProof(node: number): Promise<ColumnProof> {
    const [rows, inclusionProof] = await Promise.all([this.layers.column(node), this.treeC.prove(node)]);
    return { column: { index: node, rows }, inclusionProof };
  }

  /** The vanilla proof of challenge `c`. */
  async prove(c: number): Promise<PorepChallengeProof> {
    if (!Number.isInteger(c) || c < 0 || c >= this.cfg.nodes)
      throw new RangeError(`challenge ${c} is outside the sector`);
    const parents = Array.from(this.graph.parents(c));
    const [proofD, proofR, cX, cols] = await Promise.all([
      this.treeD.prove(c),
      this.treeR.prove(c),
      this.columnProof(c),
      Promise.all(parents.map((p) => this.columnProof(p))),
    ]);
    return proofFromParts(proofD, cX, cols.slice(0, BASE_DEGREE), cols.slice(BASE_DEGREE), proofR);
  }

  /** Proofs of many challenges, `concurrency` at a time. */
  async proveAll(challenges: readonly number[], concurrency = 8): Promise<PorepChallengeProof[]> {
    const out: PorepChallengeProof[] = new Array(challenges.length);
    let next = 0;
    const lane = async () => {
      while (next < challenges.length) {
        const i = next++;
        out[i] = await this.prove(challenges[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, challenges.length) }, lane));
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.treeD.close(), this.treeC.close(), this.treeR.close(), this.layers.close()]);
  }
}
