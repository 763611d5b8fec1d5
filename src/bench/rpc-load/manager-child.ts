/**
 * The manager-rpc benchmark's sector-manager, in a process of its own (its event loop is not the simulated
 * workers'): `daemon run` as the CLI starts it (startDaemon over <home>/sector-manager.cfg, tokens required),
 * except for the seal verifier, which checks the benchmark's digest proofs (digest-proof.ts). Logs go to stderr.
 *
 *   node manager-child.js HOME   prints one JSON line {port}; closes the daemon on SIGTERM or stdin's end
 */
import { setupLogging } from '../../common/log.js';
import { startDaemon } from '../../manager/daemon.js';
import { digestVerifier } from './digest-proof.js';

const [home] = process.argv.slice(2);
if (!home) throw new Error('usage: manager-child HOME');
setupLogging({ levelSpec: process.env.BENCH_MANAGER_LOG ?? 'info' });

const daemon = await startDaemon({
  home,
  listen: '127.0.0.1:0',
  poster: false,
  net: 'forcenet',
  verifier: digestVerifier,
});
process.stdout.write(`${JSON.stringify({ port: daemon.address.port })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await daemon.close();
  // process.exit writes the --cpu-prof profile, when asked for
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
