/**
 * A `venus-cluster` run for the e2e tests that drive the one-command cluster on a fast devnet clock: waits that
 * fail at once when the runner exits (with the tail of its output), the runner's cluster.json, and JSON-RPC calls
 * with a token.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * Polls `f` every `everyMs` until it returns something truthy. A thrown error is "not yet" (the last one is
   * reported on timeout), but an assertion failure is the verdict, and the runner's exit fails the wait at once.
   */
  until<T>(
    what: string,
    ms: number,
    f: () => Promise<T | undefined | false>,
    everyMs?: number,
  ): Promise<NonNullable<T>>;
}

/** Starts `venus-cluster --home <home> …args` on the fast devnet clock. */
export function startCluster(start: (args: string[]) => Started, home: string, args: string[]): ClusterRun {
  const cluster = start([cli('venus-cluster'), '--home', home, ...args, ...FAST_DEVNET_ARGS]);
  let exitCode: number | null | undefined;
  void cluster.exited.then((c) => {
    exitCode = c;
  });
  const tail = () => cluster.output().slice(-6000);
  async function until<T>(
    what: string,
    ms: number,
    f: () => Promise<T | undefined | false>,
    everyMs = 1000,
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
  return { ...cluster, tail, until };
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
