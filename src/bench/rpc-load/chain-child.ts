/**
 * The manager-rpc benchmark's chain, in a process of its own: a fresh devnet (2KiB sectors, seal proofs accepted
 * as the devnet's `--insecure-accept-proofs` does, since the manager checks them itself) and the wallet's part
 * (register with the gateway, sign with the genesis keys), so the manager's messages are signed and land.
 *
 *   node chain-child.js DIR BLOCK_MS   prints one JSON line {api, token, owner}; stops on SIGTERM or stdin's end
 */
import { join } from 'node:path';
import { setupLogging } from '../../common/log.js';
import { startGenesisWallet } from '../../devnet/genesis-wallet.js';
import { initHome, loadKeys } from '../../devnet/home.js';
import { DevnetService } from '../../devnet/service.js';
import { AcceptingVerifier } from '../../devnet/verifier.js';
import { addressOf } from '../../fil/index.js';

const [dir, blockMs] = process.argv.slice(2);
if (!dir || !blockMs) throw new Error('usage: chain-child DIR BLOCK_MS');
setupLogging({ levelSpec: process.env.BENCH_CHAIN_LOG ?? 'warn' });

const home = join(dir, 'devnet');
await initHome(
  { home, blockTimeMs: Number(blockMs), listen: '127.0.0.1:0', accounts: ['bls', 'bls', 'secp256k1'] },
  new AcceptingVerifier(),
);
const keys = loadKeys(home);
// the manager's chain client is one WebSocket carrying every simulated worker's chain reads: a Lotus node puts
// no rate limit on it, so the devnet's guard for its port (1000 messages/s per connection) is raised here
const devnet = await DevnetService.start({
  home,
  verifier: new AcceptingVerifier(),
  limits: { wsMessagesPerSecond: 1_000_000 },
});

// the wallet: answers the gateway's WalletList / WalletSign with the genesis keys
const stopWallet = await startGenesisWallet(devnet, keys);

const bls = keys.find((k) => k.type === 'bls')!;
const owner = addressOf(bls.type, bls.privateKey).toString();
process.stdout.write(
  `${JSON.stringify({ api: devnet.multiaddr.replace(/\/http$/, ''), token: devnet.token, owner })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stopWallet();
  await devnet.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
