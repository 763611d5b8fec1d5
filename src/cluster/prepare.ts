/**
 * The home's state before any program starts: a new home gets its ports and database chosen; an existing one is
 * checked against this run's options (sector size, --db), cleared of what a killed runner left running, and
 * given ports for any managers added since.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/cli.js';
import { stopLocalPostgresSync } from '../common/pg-local.js';
import type { ClusterContext } from './context.js';
import {
  checkPortsFree,
  choosePorts,
  chooseManagerPorts as choosePortsForManagers,
  DEFAULT_PORTS,
  done,
  loadState,
  managerName,
  saveState,
  stopLeftovers,
} from './home.js';

export async function prepareState(c: ClusterContext): Promise<void> {
  const existing = loadState(c.paths);
  if (existing) {
    if (existing.sectorSize !== c.o.sectorSize) {
      if (existing.miner) {
        throw new UserError(
          `${c.paths.home} holds a ${existing.sectorSize} miner (${existing.miner}); ` +
            `run with --sector-size ${existing.sectorSize}, or use another --home for ${c.o.sectorSize}`,
        );
      }
      existing.sectorSize = c.o.sectorSize;
    }
    const kind = dbKind(c.db);
    const had = existing.db ?? 'sqlite';
    if (had === 'postgres-local' && existsSync(join(c.paths.postgres, 'data'))) {
      // a runner killed with kill -9 left its throwaway PostgreSQL running
      stopLocalPostgresSync(c.paths.postgres);
      c.event('stopped the throwaway PostgreSQL left running by an earlier run of this home');
    }
    if (done(existing, 'manager-init') && had === 'postgres-local') {
      throw new UserError(
        `${c.paths.home} kept its sectors in a throwaway PostgreSQL (--db postgres), removed when that run ` +
          'stopped; use a new --home (or --db postgres://… for a database that outlives the runs)',
      );
    }
    if (had !== kind && done(existing, 'manager-init')) {
      // the sectors so far are in the other database: switching would lose them from the managers' view
      throw new UserError(
        `${c.paths.home} keeps its sectors in ${had === 'sqlite' ? 'SQLite' : 'PostgreSQL'}; ` +
          `run with --db ${had === 'sqlite' ? 'sqlite' : 'postgres://… (the DSN it used)'}, or use another --home`,
      );
    }
    existing.db = kind;
    for (const what of await stopLeftovers(c.paths, existing)) {
      c.event(`stopped ${what}, left running by an earlier run of this home`);
    }
    await checkPortsFree(existing.ports);
    c.state = existing;
    await chooseManagerPorts(c);
    saveState(c.paths, existing);
    return;
  }
  c.state = {
    version: 1,
    sectorSize: c.o.sectorSize,
    ports: await choosePorts(c.o.ports),
    steps: [],
    addresses: [],
    db: dbKind(c.db),
    createdAt: new Date().toISOString(),
  };
  await chooseManagerPorts(c);
  saveState(c.paths, c.state);
}

/** What the state records of --db: the runner's own throwaway PostgreSQL is not one a later run can reuse. */
function dbKind(db: string): 'sqlite' | 'postgres' | 'postgres-local' {
  return db === 'sqlite' ? 'sqlite' : db === 'postgres' ? 'postgres-local' : 'postgres';
}

/** Ports for managers 2…N: kept in the state once chosen (a rerun with more managers adds to them). */
async function chooseManagerPorts(c: ClusterContext): Promise<void> {
  const have = c.state.managerPorts ?? [];
  const need = c.managers - 1 - have.length;
  if (need > 0) {
    const first = c.o.ports?.manager === 0 ? 0 : DEFAULT_PORTS.manager + have.length;
    const taken = [...Object.values(c.state.ports), ...have];
    c.state.managerPorts = [...have, ...(await choosePortsForManagers(need, first, taken))];
  }
  // only the managers of this run need their ports (a rerun with fewer leaves the others unused)
  const used = (c.state.managerPorts ?? []).slice(0, c.managers - 1);
  await checkPortsFree(Object.fromEntries(used.map((port, i) => [managerName(i + 2, c.managers), port])));
}
