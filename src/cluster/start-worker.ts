/**
 * The worker step: `store seal-init` / `store file-init` for its stores (the unseal and snapup ones with --deals),
 * venus-worker.toml with a write token bound to its name, then `daemon --config …`.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createToken } from '../rpc/index.js';
import { workerConfigToml } from './configs.js';
import type { ClusterContext } from './context.js';
import { done, markDone } from './home.js';
import { httpReady } from './readiness.js';

export async function startWorker(c: ClusterContext): Promise<void> {
  const p = c.paths;
  if (!done(c.state, 'worker-stores')) {
    const fresh = [...p.sealStores, p.rebuildStore].filter((s) => !existsSync(join(s, '.holder')));
    if (fresh.length) await c.cmd('venus-worker', 'worker', ['store', 'seal-init', '-l', ...fresh]);
    if (!existsSync(join(p.remote, '.holder'))) {
      await c.cmd('venus-worker', 'worker', ['store', 'file-init', '-l', p.remote]);
    }
    markDone(p, c.state, 'worker-stores');
  }
  // the unseal thread's store: also when an older home is run with --deals for the first time
  if (c.o.deals !== undefined) {
    const fresh = [p.unsealStore, p.snapupStore].filter((s) => !existsSync(join(s, '.holder')));
    if (fresh.length) await c.cmd('venus-worker', 'worker', ['store', 'seal-init', '-l', ...fresh]);
  }
  mkdirSync(p.workerTmp, { recursive: true });
  // the sector-manager requires tokens: the worker signs in with a write token bound to its name (and sectors)
  const auth = await c.managerAuth();
  const name = 'cluster-worker';
  writeFileSync(
    p.workerConfig,
    workerConfigToml({
      name,
      port: c.state.ports.worker,
      managerPorts: Array.from({ length: c.managers }, (_, k) => c.managerPort(k + 1)),
      sealStores: p.sealStores,
      rebuildStore: p.rebuildStore,
      ...(c.o.deals !== undefined
        ? { deals: { pieceToken: c.devnetToken, unsealStore: p.unsealStore, snapupStore: p.snapupStore } }
        : {}),
      remoteName: 'remote',
      remotePath: p.remote,
      managerToken: await createToken(auth.secret, 'write', { name }),
      managerSecretPath: auth.secretPath,
    }),
    { mode: 0o600 },
  );
  chmodSync(p.workerConfig, 0o600); // it holds a token (an older home's file kept its mode)
  await c.daemon('venus-worker', 'worker', ['daemon', `--config=${p.workerConfig}`], {
    ready: httpReady(c.url(c.state.ports.worker, '/')),
    env: { ...process.env, ...(c.o.env ?? {}), TMPDIR: p.workerTmp },
  });
}
