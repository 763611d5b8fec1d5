/**
 * The running cluster: what the view's probes ask (each program's API and metrics, with the manager's admin
 * token), and the loop that polls them and draws until Ctrl-C, a program's death or the `until` condition,
 * keeping --deals N client files flowing meanwhile.
 */
import { UserError } from '../common/cli.js';
import type { ClusterContext } from './context.js';
import { DealFlow } from './deal-flow.js';
import { managerName } from './home.js';
import { SECTOR_BYTES } from './options.js';
import type { Prober, ProbeTargets } from './probe.js';
import type { RunningProcess } from './process-spec.js';
import type { View } from './view.js';

export function probeTargets(c: ClusterContext): ProbeTargets {
  // --require-token: the admin token the manager's repo holds; the worker accepts the manager's tokens
  // (manager_secret_path in its config)
  const token = c.managerRepoAuth ? { token: c.managerRepoAuth.token } : {};
  return {
    chain: { url: c.url(c.state.ports.devnet), token: c.devnetToken },
    manager: { url: c.url(c.state.ports.manager), metrics: c.url(c.state.ports.manager, '/metrics'), ...token },
    worker: { url: c.url(c.state.ports.worker, '/'), metrics: c.url(c.state.ports.worker, '/metrics'), ...token },
    ...(c.managers > 1
      ? {
          managers: Array.from({ length: c.managers }, (_, k) => ({
            name: managerName(k + 1, c.managers),
            url: c.url(c.managerPort(k + 1)),
            metrics: c.url(c.managerPort(k + 1), '/metrics'),
            ...token,
          })),
        }
      : {}),
    miner: c.state.miner,
  };
}

/** Poll and draw until Ctrl-C (`stopped`), a program's death or the `until` condition; the exit code. */
export async function supervise(
  c: ClusterContext,
  prober: Prober,
  view: View,
  stopped: Promise<void>,
): Promise<number> {
  c.eventSink = (m) => view.event(m);
  const failed = c.sup.failed();
  const started = Date.now();
  let result: number | undefined;
  void failed.then(() => {
    result ??= 1;
  });
  void stopped.then(() => {
    result ??= 0;
  });
  const flow = dealFlow(c);
  let nextFlow = 0;
  while (result === undefined) {
    if (flow && Date.now() >= nextFlow) {
      nextFlow = Date.now() + 5_000;
      void flow.tick();
    }
    const snap = await prober.poll();
    view.update(snap, c.sup.processes() as RunningProcess[]);
    if (c.o.until && c.o.sectors !== undefined) {
      const n = c.o.until === 'onchain' ? snap.chain?.onChain : snap.chain?.active;
      if (n !== undefined && n >= c.o.sectors) {
        c.event(`${n} sector(s) ${c.o.until === 'onchain' ? 'on chain' : 'proven by Window PoSt'}: done`);
        view.final(snap);
        result = 0;
        break;
      }
      if (c.o.untilTimeoutMs && Date.now() - started > c.o.untilTimeoutMs) {
        view.final(snap);
        c.eventSink = undefined;
        view.stop();
        throw new UserError(
          `--until ${c.o.until}: ${c.o.sectors} sector(s) not reached within ${Math.round(c.o.untilTimeoutMs / 1000)} s`,
        );
      }
    }
    await Promise.race([new Promise((r) => setTimeout(r, 1000)), failed, stopped]);
  }
  c.eventSink = undefined;
  view.stop();
  const failure = await Promise.race([failed, Promise.resolve(undefined)]);
  if (failure && result === 1) throw failure;
  return result;
}

/** --deals N: client files kept flowing through the devnet's market (none without --deals or with 0). */
function dealFlow(c: ClusterContext): DealFlow | undefined {
  if (c.o.deals === undefined || c.o.deals <= 0) return undefined;
  return new DealFlow({
    count: c.o.deals,
    sectorSize: SECTOR_BYTES[c.o.sectorSize],
    provider: () => c.state.miner,
    dir: c.paths.deals,
    client: async (args) =>
      (await c.cmd('venus-devnet', 'devnet-client', ['--home', c.paths.devnet, 'client', ...args])).stdout,
    event: (m) => c.event(m),
  });
}
