/**
 * Parent cache digests of the large sector sizes, checked against parent_cache.json (too slow for `npm test`:
 * 512MiB is 16.7 M nodes, 32GiB 1.07 G nodes). Digests are computed streaming; nothing is written unless asked.
 *
 *   node dist/bench/parent-cache.js [512MiB] [32GiB] [--write DIR] [--threads N] [--v1]
 */
import {
  formatSectorSize,
  type ParentCacheResult,
  parseSectorSize,
  SdrGraph,
  sdrNative,
  sealProofFor,
  writeParentCache,
} from '../proofs/index.js';

export interface ParentCacheBenchRow extends ParentCacheResult {
  proof: string;
  nodesPerSecond: number;
}

export async function run(
  sizes: (string | number)[] = ['512MiB'],
  opts: { write?: string; threads?: number; legacy?: boolean; log?: (line: string) => void } = {},
): Promise<ParentCacheBenchRow[]> {
  const print = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const native = sdrNative();
  print(
    `parent cache: kernel ${native ? `native (BLAKE2b ${native.sdrBlake2bBackend()})` : 'typescript'}, ` +
      `threads ${opts.threads ?? 'auto'}`,
  );
  const rows: ParentCacheBenchRow[] = [];
  for (const s of sizes) {
    const size = parseSectorSize(String(s));
    const kinds = opts.legacy ? (['V1_1', 'V1'] as const) : (['V1_1'] as const);
    for (const kind of kinds) {
      const proof = sealProofFor(size, kind);
      const graph = SdrGraph.forConfig(proof);
      const r = await writeParentCache(graph, {
        write: opts.write !== undefined,
        dir: opts.write,
        threads: opts.threads,
      });
      const row = { ...r, proof: proof.name, nodesPerSecond: graph.nodes / r.seconds };
      rows.push(row);
      print(
        `${formatSectorSize(size).padEnd(7)} ${proof.name.padEnd(22)} ${r.fileName}\n` +
          `        sha256 ${r.digest} ${r.matches === undefined ? '(not in manifest)' : r.matches ? 'MATCHES parent_cache.json' : `MISMATCH (published ${r.expected})`}\n` +
          `        ${r.seconds.toFixed(1)} s, ${Math.round(row.nodesPerSecond).toLocaleString('en')} nodes/s`,
      );
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const sizes: string[] = [];
  const opts: { write?: string; threads?: number; legacy?: boolean } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--write') opts.write = args[++i];
    else if (a === '--threads') opts.threads = Number(args[++i]);
    else if (a === '--v1') opts.legacy = true;
    else sizes.push(a);
  }
  const rows = await run(sizes.length ? sizes : ['512MiB'], opts);
  if (rows.some((r) => r.matches === false)) process.exitCode = 1;
}
