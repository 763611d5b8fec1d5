/**
 * The four programs as the runner starts them: `node dist/cli/<program>.js …`, shown in logs and messages as
 * the operator would type them (`venus-wallet --repo … setpwd`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PROGRAMS = ['venus-devnet', 'venus-wallet', 'venus-sector-manager', 'venus-worker'] as const;
export type ProgramName = (typeof PROGRAMS)[number];

/** How to start a program: an executable and the arguments that come before the program's own. */
export interface ProgramCommand {
  command: string;
  prefix: string[];
}

export type ProgramTable = Record<ProgramName, ProgramCommand>;

/**
 * The built entry points next to this module (dist/cluster → dist/cli). From the TypeScript sources (tsx), the
 * built ones in dist/ are used, since the programs run as plain node processes.
 */
export function defaultPrograms(): ProgramTable {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const out = {} as ProgramTable;
  for (const p of PROGRAMS) {
    const rel = fromSource ? `../../dist/cli/${p}.js` : `../cli/${p}.js`;
    out[p] = { command: process.execPath, prefix: [fileURLToPath(new URL(rel, import.meta.url))] };
  }
  return out;
}

/** Entry points that are missing (not built yet): named in the runner's first error. */
export function missingPrograms(t: ProgramTable): string[] {
  return PROGRAMS.filter((p) => t[p].command === process.execPath && !existsSync(t[p].prefix[0] ?? '')).map(
    (p) => `${p} (${t[p].prefix[0]})`,
  );
}

/** Quote an argument for display only when needed. */
function shellWord(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** What the operator would type. */
export function displayCommand(program: ProgramName, args: string[]): string {
  return [program, ...args].map(shellWord).join(' ');
}
