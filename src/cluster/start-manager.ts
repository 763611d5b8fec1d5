/**
 * The sector-manager step, once per manager (--managers N): `daemon init`, sector-manager.cfg as the deployment
 * guide fills it (written at every start), `util miner create` once, then `daemon run --poster --ext-prover
 * --require-token`. Managers 2…N share the first one's JWT secret so that one token works on all of them.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createToken } from '../rpc/index.js';
import { extProverConfigToml, managerConfigToml } from './configs.js';
import type { ClusterContext } from './context.js';
import { done, logFile, managerHome, managerName, markDone } from './home.js';
import { NETWORK } from './options.js';
import { parseMinerId } from './outputs.js';
import { ProcessError } from './process-spec.js';
import { httpReady } from './readiness.js';

export async function startManager(c: ClusterContext, i: number): Promise<void> {
  const name = managerName(i, c.managers);
  const home = managerHome(c.paths, i);
  const g = ['--home', home, '--net', NETWORK];
  const init = i === 1 ? 'manager-init' : (`manager-${i}-init` as const);
  if (!done(c.state, init)) {
    await c.cmd('venus-sector-manager', name, [...g, 'daemon', 'init']);
    markDone(c.paths, c.state, init);
  }
  if (i > 1) await shareManagerAuth(c, i);
  // written at every start: ports, token, miner and the sector cap follow this run's options
  writeManagerConfig(c, i);
  if (i === 1 && !done(c.state, 'miner-create')) {
    const owner = c.state.owner;
    if (!owner) throw new Error('no owner address (the devnet step did not record one)');
    const r = await c.cmd(
      'venus-sector-manager',
      name,
      [...g, 'util', 'miner', 'create', `--from=${owner}`, `--sector-size=${c.state.sectorSize}`],
      { timeoutMs: 5 * 60_000 },
    );
    const miner = parseMinerId(r.output);
    if (!miner) {
      throw new ProcessError(
        'failed',
        name,
        'util miner create finished but printed no miner id ("miner actor: t0…")',
        logFile(c.paths, name),
        r.output.trim().split('\n').slice(-20),
      );
    }
    c.state.miner = miner;
    markDone(c.paths, c.state, 'miner-create');
    c.event(`miner ${miner} created (owner ${owner})`);
    writeManagerConfig(c, i);
  }
  const port = c.managerPort(i);
  // every manager runs the poster: with several, the post lease picks the one that proves
  await c.daemon(
    'venus-sector-manager',
    name,
    [...g, 'daemon', 'run', `--listen=127.0.0.1:${port}`, '--poster', '--ext-prover', '--require-token'],
    { ready: httpReady(c.url(port)) },
  );
  // a read-only link is safe to print; pause/resume on the page needs the admin token the manager wrote
  const auth = await c.managerAuth();
  const read = await createToken(auth.secret, 'read');
  c.event(
    `${c.managers === 1 ? 'dashboard' : `${name} dashboard`}: ${c.url(port, '/')}?token=${read} (read-only; ` +
      `for pause/resume use the admin token in ${join(home, relative(c.paths.manager, auth.tokenPath))})`,
  );
}

function writeManagerConfig(c: ClusterContext, i: number): void {
  const home = managerHome(c.paths, i);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'sector-manager.cfg'),
    managerConfigToml({
      chainApi: `/ip4/127.0.0.1/tcp/${c.state.ports.devnet}`,
      token: c.devnetToken,
      miner: c.state.miner,
      sender: c.state.owner,
      storeName: 'remote',
      storePath: c.paths.remote,
      maxNumber: c.o.sectors,
      // --deals: the devnet plays droplet on its own port (VENUS_MARKET.* on /rpc/v1, /resource)
      ...(c.o.deals !== undefined
        ? { market: { api: `/ip4/127.0.0.1/tcp/${c.state.ports.devnet}`, token: c.devnetToken } }
        : {}),
      // one manager on its own SQLite file keeps the config it always had (no [Common] section)
      ...(c.pg ? { postgresDsn: c.pg.dsn } : {}),
      ...(c.managers > 1 || c.pg ? { haName: `manager-${i}`, leaseTtl: c.o.leaseTtl } : {}),
    }),
    { mode: 0o600 },
  );
  // daemon run --ext-prover: Window PoSt in a separate prover process, as a PoSt box would run it
  writeFileSync(join(home, 'ext-prover.cfg'), extProverConfigToml(), { mode: 0o600 });
}

/**
 * Managers 2…N take the first one's JWT secret and admin token: the worker's one token (`headers`, sent to
 * every URL of `urls`), the dashboard link and the view's probes then work on whichever manager answers.
 */
async function shareManagerAuth(c: ClusterContext, i: number): Promise<void> {
  const auth = await c.managerAuth();
  for (const file of [auth.secretPath, auth.tokenPath]) {
    const to = join(managerHome(c.paths, i), relative(c.paths.manager, file));
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    copyFileSync(file, to);
    chmodSync(to, 0o600);
  }
}
