/**
 * The devnet step (`venus-devnet --home H/devnet init …`, then `run --listen …`): the chain every other program
 * talks to. Its home gives the admin token and the funded accounts; the first one owns the miner.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterContext } from './context.js';
import { done, markDone, saveState } from './home.js';
import { DEVNET_SECTOR_SIZES, FAST_POLICY, NETWORK, secsToMs } from './options.js';
import { readDevnetHome, tokenAccount } from './outputs.js';
import { httpReady } from './readiness.js';

export async function startDevnet(c: ClusterContext): Promise<void> {
  const dir = c.paths.devnet;
  const port = c.state.ports.devnet;
  const listen = `127.0.0.1:${port}`;
  if (!done(c.state, 'devnet-init')) {
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
      if (c.o.blockTime) {
        secsToMs(c.o.blockTime);
        args.push('--block-time', c.o.blockTime);
      }
      const policy = c.o.devnetPolicy ?? FAST_POLICY;
      if (policy !== '2k' && policy !== '') args.push('--policy', policy);
      await c.cmd('venus-devnet', 'devnet', args);
    }
    markDone(c.paths, c.state, 'devnet-init');
  }
  await c.daemon('venus-devnet', 'devnet', ['--home', dir, 'run', '--listen', listen], {
    ready: httpReady(c.url(port)),
  });
  const home = readDevnetHome(dir);
  c.devnetToken = home.token;
  c.account = tokenAccount(home.token) ?? 'devnet';
  if (!c.state.owner) {
    c.state.owner = home.accounts[0]!.address;
    saveState(c.paths, c.state);
  }
}
