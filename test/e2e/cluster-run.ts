/**
 * A `venus-cluster` run for the e2e tests that drive the one-command cluster on a fast devnet clock: waits that
 * fail at once when the runner exits (with the tail of its output), Ctrl-C with its exit code, the runner's
 * cluster.json, and what the tests call on it: JSON-RPC with a token, the devnet's chain and client, the
 * sector-manager's `util` CLI.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BitField } from '../../src/fil/index.js';
import { cli, type Started } from './cluster-harness.js';

/** The devnet clock of these tests: 250 ms blocks, 4 deadlines of 20 epochs, so Window PoSt comes round quickly. */
export const FAST_DEVNET_ARGS = [
  '--any-ports',
  '--view',
  'lines',
  '--block-time',
  '250ms',
  '--devnet-policy',
  'wpostChallengeWindow=20,wpostPeriodDeadlines=4,wpostChallengeLookback=5,faultDeclarationCutoff=10',
];

/** The runner's state file, `<home>/cluster.json`, as the tests read it. */
export interface ClusterState {
  miner?: string;
  owner?: string;
  ports: Record<string, number>;
  /** the ports of managers 2…N (--managers) */
  managerPorts?: number[];
  pids?: Record<string, number>;
}

export function readClusterState(home: string): ClusterState {
  return JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8')) as ClusterState;
}

export interface ClusterRun extends Started {
  /** the end of the runner's output, for failure messages */
  tail(): string;
  /** the runner's exit code once it has exited (null: killed by a signal); undefined while it runs */
  exitCode(): number | null | undefined;
  /**
   * Polls `f` every `everyMs` (the run's `pollMs` unless given) until it returns something truthy. A thrown error
   * is "not yet" (the last one is reported on timeout), but an assertion failure is the verdict, and the runner's
   * exit fails the wait at once.
   */
  until<T>(
    what: string,
    ms: number,
    f: () => Promise<T | undefined | false>,
    everyMs?: number,
  ): Promise<NonNullable<T>>;
  /** Ctrl-C (SIGINT): the runner's exit code, or 'still running' after `ms`. */
  stop(ms?: number): Promise<number | null | 'still running'>;
}

export interface ClusterRunOptions {
  /** how often `until` polls by default (ms) */
  pollMs?: number;
  /** how much of the runner's output `tail()` keeps (characters) */
  tailChars?: number;
}

/** Starts `venus-cluster --home <home> …args` on the fast devnet clock. */
export function startCluster(
  start: (args: string[]) => Started,
  home: string,
  args: string[],
  o: ClusterRunOptions = {},
): ClusterRun {
  const cluster = start([cli('venus-cluster'), '--home', home, ...args, ...FAST_DEVNET_ARGS]);
  let exitCode: number | null | undefined;
  void cluster.exited.then((c) => {
    exitCode = c;
  });
  const tail = () => cluster.output().slice(-(o.tailChars ?? 6000));
  async function until<T>(
    what: string,
    ms: number,
    f: () => Promise<T | undefined | false>,
    everyMs = o.pollMs ?? 1000,
  ): Promise<NonNullable<T>> {
    const end = Date.now() + ms;
    let last = '';
    for (;;) {
      if (exitCode !== undefined)
        assert.fail(`venus-cluster exited (${exitCode}) while waiting for ${what}\n${tail()}`);
      try {
        const v = await f();
        if (v) return v;
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        last = (err as Error).message;
      }
      if (Date.now() > end) assert.fail(`timed out waiting for ${what} (${last})\n${tail()}`);
      await sleep(everyMs);
    }
  }
  const stop = (ms = 90_000) => {
    cluster.child.kill('SIGINT');
    return Promise.race([cluster.exited, sleep(ms, 'still running' as const, { ref: false })]);
  };
  return { ...cluster, tail, exitCode: () => exitCode, until, stop };
}

/** A JSON-RPC call with a bearer token; an error answer throws "method: message". */
export async function rpcCall<T>(url: string, token: string, method: string, params: unknown[] = []): Promise<T> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const j = (await r.json()) as { result?: T; error?: { message: string } };
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result as T;
}

/** A call to the devnet's API. */
export type DevnetCall = <T>(method: string, params?: unknown[]) => Promise<T>;

/**
 * The cluster's devnet (`/rpc/v1` at the port cluster.json records, its token): `rpc` calls any method, `chain` a
 * `Filecoin.` one.
 */
export function devnetApi(home: string): { rpc: DevnetCall; chain: DevnetCall } {
  const url = `http://127.0.0.1:${readClusterState(home).ports.devnet}/rpc/v1`;
  const token = readFileSync(join(home, 'devnet', 'token'), 'utf8').trim();
  const rpc: DevnetCall = (method, params = []) => rpcCall(url, token, method, params);
  return { rpc, chain: (method, params = []) => rpc(`Filecoin.${method}`, params) };
}

/** The miner's sectors per partition state at the chain head, summed over its deadlines (the chain's view). */
export async function minerPartitions(chain: DevnetCall, miner: string) {
  const head = await chain<{ Cids: unknown[]; Height: number }>('ChainHead', []);
  const deadlines = await chain<unknown[]>('StateMinerDeadlines', [miner, head.Cids]);
  const sets = {
    live: new Set<number>(),
    active: new Set<number>(),
    faulty: new Set<number>(),
    recovering: new Set<number>(),
  };
  type Partition = {
    LiveSectors: number[];
    ActiveSectors: number[];
    FaultySectors: number[];
    RecoveringSectors: number[];
  };
  for (let i = 0; i < deadlines.length; i++) {
    for (const p of (await chain<Partition[] | null>('StateMinerPartitions', [miner, i, head.Cids])) ?? []) {
      for (const n of BitField.fromJSON(p.LiveSectors).toArray()) sets.live.add(n);
      for (const n of BitField.fromJSON(p.ActiveSectors).toArray()) sets.active.add(n);
      for (const n of BitField.fromJSON(p.FaultySectors).toArray()) sets.faulty.add(n);
      for (const n of BitField.fromJSON(p.RecoveringSectors).toArray()) sets.recovering.add(n);
    }
  }
  return { height: head.Height, tsk: head.Cids, ...sets };
}

type Run = (args: string[], timeoutMs?: number) => Promise<{ code: number | null; out: string }>;

/** The sector-manager once the runner has written its port, the manager its token, and a health check passes. */
export async function managerUp(home: string): Promise<{ port: number; url: string; token: string } | undefined> {
  const port = readClusterState(home).ports?.manager;
  const tokenFile = join(home, 'manager', 'token');
  if (!port || !existsSync(tokenFile)) return undefined;
  const url = `http://127.0.0.1:${port}`;
  if ((await fetch(`${url}/healthcheck`)).status !== 200) return undefined;
  return { port, url, token: readFileSync(tokenFile, 'utf8').trim() };
}

/** `venus-sector-manager --home <home>/manager util …args --listen=127.0.0.1:<port>` run to its end. */
export function managerUtil(run: Run, home: string, port: number, timeoutMs = 60_000) {
  return (...args: string[]) =>
    run(
      [cli('venus-sector-manager'), '--home', join(home, 'manager'), 'util', ...args, `--listen=127.0.0.1:${port}`],
      timeoutMs,
    );
}

/** `venus-devnet --home <home>/devnet client …args` run to its end. */
export function devnetClient(run: Run, home: string, timeoutMs = 120_000) {
  return (...args: string[]) =>
    run([cli('venus-devnet'), '--home', join(home, 'devnet'), 'client', ...args], timeoutMs);
}

/** A client deal as `venus-devnet client list --json` shows it. */
export interface ClientListDeal {
  PieceCID: string;
  State: string;
  Sector: number;
}

/** `venus-devnet client import <file> --provider <miner> --kind ddo --verified`: the piece CID. */
async function importVerifiedDdo(run: Run, home: string, miner: string, file: string): Promise<string> {
  const r = await devnetClient(run, home)('import', file, '--provider', miner, '--kind', 'ddo', '--verified', '--json');
  assert.equal(r.code, 0, r.out);
  return (JSON.parse(r.out.slice(r.out.indexOf('{'))) as { PieceCID: string }).PieceCID;
}

/** A sector as the chain has it (StateSectorGetInfo). */
export interface ChainSectorInfo {
  SealedCID: { '/': string };
  SectorKeyCID: { '/': string } | null;
  DealWeight: string;
  VerifiedDealWeight: string;
  Expiration: number;
  PowerBaseEpoch: number;
}

/**
 * The start of a snap-deal test on `--deals 0 --sectors 2`: both CC sectors proven by Window PoSt (their chain
 * info kept), then a verified DDO client file that fills a 2 KiB sector, so only a snap can place it.
 */
export async function provenCcSectorsThenDdoFile(cluster: ClusterRun, run: Run, home: string, miner: string) {
  const { chain } = devnetApi(home);
  await cluster.until('two CC sectors proven', 6 * 60_000, async () => {
    const p = await minerPartitions(chain, miner);
    return p.active.has(1) && p.active.has(2);
  });
  const before = new Map<number, ChainSectorInfo>();
  for (const n of [1, 2]) before.set(n, await chain<ChainSectorInfo>('StateSectorGetInfo', [miner, n, null]));
  const file = join(home, 'client.bin');
  writeFileSync(file, randomBytes(1900));
  const piece = await importVerifiedDdo(run, home, miner, file);
  return { before, file, piece };
}

/**
 * Waits until the client's deal for `piece` is active, and fails at once if it failed, expired or was slashed;
 * the deal as `client list` shows it.
 */
export function untilDealActive(cluster: ClusterRun, run: Run, home: string, piece: string, what: string, ms: number) {
  const client = devnetClient(run, home, 60_000);
  return cluster.until(what, ms, async () => {
    const r = await client('list', '--json');
    const d = (JSON.parse(r.out.slice(r.out.indexOf('['))) as ClientListDeal[]).find((x) => x.PieceCID === piece);
    if (d && /failed|expired|slashed/.test(d.State)) assert.fail(`deal ${d.State}\n${cluster.tail()}`);
    return d?.State === 'active' ? d : undefined;
  });
}
