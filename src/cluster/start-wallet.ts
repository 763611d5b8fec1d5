/**
 * The wallet step: venus-wallet's config.toml ([API], [APIRegisterHub] to the devnet's gateway), `run`, `setpwd`
 * once, `unlock` when it comes up locked, `import` of every funded key; then it waits until the gateway routes
 * the owner's sign requests to it, which is what the messager needs to send the miner's messages.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/cli.js';
import { walletConfigToml } from './configs.js';
import type { ClusterContext } from './context.js';
import { done, markDone, walletPassword } from './home.js';
import { NETWORK } from './options.js';
import { parseImported, readDevnetHome } from './outputs.js';
import { rpcCall } from './probe.js';
import { logTail } from './process-log.js';
import { ProcessError, type RunningProcess } from './process-spec.js';
import { httpReady } from './readiness.js';

export async function startWallet(c: ClusterContext): Promise<void> {
  const repo = c.paths.wallet;
  const port = c.state.ports.wallet;
  const g = ['--repo', repo, '--nettype', NETWORK];
  if (!done(c.state, 'wallet-config')) {
    mkdirSync(repo, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(repo, 'config.toml'),
      walletConfigToml({
        port,
        gateway: `/ip4/127.0.0.1/tcp/${c.state.ports.devnet}`,
        token: c.devnetToken,
        accounts: [c.account],
      }),
      { mode: 0o600 },
    );
    markDone(c.paths, c.state, 'wallet-config');
  }
  const { password } = walletPassword(c.paths);
  const hasPassword = done(c.state, 'wallet-password');
  const wallet = await c.daemon('venus-wallet', 'wallet', hasPassword ? [...g, 'run', '--password'] : [...g, 'run'], {
    ready: httpReady(c.url(port)),
    ...(hasPassword ? { stdin: `${password}\n` } : {}),
  });
  if (!hasPassword) {
    await c.cmd('venus-wallet', 'wallet', [...g, 'setpwd'], { stdin: `${password}\n${password}\n` });
    // started again after a death, it must come up unlocked
    c.sup.amend(wallet, { args: [...wallet.spec.args, '--password'], stdin: `${password}\n` });
    markDone(c.paths, c.state, 'wallet-password');
  }
  const lockState = await c.cmd('venus-wallet', 'wallet', [...g, 'lock-state']);
  if (/locked/.test(lockState.stdout) && !/unlocked/.test(lockState.stdout)) {
    await c.cmd('venus-wallet', 'wallet', [...g, 'unlock'], { stdin: `${password}\n` });
  }
  if (!done(c.state, 'wallet-keys')) {
    const { accounts } = readDevnetHome(c.paths.devnet);
    const listed = (await c.cmd('venus-wallet', 'wallet', [...g, 'list'])).stdout;
    const addresses: string[] = [];
    for (const a of accounts) {
      if (!listed.includes(a.address)) {
        const r = await c.cmd('venus-wallet', 'wallet', [...g, 'import', a.keyFile]);
        const got = parseImported(r.stdout);
        if (got && got !== a.address) {
          throw new UserError(`venus-wallet import ${a.keyFile} gave ${got}, but the devnet funded ${a.address}`);
        }
      }
      addresses.push(a.address);
    }
    c.state.addresses = addresses;
    markDone(c.paths, c.state, 'wallet-keys');
  }
  await waitRegistered(c, wallet);
}

/** Registered with the devnet's gateway (the guide's "connect to server" line), and routed the owner's requests. */
async function waitRegistered(c: ClusterContext, wallet: RunningProcess): Promise<void> {
  const timeout = c.o.readyTimeoutMs ?? 60_000;
  await c.sup.waitForLog(wallet, /connect to server/, timeout, 'gateway registration');
  const owner = c.state.owner!;
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    const has = await rpcCall<boolean>(
      c.url(c.state.ports.devnet),
      'Gateway.WalletHas',
      [owner, [c.account]],
      c.devnetToken,
    ).catch((err: Error) => {
      last = err.message;
      return false;
    });
    if (has) break;
    if (Date.now() > deadline) {
      throw new ProcessError(
        'not-ready',
        'wallet',
        `the devnet gateway does not route ${owner} (account "${c.account}") to venus-wallet` +
          `${last ? ` (Gateway.WalletHas: ${last})` : ''}`,
        wallet.spec.logFile,
        logTail(wallet.spec.logFile, wallet.logFrom),
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  c.event(`wallet: registered with the devnet gateway; signs for ${owner}`);
}
