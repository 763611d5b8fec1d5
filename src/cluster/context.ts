/**
 * What every step of the cluster runner shares (runner.ts): the options, the home's paths and recorded state,
 * the supervisor, what earlier steps learned (the devnet's token, the managers' auth, the database's DSN), and
 * how a program is run as a one-shot command or started as a daemon with its own log.
 */
import { logger } from '../common/log.js';
import { loadOrInitRepoAuth } from '../rpc/index.js';
import { type ClusterPaths, type ClusterState, clusterPaths, logFile, saveState } from './home.js';
import type { ClusterOptions } from './options.js';
import type { DaemonSpec } from './process-spec.js';
import { defaultPrograms, displayCommand, type ProgramName, type ProgramTable } from './programs.js';
import { Supervisor } from './supervisor.js';

const log = logger('cluster');

export type RepoAuth = Awaited<ReturnType<typeof loadOrInitRepoAuth>>;

export class ClusterContext {
  readonly paths: ClusterPaths;
  readonly sup = new Supervisor();
  readonly programs: ProgramTable;
  /** Set by prepareState (prepare.ts) before any program starts. */
  state!: ClusterState;
  /** The devnet's admin token and the account it names (startDevnet). */
  devnetToken = '';
  account = '';
  /** How many sector-managers (--managers) and on which database (--db). */
  readonly managers: number;
  readonly db: string;
  /** The managers' shared PostgreSQL (--db postgres…): its DSN, and how to stop it when it is ours. */
  pg: { dsn: string; stop?: () => Promise<void> } | undefined;
  /** The first sector-manager's JWT secret and admin token, once read (managerAuth). */
  managerRepoAuth: RepoAuth | undefined;
  /** While the live view runs, events go to it instead of the log. */
  eventSink: ((m: string) => void) | undefined;

  constructor(readonly o: ClusterOptions) {
    this.paths = clusterPaths(o.home);
    this.programs = { ...defaultPrograms(), ...(o.programs ?? {}) };
    this.managers = o.managers ?? 1;
    this.db = o.db ?? 'sqlite';
  }

  event(m: string): void {
    if (this.eventSink) this.eventSink(m);
    else log.info(m);
  }

  url(port: number, path = '/rpc/v0'): string {
    return `http://127.0.0.1:${port}${path}`;
  }

  /** Manager i's API port (1-based). */
  managerPort(i: number): number {
    return i === 1 ? this.state.ports.manager : this.state.managerPorts![i - 2]!;
  }

  /** The sector-manager's JWT secret and admin token (its repo's; created by its first start if missing). */
  async managerAuth(): Promise<RepoAuth> {
    this.managerRepoAuth ??= await loadOrInitRepoAuth(this.paths.manager);
    return this.managerRepoAuth;
  }

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

  /** A one-shot command, its output in the program's log. */
  cmd(program: ProgramName, name: string, args: string[], extra: { stdin?: string; timeoutMs?: number } = {}) {
    return this.sup.run({ ...this.spec(program, name, args), ...extra });
  }

  /** A daemon, restarted when it dies; its pid recorded in the home's state as soon as it runs. */
  async daemon(program: ProgramName, name: string, args: string[], extra: Partial<DaemonSpec> = {}) {
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
}
