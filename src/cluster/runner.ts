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
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { startLocalPostgres, stopLocalPostgresSync } from '../common/pg-local.js';
import { createToken, loadOrInitRepoAuth } from '../rpc/index.js';
import { extProverConfigToml, managerConfigToml, walletConfigToml, workerConfigToml } from './configs.js';
import { DealFlow } from './deal-flow.js';
import {
  type ClusterPaths,
  type ClusterState,
  checkPortsFree,
  chooseManagerPorts,
  choosePorts,
  clusterPaths,
  DEFAULT_PORTS,
  done,
  loadState,
  lockHome,
  logFile,
  managerHome,
  managerName,
  markDone,
  saveState,
  stopLeftovers,
  walletPassword,
} from './home.js';
import {
  type ClusterOptions,
  checkManagers,
  DEVNET_SECTOR_SIZES,
  FAST_POLICY,
  NETWORK,
  SECTOR_BYTES,
  secsToMs,
} from './options.js';
import { parseImported, parseMinerId, readDevnetHome, tokenAccount } from './outputs.js';
import { Prober, type ProbeTargets, rpcCall } from './probe.js';
import { appendLine, logTail } from './process-log.js';
import { type DaemonSpec, ProcessError, type RunningProcess } from './process-spec.js';
import { defaultPrograms, displayCommand, missingPrograms, type ProgramName, type ProgramTable } from './programs.js';
import { httpReady } from './readiness.js';
import { handleSignals, Supervisor } from './supervisor.js';
import { createView } from './view.js';

const log = logger('cluster');

/** Starts the programs one step at a time (each recorded in the home's state), then watches them until told to stop. */
export class ClusterRunner {
  readonly paths: ClusterPaths;
  readonly sup = new Supervisor();
  private readonly programs: ProgramTable;
  private state!: ClusterState;
  private devnetToken = '';
  private account = '';
  private stopRequested: NodeJS.Signals | undefined;
  private readonly stopWaiters: (() => void)[] = [];
  /** How many sector-managers (--managers) and on which database (--db). */
  private readonly managers: number;
  private readonly db: string;
  /** The managers' shared PostgreSQL (--db postgres…): its DSN, and how to stop it when it is ours. */
  private pg: { dsn: string; stop?: () => Promise<void> } | undefined;

  constructor(readonly o: ClusterOptions) {
    this.paths = clusterPaths(o.home);
    this.programs = { ...defaultPrograms(), ...(o.programs ?? {}) };
    this.managers = o.managers ?? 1;
    this.db = o.db ?? 'sqlite';
  }

  /** Runs until Ctrl-C, a failure, or the `until` condition. Resolves with the exit code. */
  async run(): Promise<number> {
    checkManagers(this.managers, this.db);
    const missing = missingPrograms(this.programs);
    if (missing.length) {
      throw new UserError(`not built: ${missing.join(', ')}; run \`npm run build\` (npm start does it)`);
    }
    const release = lockHome(this.paths);
    const unhook = handleSignals(this.sup, (sig) => this.requestStop(sig));
    // if the runner itself dies, take the children (and a throwaway PostgreSQL) with it
    const onExit = () => {
      this.sup.killAll();
      if (this.pg?.stop) stopLocalPostgresSync(this.paths.postgres);
    };
    process.once('exit', onExit);
    this.sup.on('info', (m) => this.event(m));
    this.sup.on('restarted', (p) => {
      this.state.pids = { ...(this.state.pids ?? {}), [p.spec.name]: p.pid };
      saveState(this.paths, this.state);
    });
    let view: ReturnType<typeof createView> | undefined;
    try {
      await this.prepareState();
      this.event(`cluster home ${this.paths.home} (${this.state.sectorSize} sectors, logs in ${this.paths.logs})`);
      await this.step(() => this.startDevnet());
      await this.step(() => this.startWallet());
      if (this.db !== 'sqlite') await this.step(() => this.startDatabase());
      for (let i = 1; i <= this.managers; i++) await this.step(() => this.startManager(i));
      await this.step(() => this.startWorker());
      this.event('all programs are running; Ctrl-C stops them');

      const prober = new Prober(this.probeTargets());
      view = createView(this.o.view ?? 'auto', this.o.out ?? process.stdout, {
        home: this.paths.home,
        sectorSize: this.state.sectorSize,
        sectors: this.o.sectors,
        miner: this.state.miner,
      });
      const outcome = await this.supervise(prober, view);
      return outcome;
    } catch (err) {
      if (this.stopRequested && !(err instanceof UserError)) return 130;
      throw err;
    } finally {
      view?.stop();
      await this.sup.stopAll();
      // the managers are gone: their database can stop now
      if (this.pg?.stop) {
        await this.pg.stop().catch((err: Error) => this.event(`postgres: stop failed: ${err.message}`));
        this.event('postgres: stopped');
      }
      if (this.state) {
        this.state.pids = {};
        saveState(this.paths, this.state);
      }
      unhook();
      process.off('exit', onExit);
      release();
    }
  }

  /** One setup step; a daemon that dies meanwhile ends it at once (its failure is the error). */
  private async step(fn: () => Promise<void>): Promise<void> {
    if (this.stopRequested) throw new Error('stopped');
    const failure = this.sup.failed().then((e) => {
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
    this.event(`${sig}: stopping every program (again to kill them at once)`);
    for (const w of this.stopWaiters.splice(0)) w();
    // a start or command in flight ends now; run()'s finally stops the rest in reverse order
    void this.sup.stopAll();
  }

  private stopped(): Promise<void> {
    if (this.stopRequested) return Promise.resolve();
    return new Promise((r) => this.stopWaiters.push(r));
  }

  private viewEvent: ((m: string) => void) | undefined;

  private event(m: string): void {
    if (this.viewEvent) this.viewEvent(m);
    else log.info(m);
  }

  // -- state -----------------------------------------------------------------------------------------------

  private async prepareState(): Promise<void> {
    const existing = loadState(this.paths);
    if (existing) {
      if (existing.sectorSize !== this.o.sectorSize) {
        if (existing.miner) {
          throw new UserError(
            `${this.paths.home} holds a ${existing.sectorSize} miner (${existing.miner}); ` +
              `run with --sector-size ${existing.sectorSize}, or use another --home for ${this.o.sectorSize}`,
          );
        }
        existing.sectorSize = this.o.sectorSize;
      }
      const dbKind = this.dbKind();
      const had = existing.db ?? 'sqlite';
      if (had === 'postgres-local' && existsSync(join(this.paths.postgres, 'data'))) {
        // a runner killed with kill -9 left its throwaway PostgreSQL running
        stopLocalPostgresSync(this.paths.postgres);
        this.event('stopped the throwaway PostgreSQL left running by an earlier run of this home');
      }
      if (done(existing, 'manager-init') && had === 'postgres-local') {
        throw new UserError(
          `${this.paths.home} kept its sectors in a throwaway PostgreSQL (--db postgres), removed when that run ` +
            'stopped; use a new --home (or --db postgres://… for a database that outlives the runs)',
        );
      }
      if (had !== dbKind && done(existing, 'manager-init')) {
        // the sectors so far are in the other database: switching would lose them from the managers' view
        throw new UserError(
          `${this.paths.home} keeps its sectors in ${had === 'sqlite' ? 'SQLite' : 'PostgreSQL'}; ` +
            `run with --db ${had === 'sqlite' ? 'sqlite' : 'postgres://… (the DSN it used)'}, or use another --home`,
        );
      }
      existing.db = dbKind;
      for (const what of await stopLeftovers(this.paths, existing)) {
        this.event(`stopped ${what}, left running by an earlier run of this home`);
      }
      await checkPortsFree(existing.ports);
      this.state = existing;
      await this.chooseManagerPorts();
      saveState(this.paths, existing);
      return;
    }
    this.state = {
      version: 1,
      sectorSize: this.o.sectorSize,
      ports: await choosePorts(this.o.ports),
      steps: [],
      addresses: [],
      db: this.dbKind(),
      createdAt: new Date().toISOString(),
    };
    await this.chooseManagerPorts();
    saveState(this.paths, this.state);
  }

  private dbKind(): 'sqlite' | 'postgres' | 'postgres-local' {
    return this.db === 'sqlite' ? 'sqlite' : this.db === 'postgres' ? 'postgres-local' : 'postgres';
  }

  /** Ports for managers 2…N: kept in the state once chosen (a rerun with more managers adds to them). */
  private async chooseManagerPorts(): Promise<void> {
    const have = this.state.managerPorts ?? [];
    const need = this.managers - 1 - have.length;
    if (need > 0) {
      const first = this.o.ports?.manager === 0 ? 0 : DEFAULT_PORTS.manager + have.length;
      const taken = [...Object.values(this.state.ports), ...have];
      this.state.managerPorts = [...have, ...(await chooseManagerPorts(need, first, taken))];
    }
    // only the managers of this run need their ports (a rerun with fewer leaves the others unused)
    const used = (this.state.managerPorts ?? []).slice(0, this.managers - 1);
    await checkPortsFree(Object.fromEntries(used.map((port, i) => [managerName(i + 2, this.managers), port])));
  }

  /** Manager i's API port (1-based). */
  private managerPort(i: number): number {
    return i === 1 ? this.state.ports.manager : this.state.managerPorts![i - 2]!;
  }

  // -- programs --------------------------------------------------------------------------------------------

  private spec(program: ProgramName, name: string, args: string[]) {
    const p = this.programs[program];
    return {
      name,
      command: p.command,
      args: [...p.prefix, ...args],
      display: displayCommand(program, args),
      logFile: logFile(this.paths, name),
      env: { ...process.env, ...(this.o.env ?? {}) },
      cwd: this.paths.home,
    };
  }

  private cmd(program: ProgramName, name: string, args: string[], extra: { stdin?: string; timeoutMs?: number } = {}) {
    return this.sup.run({ ...this.spec(program, name, args), ...extra });
  }

  private async daemon(program: ProgramName, name: string, args: string[], extra: Partial<DaemonSpec> = {}) {
    const started = this.sup.start({
      readyTimeoutMs: this.o.readyTimeoutMs ?? 60_000,
      // a daemon that dies (kill -9, OOM, crash) is started again; one that keeps dying stops the cluster
      restart: this.o.restart === false ? undefined : { maxRestarts: 5, windowMs: 60_000, backoffMs: 1000 },
      ...this.spec(program, name, args),
      ...extra,
    });
    // recorded as soon as it runs (not when ready): a runner killed meanwhile still knows it
    const record = () => {
      const proc = this.sup.processes().find((p) => p.spec.name === name);
      if (!proc) return;
      this.state.pids = { ...(this.state.pids ?? {}), [name]: proc.pid };
      saveState(this.paths, this.state);
    };
    record();
    const proc = await started;
    record();
    return proc;
  }

  private url(port: number, path = '/rpc/v0'): string {
    return `http://127.0.0.1:${port}${path}`;
  }

  private async startDevnet(): Promise<void> {
    const dir = this.paths.devnet;
    const port = this.state.ports.devnet;
    const listen = `127.0.0.1:${port}`;
    if (!done(this.state, 'devnet-init')) {
      if (!existsSync(join(dir, 'chain.db'))) {
        const args = [
          '--home',
          dir,
          'init',
          '--network',
          NETWORK,
          '--sector-sizes',
          DEVNET_SECTOR_SIZES,
          '--listen',
          listen,
        ];
        if (this.o.blockTime) {
          secsToMs(this.o.blockTime);
          args.push('--block-time', this.o.blockTime);
        }
        const policy = this.o.devnetPolicy ?? FAST_POLICY;
        if (policy !== '2k' && policy !== '') args.push('--policy', policy);
        await this.cmd('venus-devnet', 'devnet', args);
      }
      markDone(this.paths, this.state, 'devnet-init');
    }
    await this.daemon('venus-devnet', 'devnet', ['--home', dir, 'run', '--listen', listen], {
      ready: httpReady(this.url(port)),
    });
    const home = readDevnetHome(dir);
    this.devnetToken = home.token;
    this.account = tokenAccount(home.token) ?? 'devnet';
    if (!this.state.owner) {
      this.state.owner = home.accounts[0]!.address;
      saveState(this.paths, this.state);
    }
  }

  private async startWallet(): Promise<void> {
    const repo = this.paths.wallet;
    const port = this.state.ports.wallet;
    const g = ['--repo', repo, '--nettype', NETWORK];
    if (!done(this.state, 'wallet-config')) {
      mkdirSync(repo, { recursive: true, mode: 0o700 });
      writeFileSync(
        join(repo, 'config.toml'),
        walletConfigToml({
          port,
          gateway: `/ip4/127.0.0.1/tcp/${this.state.ports.devnet}`,
          token: this.devnetToken,
          accounts: [this.account],
        }),
        { mode: 0o600 },
      );
      markDone(this.paths, this.state, 'wallet-config');
    }
    const { password } = walletPassword(this.paths);
    const hasPassword = done(this.state, 'wallet-password');
    const wallet = await this.daemon(
      'venus-wallet',
      'wallet',
      hasPassword ? [...g, 'run', '--password'] : [...g, 'run'],
      { ready: httpReady(this.url(port)), ...(hasPassword ? { stdin: `${password}\n` } : {}) },
    );
    if (!hasPassword) {
      await this.cmd('venus-wallet', 'wallet', [...g, 'setpwd'], { stdin: `${password}\n${password}\n` });
      // started again after a death, it must come up unlocked
      this.sup.amend(wallet, { args: [...wallet.spec.args, '--password'], stdin: `${password}\n` });
      markDone(this.paths, this.state, 'wallet-password');
    }
    const lockState = await this.cmd('venus-wallet', 'wallet', [...g, 'lock-state']);
    if (/locked/.test(lockState.stdout) && !/unlocked/.test(lockState.stdout)) {
      await this.cmd('venus-wallet', 'wallet', [...g, 'unlock'], { stdin: `${password}\n` });
    }
    if (!done(this.state, 'wallet-keys')) {
      const { accounts } = readDevnetHome(this.paths.devnet);
      const listed = (await this.cmd('venus-wallet', 'wallet', [...g, 'list'])).stdout;
      const addresses: string[] = [];
      for (const a of accounts) {
        if (!listed.includes(a.address)) {
          const r = await this.cmd('venus-wallet', 'wallet', [...g, 'import', a.keyFile]);
          const got = parseImported(r.stdout);
          if (got && got !== a.address) {
            throw new UserError(`venus-wallet import ${a.keyFile} gave ${got}, but the devnet funded ${a.address}`);
          }
        }
        addresses.push(a.address);
      }
      this.state.addresses = addresses;
      markDone(this.paths, this.state, 'wallet-keys');
    }
    // registered with the devnet's gateway (the guide's "connect to server" line) …
    const timeout = this.o.readyTimeoutMs ?? 60_000;
    await this.sup.waitForLog(wallet, /connect to server/, timeout, 'gateway registration');
    // … and the gateway routes the owner's sign requests to it (what the messager will need)
    const owner = this.state.owner!;
    const deadline = Date.now() + timeout;
    let last = '';
    for (;;) {
      const has = await rpcCall<boolean>(
        this.url(this.state.ports.devnet),
        'Gateway.WalletHas',
        [owner, [this.account]],
        this.devnetToken,
      ).catch((err: Error) => {
        last = err.message;
        return false;
      });
      if (has) break;
      if (Date.now() > deadline) {
        throw new ProcessError(
          'not-ready',
          'wallet',
          `the devnet gateway does not route ${owner} (account "${this.account}") to venus-wallet` +
            `${last ? ` (Gateway.WalletHas: ${last})` : ''}`,
          wallet.spec.logFile,
          logTail(wallet.spec.logFile, wallet.logFrom),
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    this.event(`wallet: registered with the devnet gateway; signs for ${owner}`);
  }

  /** --db postgres: a throwaway PostgreSQL under the home (stopped at exit); --db postgres://…: that server. */
  private async startDatabase(): Promise<void> {
    if (this.db !== 'postgres') {
      this.pg = { dsn: this.db };
      this.event('managers share the PostgreSQL database given with --db');
      return;
    }
    const start = this.o.startPostgres ?? startLocalPostgres;
    const file = logFile(this.paths, 'postgres');
    appendLine(file, `=== ${new Date().toISOString()} local PostgreSQL in ${this.paths.postgres}`);
    const pg = await start({ dir: this.paths.postgres, log: (line) => appendLine(file, line) }).catch((err: Error) => {
      // as root the server runs as the postgres user, which must be able to reach the folder
      const hint = /Permission denied/.test(err.message)
        ? ` (PostgreSQL runs as its own user: every folder above ${this.paths.postgres} must be traversable, chmod o+x)`
        : '';
      throw new UserError(`--db postgres: cannot start a local PostgreSQL: ${err.message}${hint}`);
    });
    this.pg = { dsn: pg.dsn, stop: () => pg.stop() };
    this.event(`postgres: listening on 127.0.0.1:${pg.port} (data in ${this.paths.postgres}, log ${file})`);
  }

  private writeManagerConfig(i: number): void {
    const home = managerHome(this.paths, i);
    mkdirSync(home, { recursive: true });
    writeFileSync(
      join(home, 'sector-manager.cfg'),
      managerConfigToml({
        chainApi: `/ip4/127.0.0.1/tcp/${this.state.ports.devnet}`,
        token: this.devnetToken,
        miner: this.state.miner,
        sender: this.state.owner,
        storeName: 'remote',
        storePath: this.paths.remote,
        maxNumber: this.o.sectors,
        // --deals: the devnet plays droplet on its own port (VENUS_MARKET.* on /rpc/v1, /resource)
        ...(this.o.deals !== undefined
          ? { market: { api: `/ip4/127.0.0.1/tcp/${this.state.ports.devnet}`, token: this.devnetToken } }
          : {}),
        // one manager on its own SQLite file keeps the config it always had (no [Common] section)
        ...(this.pg ? { postgresDsn: this.pg.dsn } : {}),
        ...(this.managers > 1 || this.pg ? { haName: `manager-${i}`, leaseTtl: this.o.leaseTtl } : {}),
      }),
      { mode: 0o600 },
    );
    // daemon run --ext-prover: Window PoSt in a separate prover process, as a PoSt box would run it
    writeFileSync(join(home, 'ext-prover.cfg'), extProverConfigToml(), { mode: 0o600 });
  }

  private managerRepoAuth: Awaited<ReturnType<typeof loadOrInitRepoAuth>> | undefined;

  /** The sector-manager's JWT secret and admin token (its repo's; created by its first start if missing). */
  private async managerAuth() {
    this.managerRepoAuth ??= await loadOrInitRepoAuth(this.paths.manager);
    return this.managerRepoAuth;
  }

  /**
   * Managers 2…N take the first one's JWT secret and admin token: the worker's one token (`headers`, sent to
   * every URL of `urls`), the dashboard link and the view's probes then work on whichever manager answers.
   */
  private async shareManagerAuth(i: number): Promise<void> {
    const auth = await this.managerAuth();
    for (const file of [auth.secretPath, auth.tokenPath]) {
      const to = join(managerHome(this.paths, i), relative(this.paths.manager, file));
      mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
      copyFileSync(file, to);
      chmodSync(to, 0o600);
    }
  }

  private async startManager(i: number): Promise<void> {
    const name = managerName(i, this.managers);
    const home = managerHome(this.paths, i);
    const g = ['--home', home, '--net', NETWORK];
    const init = i === 1 ? 'manager-init' : (`manager-${i}-init` as const);
    if (!done(this.state, init)) {
      await this.cmd('venus-sector-manager', name, [...g, 'daemon', 'init']);
      markDone(this.paths, this.state, init);
    }
    if (i > 1) await this.shareManagerAuth(i);
    // written at every start: ports, token, miner and the sector cap follow this run's options
    this.writeManagerConfig(i);
    if (i === 1 && !done(this.state, 'miner-create')) {
      const owner = this.state.owner;
      if (!owner) throw new Error('no owner address (the devnet step did not record one)');
      const r = await this.cmd(
        'venus-sector-manager',
        name,
        [...g, 'util', 'miner', 'create', `--from=${owner}`, `--sector-size=${this.state.sectorSize}`],
        { timeoutMs: 5 * 60_000 },
      );
      const miner = parseMinerId(r.output);
      if (!miner) {
        throw new ProcessError(
          'failed',
          name,
          'util miner create finished but printed no miner id ("miner actor: t0…")',
          logFile(this.paths, name),
          r.output.trim().split('\n').slice(-20),
        );
      }
      this.state.miner = miner;
      markDone(this.paths, this.state, 'miner-create');
      this.event(`miner ${miner} created (owner ${owner})`);
      this.writeManagerConfig(i);
    }
    const port = this.managerPort(i);
    // every manager runs the poster: with several, the post lease picks the one that proves
    await this.daemon(
      'venus-sector-manager',
      name,
      [...g, 'daemon', 'run', `--listen=127.0.0.1:${port}`, '--poster', '--ext-prover', '--require-token'],
      { ready: httpReady(this.url(port)) },
    );
    // a read-only link is safe to print; pause/resume on the page needs the admin token the manager wrote
    const auth = await this.managerAuth();
    const read = await createToken(auth.secret, 'read');
    this.event(
      `${this.managers === 1 ? 'dashboard' : `${name} dashboard`}: ${this.url(port, '/')}?token=${read} (read-only; ` +
        `for pause/resume use the admin token in ${join(home, relative(this.paths.manager, auth.tokenPath))})`,
    );
  }

  private async startWorker(): Promise<void> {
    const p = this.paths;
    if (!done(this.state, 'worker-stores')) {
      const fresh = [...p.sealStores, p.rebuildStore].filter((s) => !existsSync(join(s, '.holder')));
      if (fresh.length) await this.cmd('venus-worker', 'worker', ['store', 'seal-init', '-l', ...fresh]);
      if (!existsSync(join(p.remote, '.holder'))) {
        await this.cmd('venus-worker', 'worker', ['store', 'file-init', '-l', p.remote]);
      }
      markDone(p, this.state, 'worker-stores');
    }
    // the unseal thread's store: also when an older home is run with --deals for the first time
    if (this.o.deals !== undefined) {
      const fresh = [p.unsealStore, p.snapupStore].filter((s) => !existsSync(join(s, '.holder')));
      if (fresh.length) await this.cmd('venus-worker', 'worker', ['store', 'seal-init', '-l', ...fresh]);
    }
    mkdirSync(p.workerTmp, { recursive: true });
    // the sector-manager requires tokens: the worker signs in with a write token bound to its name (and sectors)
    const auth = await this.managerAuth();
    const name = 'cluster-worker';
    writeFileSync(
      p.workerConfig,
      workerConfigToml({
        name,
        port: this.state.ports.worker,
        managerPorts: Array.from({ length: this.managers }, (_, k) => this.managerPort(k + 1)),
        sealStores: p.sealStores,
        rebuildStore: p.rebuildStore,
        ...(this.o.deals !== undefined
          ? { deals: { pieceToken: this.devnetToken, unsealStore: p.unsealStore, snapupStore: p.snapupStore } }
          : {}),
        remoteName: 'remote',
        remotePath: p.remote,
        managerToken: await createToken(auth.secret, 'write', { name }),
        managerSecretPath: auth.secretPath,
      }),
      { mode: 0o600 },
    );
    chmodSync(p.workerConfig, 0o600); // it holds a token (an older home's file kept its mode)
    await this.daemon('venus-worker', 'worker', ['daemon', `--config=${p.workerConfig}`], {
      ready: httpReady(this.url(this.state.ports.worker, '/')),
      env: { ...process.env, ...(this.o.env ?? {}), TMPDIR: p.workerTmp },
    });
  }

  // -- running ---------------------------------------------------------------------------------------------

  probeTargets(): ProbeTargets {
    return {
      chain: { url: this.url(this.state.ports.devnet), token: this.devnetToken },
      manager: {
        url: this.url(this.state.ports.manager),
        metrics: this.url(this.state.ports.manager, '/metrics'),
        // --require-token: the admin token the manager's repo holds
        ...(this.managerRepoAuth ? { token: this.managerRepoAuth.token } : {}),
      },
      worker: {
        url: this.url(this.state.ports.worker, '/'),
        metrics: this.url(this.state.ports.worker, '/metrics'),
        // the worker accepts the manager's tokens (manager_secret_path in its config)
        ...(this.managerRepoAuth ? { token: this.managerRepoAuth.token } : {}),
      },
      ...(this.managers > 1
        ? {
            managers: Array.from({ length: this.managers }, (_, k) => ({
              name: managerName(k + 1, this.managers),
              url: this.url(this.managerPort(k + 1)),
              metrics: this.url(this.managerPort(k + 1), '/metrics'),
              ...(this.managerRepoAuth ? { token: this.managerRepoAuth.token } : {}),
            })),
          }
        : {}),
      miner: this.state.miner,
    };
  }

  /** Poll and draw until Ctrl-C, a program's death or the `until` condition; the exit code. */
  private async supervise(prober: Prober, view: ReturnType<typeof createView>): Promise<number> {
    this.viewEvent = (m) => view.event(m);
    const failed = this.sup.failed();
    const stopped = this.stopped();
    const started = Date.now();
    let result: number | undefined;
    void failed.then(() => {
      result ??= 1;
    });
    void stopped.then(() => {
      result ??= 0;
    });
    const flow =
      this.o.deals !== undefined && this.o.deals > 0
        ? new DealFlow({
            count: this.o.deals,
            sectorSize: SECTOR_BYTES[this.o.sectorSize],
            provider: () => this.state.miner,
            dir: this.paths.deals,
            client: async (args) =>
              (await this.cmd('venus-devnet', 'devnet-client', ['--home', this.paths.devnet, 'client', ...args]))
                .stdout,
            event: (m) => this.event(m),
          })
        : undefined;
    let nextFlow = 0;
    while (result === undefined) {
      if (flow && Date.now() >= nextFlow) {
        nextFlow = Date.now() + 5_000;
        void flow.tick();
      }
      const snap = await prober.poll();
      view.update(snap, this.sup.processes() as RunningProcess[]);
      if (this.o.until && this.o.sectors !== undefined) {
        const n = this.o.until === 'onchain' ? snap.chain?.onChain : snap.chain?.active;
        if (n !== undefined && n >= this.o.sectors) {
          this.event(`${n} sector(s) ${this.o.until === 'onchain' ? 'on chain' : 'proven by Window PoSt'}: done`);
          view.final(snap);
          result = 0;
          break;
        }
        if (this.o.untilTimeoutMs && Date.now() - started > this.o.untilTimeoutMs) {
          view.final(snap);
          this.viewEvent = undefined;
          view.stop();
          throw new UserError(
            `--until ${this.o.until}: ${this.o.sectors} sector(s) not reached within ${Math.round(this.o.untilTimeoutMs / 1000)} s`,
          );
        }
      }
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), failed, stopped]);
    }
    this.viewEvent = undefined;
    view.stop();
    const failure = await Promise.race([failed, Promise.resolve(undefined)]);
    if (failure && result === 1) throw failure;
    return result;
  }
}

/** Run the cluster; resolves with the process exit code. */
export async function runCluster(o: ClusterOptions): Promise<number> {
  return new ClusterRunner(o).run();
}
