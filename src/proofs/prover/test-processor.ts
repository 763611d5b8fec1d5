/**
 * A small external processor for the tests of external.ts: it speaks damocles' protocol for one stage
 * (argv[2]: c2, window_post or winning_post) and answers as a rust-fil-proofs box would — c2 with
 * `{proof: [u8…]}`, window_post with `{proofs: [], faults}` when a sector is faulty (rust's FaultySectors)
 * else `{proofs: [base64], faults: []}`, winning_post with `{proofs: [base64]}` — computing with the vanilla
 * prover in place of Groth16.
 *
 * Misbehaviour for the tests, by environment: VP_NO_READY (never prints the ready line), VP_CRASH_MARKER
 * (exits in the middle of the first request, leaving the marker file so the restarted child behaves),
 * VP_SLOW_SECTOR (answers tasks naming that sector 400 ms late, so answers come out of order).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { c1OutputFromJson } from '../porep/c1.js';
import { VanillaPoStProver, VanillaSealProver } from './vanilla.js';

const stage = process.argv[2];
const env = process.env;

type Json = Record<string, unknown>;
const bytes32 = (v: unknown) => Uint8Array.from(v as number[]);

async function handle(task: Json): Promise<unknown> {
  if (stage === 'c2') {
    const proof = await new VanillaSealProver().sealCommitPhase2({
      c1: c1OutputFromJson(task.c1out),
      minerId: BigInt(task.miner_id as number),
      sectorId: BigInt(task.sector_id as number),
    });
    return { proof: Array.from(proof) };
  }
  const req = {
    proof: task.proof_type as string,
    minerId: BigInt(task.miner_id as number),
    randomness: bytes32(task.seed),
    replicas: (task.replicas as Json[]).map((r) => ({
      sectorId: BigInt(r.sector_id as number),
      commR: bytes32(r.comm_r),
      cacheDir: r.cache_dir as string,
      sealedPath: r.sealed_file as string,
    })),
  };
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  if (stage === 'window_post') {
    const r = await new VanillaPoStProver().generateWindowPoSt(req);
    if (r.faults.length) return { proofs: [], faults: r.faults.map(Number) };
    return { proofs: r.proofs.map((p) => b64(p.proofBytes)), faults: [] };
  }
  if (stage === 'winning_post') {
    const proofs = await new VanillaPoStProver().generateWinningPoSt(req);
    return { proofs: proofs.map((p) => b64(p.proofBytes)) };
  }
  throw new Error(`unknown stage ${stage}`);
}

if (!env.VP_NO_READY) process.stdout.write(`${stage} processor ready\n`);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const { id, task } = JSON.parse(line) as { id: number; task: Json };
  if (env.VP_CRASH_MARKER && !existsSync(env.VP_CRASH_MARKER)) {
    writeFileSync(env.VP_CRASH_MARKER, 'crashed');
    process.exit(7);
  }
  const slow = env.VP_SLOW_SECTOR && JSON.stringify(task).includes(`"sector_id":${env.VP_SLOW_SECTOR},`);
  void (async () => {
    let resp: unknown;
    try {
      resp = { id, err_msg: null, output: await handle(task) };
    } catch (e) {
      resp = { id, err_msg: (e as Error).message, output: null };
    }
    setTimeout(() => process.stdout.write(`${JSON.stringify(resp)}\n`), slow ? 400 : 0);
  })();
});
