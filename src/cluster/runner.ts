/**
 * `npm start`: the whole cluster on this machine, each program as its own process with its own log, driven with
 * the commands of the deployment guide:
 *
 *   venus-devnet --home H/devnet init … ; venus-devnet --home H/devnet run --listen …
 *   venus-wallet --repo H/wallet run ; setpwd ; import <funded key>…        (config.toml: [API], [APIRegisterHub])
 *   venus-sector-manager --home H/manager --net 2k daemon init ; util miner create --from … --sector-size … ;
 *     daemon run --listen … --poster --ext-prover --require-token           (sector-manager.cfg as the guide fills it)
 *   venus-worker store seal-init -l H/worker/seal-1 H/worker/seal-2 H/worker/rebuild-1 ; store file-init -l H/remote ;
 *     daemon --config H/worker/venus-worker.toml                            (external pc2 and c2 processors)
 *
 * Every step is recorded in H/cluster.json when it succeeds, so a rerun resumes (restarts the daemons, skips
 * what is done). A program that fails is reported with the tail of its log; Ctrl-C stops all in reverse order.
 *
 * This file runs the steps in order and handles the stop. Each step has its own file (start-*.ts); the home's
 * state is prepared in prepare.ts; live.ts polls and draws once everything runs; context.ts holds what they share.
 */
import { UserError } from '../common/cli.js';
import { stopLocalPostgresSync } from '../common/pg-local.js';
import { ClusterContext } from './context.js';
import { type ClusterPaths, lockHome, saveState } from './home.js';
import { probeTargets, supervise } from './live.js';
import { type ClusterOptions, checkManagers } from './options.js';
import { prepareState } from './prepare.js';
import { Prober, type ProbeTargets } from './probe.js';
import { missingPrograms } from './programs.js';
import { startDatabase } from './start-database.js';
import { startDevnet } from './start-devnet.js';
import { startManager } from './start-manager.js';
import { startWallet } from './start-wallet.js';
import { startWorker } from './start-worker.js';
import { handleSignals, type Supervisor } from './supervisor.js';
import { createView, type View } from './view.js';

/** Starts the programs one step at a time (each recorded in the home's state), then watches them until told to stop. */
export class ClusterRunner {
  private readonly c: ClusterContext;
  private stopRequested: NodeJS.Signals | undefined;
  private readonly stopWaiters: (() => void)[] = [];

  constructor(readonly o: ClusterOptions) {
    this.c = new ClusterContext(o);
  }

  get paths(): ClusterPaths {
    return this.c.paths;
  }

  get sup(): Supervisor {
    return this.c.sup;
  }

  /** Runs until Ctrl-C, a failure, or the `until` condition. Resolves with the exit code. */
  async run(): Promise<number> {
    const c = this.c;
    checkManagers(c.managers, c.db);
    const missing = missingPrograms(c.programs);
    if (missing.length) {
      throw new UserError(`not built: ${missing.join(', ')}; run \`npm run build\` (npm start does it)`);
    }
    const release = lockHome(c.paths);
    const unhook = handleSignals(c.sup, (sig) => this.requestStop(sig));
    // if the runner itself dies, take the children (and a throwaway PostgreSQL) with it
    const onExit = () => {
      c.sup.killAll();
      if (c.pg?.stop) stopLocalPostgresSync(c.paths.postgres);
    };
    process.once('exit', onExit);
    c.sup.on('info', (m) => c.event(m));
    c.sup.on('restarted', (p) => {
      c.state.pids = { ...(c.state.pids ?? {}), [p.spec.name]: p.pid };
      saveState(c.paths, c.state);
    });
    let view: View | undefined;
    try {
      await prepareState(c);
      c.event(`cluster home ${c.paths.home} (${c.state.sectorSize} sectors, logs in ${c.paths.logs})`);
      await this.step(() => startDevnet(c));
      await this.step(() => startWallet(c));
      if (c.db !== 'sqlite') await this.step(() => startDatabase(c));
      for (let i = 1; i <= c.managers; i++) await this.step(() => startManager(c, i));
      await this.step(() => startWorker(c));
      c.event('all programs are running; Ctrl-C stops them');

      const prober = new Prober(this.probeTargets());
      view = createView(this.o.view ?? 'auto', this.o.out ?? process.stdout, {
        home: c.paths.home,
        sectorSize: c.state.sectorSize,
        sectors: this.o.sectors,
        miner: c.state.miner,
      });
      return await supervise(c, prober, view, this.stopped());
    } catch (err) {
      if (this.stopRequested && !(err instanceof UserError)) return 130;
      throw err;
    } finally {
      view?.stop();
      await c.sup.stopAll();
      // the managers are gone: their database can stop now
      if (c.pg?.stop) {
        await c.pg.stop().catch((err: Error) => c.event(`postgres: stop failed: ${err.message}`));
        c.event('postgres: stopped');
      }
      if (c.state) {
        c.state.pids = {};
        saveState(c.paths, c.state);
      }
      unhook();
      process.off('exit', onExit);
      release();
    }
  }

  probeTargets(): ProbeTargets {
    return probeTargets(this.c);
  }

  /** One setup step; a daemon that dies meanwhile ends it at once (its failure is the error). */
  private async step(fn: () => Promise<void>): Promise<void> {
    if (this.stopRequested) throw new Error('stopped');
    const failure = this.c.sup.failed().then((e) => {
      throw e;
    });
    const work = fn();
    try {
      await Promise.race([work, failure]);
    } catch (err) {
      // the step's own error (a command killed by the stop) is not the story: the dead daemon is
      const dead = await Promise.race([failure.catch((e: unknown) => e), Promise.resolve(undefined)]);
      work.catch(() => {});
      throw dead ?? err;
    }
  }

  private requestStop(sig: NodeJS.Signals): void {
    if (this.stopRequested) return;
    this.stopRequested = sig;
    this.c.event(`${sig}: stopping every program (again to kill them at once)`);
    for (const w of this.stopWaiters.splice(0)) w();
    // a start or command in flight ends now; run()'s finally stops the rest in reverse order
    void this.c.sup.stopAll();
  }

  private stopped(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    return new Promise((r) => this.stopWaiters.push(r));
  }
}

/** Run the cluster; resolves with the process exit code. */
export async function runCluster(o: ClusterOptions): Promise<number> {
  return new ClusterRunner(o).run();
}
