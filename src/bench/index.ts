/**
 * `npm run bench`: runs every benchmark module of this folder (each exports `run()` and prints its own report),
 * then one summary: each figure with its sector size and its ratio to the baseline the module measured in the
 * same run (so figures compare across machines).
 *
 *   npm run bench                     all modules present (commp, parent-cache, pc1, pc2, …)
 *   npm run bench -- pc1 pc2          only these
 *   npm run bench -- --list           the modules found
 *   npm run bench -- --json FILE      also write the figures as JSON
 *   npm run bench -- --size 32GiB     modules that take extra sizes (snap) add this one
 *   npm run bench -- --quick          pc1 and snap without 512MiB (they run 8MiB and 512MiB by default)
 *   npm run bench -- manager-rpc --workers 200 --db sqlite   load on the manager's worker API (manager-rpc.ts)
 *
 * A module added later (post.ts, c1.ts, …) is picked up by its file name. To appear in the summary its run()
 * returns `{ figures: BenchFigure[] }` (or it exports `figures(result)`); the older modules are adapted here.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchFigure {
  /** The module ("pc1"). */
  bench: string;
  /** What was measured ("labels/s, native kernel, end to end"). */
  name: string;
  sectorSize?: string;
  value: number;
  unit: string;
  /** value ÷ baseline, both measured in the same run. */
  ratio?: number;
  /** What the ratio divides by. */
  baseline?: string;
}

/** The order of the report; modules not listed come after, by name. */
const ORDER = ['commp', 'parent-cache', 'pc1', 'pc2', 'c1', 'c2', 'post', 'wdpost'];

type Row = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);

/** Summaries of the modules that landed before this convention existed. */
const ADAPTERS: Record<string, (r: Row) => BenchFigure[]> = {
  commp: (r) => {
    const base = num(r.cryptoSha256MiBs);
    const baseline = 'node:crypto SHA-256 bulk MiB/s';
    const fig = (name: string, v: unknown): BenchFigure[] => {
      const value = num(v);
      return value === undefined
        ? []
        : [{ bench: 'commp', name, value, unit: 'MiB/s', ...(base ? { ratio: value / base, baseline } : {}) }];
    };
    const out = [
      ...fig('CommP in memory', r.commPMemoryMiBs),
      ...fig('CommP from file', r.commPFileMiBs),
      ...fig('Fr32 padding', r.fr32PadMiBs),
      ...fig('tree row hashing', r.rowHashMiBs),
    ];
    const treeD = r.treeD as { sectorSize: number; MiBs: number } | undefined;
    if (treeD && base) {
      out.push({
        bench: 'commp',
        name: 'TreeD (CC sector)',
        sectorSize: sizeLabel(treeD.sectorSize),
        value: treeD.MiBs,
        unit: 'MiB/s',
        ratio: treeD.MiBs / base,
        baseline,
      });
    }
    return out;
  },
  pc1: (r) =>
    rows(r.rows).flatMap((row) => [
      {
        bench: 'pc1',
        name: `labels/s, ${row.kernel} kernel, end to end`,
        sectorSize: String(row.sectorSize),
        value: num(row.labelsPerSecond) ?? 0,
        unit: 'labels/s',
        ...(num(row.ratio) !== undefined
          ? { ratio: num(row.ratio), baseline: 'OpenSSL SHA-256 label-equivalents/s' }
          : {}),
      },
      {
        bench: 'pc1',
        name: `labels/s, ${row.kernel} kernel only`,
        sectorSize: String(row.sectorSize),
        value: num(row.kernelLabelsPerSecond) ?? 0,
        unit: 'labels/s',
        ...(num(row.kernelRatio) !== undefined
          ? { ratio: num(row.kernelRatio), baseline: 'OpenSSL SHA-256 label-equivalents/s' }
          : {}),
      },
    ]),
  pc2: (r) => {
    const mul = num(r.nativeMulPerSecond);
    const baseline = 'native Fr multiplications/s ÷ 1000';
    const out: BenchFigure[] = rows(r.pc2).map((row) => ({
      bench: 'pc2',
      name: `PC2 Poseidon hashes/s, ${row.threads} threads (TreeC ${fmt(num(row.treeCSeconds))} s, TreeR-last ${fmt(num(row.treeRLastSeconds))} s)`,
      sectorSize: String(row.sectorSize),
      value: num(row.hashesPerSecond) ?? 0,
      unit: 'hashes/s',
      ...(num(row.ratioPerKMul) !== undefined ? { ratio: num(row.ratioPerKMul), baseline } : {}),
    }));
    for (const p of rows(r.poseidon)) {
      const nat = num(p.nativeHashesPerSecond);
      const value = nat ?? num(p.tsHashesPerSecond) ?? 0;
      out.push({
        bench: 'pc2',
        name: `Poseidon arity ${p.arity}, ${nat !== undefined ? 'native' : 'TypeScript'}, one thread`,
        value,
        unit: 'hashes/s',
        ...(mul && nat !== undefined ? { ratio: (nat / mul) * 1000, baseline } : {}),
      });
    }
    return out;
  },
  'parent-cache': (r) =>
    rows(r).map((row) => ({
      bench: 'parent-cache',
      name: `parent cache ${row.proof} (${row.matches === true ? 'digest matches parent_cache.json' : row.matches === false ? 'DIGEST MISMATCH' : 'not in manifest'})`,
      ...(/(\d+[KMG]iB)/.exec(String(row.proof)) ? { sectorSize: /(\d+[KMG]iB)/.exec(String(row.proof))![1] } : {}),
      value: num(row.nodesPerSecond) ?? 0,
      unit: 'nodes/s',
    })),
};

function fmt(v: number | undefined): string {
  return v === undefined ? '?' : v.toFixed(2);
}

function sizeLabel(n: number | string): string {
  if (typeof n === 'string') return n;
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && v % 1024 === 0 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v}${units[i]}`;
}

/** Benchmark modules next to this file, in report order. */
export function findBenchmarks(dir = dirname(fileURLToPath(import.meta.url))): { name: string; file: string }[] {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const found = readdirSync(dir)
    .filter((f) => f.endsWith(ext) && !f.endsWith('.d.ts') && !f.includes('.test.') && f !== `index${ext}`)
    .map((f) => ({ name: f.slice(0, -ext.length), file: `${dir}/${f}` }));
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return found.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

interface BenchModule {
  run?: (...args: unknown[]) => unknown;
  figures?: (result: unknown) => BenchFigure[];
}

/** The summary figures of one module's result. */
export function figuresOf(name: string, mod: BenchModule, result: unknown): BenchFigure[] | undefined {
  // the result's own figures first: a module may also export a figures() helper with its own signature
  if (result && typeof result === 'object' && Array.isArray((result as { figures?: unknown }).figures)) {
    return (result as { figures: BenchFigure[] }).figures;
  }
  if (mod.figures) return mod.figures(result);
  const adapter = ADAPTERS[name];
  return adapter ? adapter(result as Row) : undefined;
}

function human(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (v >= 100) return v.toFixed(0);
  return v >= 1 || v === 0 ? v.toFixed(2) : String(Number(v.toPrecision(3)));
}

/** The summary table. */
export function formatSummary(figs: BenchFigure[]): string[] {
  const lines = ['', 'summary (ratio = figure ÷ baseline measured in the same run)'];
  lines.push(`  ${'bench'.padEnd(13)}${'size'.padEnd(8)}${'figure'.padStart(16)}  ${'ratio'.padStart(8)}  what`);
  for (const f of figs) {
    lines.push(
      `  ${f.bench.padEnd(13)}${(f.sectorSize ?? '-').padEnd(8)}${`${human(f.value)} ${f.unit}`.padStart(16)}  ` +
        `${f.ratio === undefined ? '-'.padStart(8) : f.ratio.toFixed(3).padStart(8)}  ${f.name}` +
        (f.baseline ? `  [÷ ${f.baseline}]` : ''),
    );
  }
  return lines;
}

/** Flags followed by a value (not a module name). */
const VALUE_FLAGS = [
  '--json',
  '--size',
  '--workers',
  '--sweep',
  '--rate',
  '--seconds',
  '--warmup',
  '--db',
  '--block-ms',
  '--profile',
];

export async function main(argv = process.argv.slice(2)): Promise<number> {
  const all = findBenchmarks();
  if (argv.includes('--list')) {
    for (const b of all) console.log(b.name);
    return 0;
  }
  const ji = argv.indexOf('--json');
  const jsonFile = ji >= 0 ? argv[ji + 1] : undefined;
  if (ji >= 0 && !jsonFile) {
    console.error('--json needs a file name');
    return 2;
  }
  // flags with a value: --json FILE, --size SIZE and manager-rpc's (read by the modules from process.argv)
  const wanted = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && VALUE_FLAGS.includes(argv[i - 1]!)));
  const unknown = wanted.filter((w) => !all.some((b) => b.name === w));
  if (unknown.length) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')} (present: ${all.map((b) => b.name).join(', ')})`);
    return 2;
  }
  const chosen = wanted.length ? all.filter((b) => wanted.includes(b.name)) : all;
  const figures: BenchFigure[] = [];
  const failed: string[] = [];
  const noSummary: string[] = [];
  for (const b of chosen) {
    console.log(`\n=== ${b.name} ===`);
    const mod = (await import(pathToFileURL(b.file).href)) as BenchModule;
    if (typeof mod.run !== 'function') {
      console.log(`(${b.name} exports no run(); skipped)`);
      continue;
    }
    const t = performance.now();
    try {
      const result = await mod.run();
      const figs = figuresOf(b.name, mod, result);
      if (figs) figures.push(...figs);
      else noSummary.push(b.name);
      console.log(`(${b.name}: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed.push(b.name);
      console.error(`${b.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
  for (const l of formatSummary(figures)) console.log(l);
  if (noSummary.length) console.log(`  (no summary figures from ${noSummary.join(', ')}: see their reports above)`);
  if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify({ at: new Date().toISOString(), figures }, null, 2)}\n`);
  if (failed.length) {
    console.error(`failed: ${failed.join(', ')}`);
    return 1;
  }
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
