// Deals end to end with the real programs: `venus-cluster --deals 0` (devnet playing chain, messager, gateway and
// droplet; wallet; sector-manager with EnableDeals and the market endpoint; worker with enable_deals and an unseal
// thread). Three client files go in through the devnet's client — two verified direct (DDO) allocations and one
// builtin-market deal, of different sizes — and must become active deals in active sectors. The chain's
// quality-adjusted power is then checked against builtin-actors' formula over every active sector at one tipset
// (a fully verified sector counts 10×), Window PoSt keeps passing, every unsealed copy is deleted, and
// `client retrieve` of each piece (the provider unseals it from the sealed replica) returns the original bytes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BitField } from '../../src/fil/index.js';
import { cli, e2eProcesses } from './cluster-harness.js';
import { readClusterState, rpcCall, startCluster } from './cluster-run.js';

const { home, start, run } = e2eProcesses('deals-e2e-');

const devnetHome = join(home, 'devnet');
const client = (...args: string[]) => run([cli('venus-devnet'), '--home', devnetHome, 'client', ...args], 120_000);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface ClientDeal {
  Kind: string;
  PieceCID: string;
  Verified: boolean;
  State: string;
  Sector: number | null;
  ActivationEpoch: number | null;
  Reason: string | null;
}

/** builtin-actors miner::policy qa_power_for_weight (QualityBaseMultiplier 10, deal 10, verified 100, precision 20). */
function qaPowerForWeight(size: bigint, duration: bigint, dealWeight: bigint, verifiedWeight: bigint): bigint {
  const spaceTime = size * duration;
  const weighted = (spaceTime - dealWeight - verifiedWeight) * 10n + dealWeight * 10n + verifiedWeight * 100n;
  const quality = (weighted << 20n) / spaceTime / 10n;
  return (size * quality) >> 20n;
}

test('deals: two verified DDO allocations and a builtin-market deal sealed, QA power as the actors count it, retrieved by unsealing', {
  timeout: 14 * 60_000,
}, async () => {
  const t0 = Date.now();
  const cluster = startCluster(start, home, ['--deals', '0']);
  const { tail, until } = cluster;

  const miner = await until('the miner', 5 * 60_000, async () => readClusterState(home).miner);
  const { ports } = readClusterState(home);
  const token = readFileSync(join(devnetHome, 'token'), 'utf8').trim();
  const chain = <T>(method: string, params: unknown[]) =>
    rpcCall<T>(`http://127.0.0.1:${ports.devnet}/rpc/v1`, token, `Filecoin.${method}`, params);

  // three clients' files: one fills a sector alone (fully verified), two are small enough to leave CC padding
  const files = [
    { name: 'a.bin', size: 1900, kind: 'ddo', verified: true },
    { name: 'b.bin', size: 400, kind: 'ddo', verified: true },
    { name: 'c.bin', size: 700, kind: 'market', verified: false },
  ].map((f) => {
    const bytes = randomBytes(f.size);
    const path = join(home, f.name);
    writeFileSync(path, bytes);
    return { ...f, path, sha: sha256(bytes), piece: '' };
  });
  for (const f of files) {
    const r = await client(
      'import',
      f.path,
      '--provider',
      miner,
      '--kind',
      f.kind,
      ...(f.verified ? ['--verified'] : []),
      '--json',
    );
    assert.equal(r.code, 0, r.out);
    const deal = JSON.parse(r.out.slice(r.out.indexOf('{'))) as ClientDeal;
    assert.equal(deal.Kind, f.kind);
    f.piece = deal.PieceCID;
  }
  const tImported = Date.now();

  const active = await until('three active deals', 8 * 60_000, async () => {
    const r = await client('list', '--json');
    const deals = (JSON.parse(r.out.slice(r.out.indexOf('['))) as ClientDeal[]).filter((d) =>
      files.some((f) => f.piece === d.PieceCID),
    );
    const bad = deals.find((d) => /failed|expired|slashed/.test(d.State));
    if (bad) assert.fail(`deal ${bad.PieceCID} ${bad.State}: ${bad.Reason}\n${tail()}`);
    return deals.length === 3 && deals.every((d) => d.State === 'active' && d.Sector) ? deals : undefined;
  });
  process.stdout.write(
    `# deals e2e: 3 deals active ${Math.round((Date.now() - tImported) / 1000)} s after import (${Math.round((Date.now() - t0) / 1000)} s from start)\n`,
  );
  const dealSectors = [...new Set(active.map((d) => d.Sector!))];

  // the deal sectors proven by Window PoSt (active in their partitions), none faulty; then QA power at one tipset
  const maddr = miner;
  const checked = await until('the deal sectors proven by Window PoSt', 5 * 60_000, async () => {
    const head = await chain<{ Cids: unknown[]; Height: number }>('ChainHead', []);
    const tsk = head.Cids;
    const deadlines = await chain<unknown[]>('StateMinerDeadlines', [maddr, tsk]);
    const activeSet = new Set<number>();
    let faulty = 0;
    for (let i = 0; i < deadlines.length; i++) {
      const parts =
        (await chain<{ ActiveSectors: number[]; FaultySectors: number[] }[] | null>('StateMinerPartitions', [
          maddr,
          i,
          tsk,
        ])) ?? [];
      for (const p of parts) {
        for (const n of BitField.fromJSON(p.ActiveSectors).toArray()) activeSet.add(n);
        faulty += BitField.fromJSON(p.FaultySectors).toArray().length;
      }
    }
    if (!dealSectors.every((n) => activeSet.has(n))) return undefined;
    assert.equal(faulty, 0, 'no faulty sector');
    // every active sector's QA power by the actors' formula, summed, is the miner's claim at that tipset
    let raw = 0n;
    let qa = 0n;
    const perSector = new Map<number, { raw: bigint; qa: bigint }>();
    for (const n of activeSet) {
      const s = await chain<{
        Expiration: number;
        PowerBaseEpoch: number;
        Activation: number;
        DealWeight: string;
        VerifiedDealWeight: string;
      }>('StateSectorGetInfo', [maddr, n, tsk]);
      const size = 2048n;
      const duration = BigInt(s.Expiration - (s.PowerBaseEpoch ?? s.Activation));
      const q = qaPowerForWeight(size, duration, BigInt(s.DealWeight), BigInt(s.VerifiedDealWeight));
      perSector.set(n, { raw: size, qa: q });
      raw += size;
      qa += q;
    }
    const power = await chain<{ MinerPower: { RawBytePower: string; QualityAdjPower: string } }>('StateMinerPower', [
      maddr,
      tsk,
    ]);
    return { raw, qa, power: power.MinerPower, perSector };
  });
  assert.equal(checked.power.RawBytePower, String(checked.raw));
  assert.equal(checked.power.QualityAdjPower, String(checked.qa), 'QA power = the actors formula over active sectors');
  assert.ok(checked.qa > checked.raw, `QA ${checked.qa} above raw ${checked.raw}`);
  const full = active.find((d) => d.PieceCID === files[0]!.piece)!;
  const fullSector = checked.perSector.get(full.Sector!)!;
  // its piece is the sector's whole size: nothing else fits, the sector is fully verified
  assert.equal(fullSector.qa, 10n * fullSector.raw, 'a sector holding one verified piece of its full size is 10×');
  process.stdout.write(`# deals e2e: raw ${checked.raw}, QA ${checked.qa} (deal sectors ${dealSectors.join(', ')})\n`);

  // every unsealed copy goes: the market's piece store (what the clients uploaded) and any staged unsealed file
  const pieces = join(devnetHome, 'market', 'pieces');
  for (const f of files) rmSync(join(pieces, f.piece), { force: true });
  for (const f of files) assert.equal(existsSync(join(pieces, f.piece)), false);
  for (const d of readdirSync(join(home, 'remote')))
    assert.notEqual(d, 'unsealed', 'no unsealed copy in the persist store');

  // retrieval: no unsealed copy anywhere, so the provider unseals each piece from its sealed replica
  for (const f of files) {
    const out = join(home, `${f.name}.out`);
    const r = await client('retrieve', f.piece, '--out', out);
    assert.equal(r.code, 0, `${r.out}\n${tail()}`);
    assert.equal(sha256(readFileSync(out)), f.sha, `${f.name}: retrieved bytes equal the original`);
  }
  const workerLog = readFileSync(join(home, 'logs', 'worker.log'), 'utf8');
  for (const f of files) assert.match(workerLog, new RegExp(`unsealed piece uploaded[^\\n]*${f.piece}`));
  process.stdout.write(
    `# deals e2e: 3 pieces unsealed and retrieved, ${Math.round((Date.now() - t0) / 1000)} s in all\n`,
  );

  cluster.child.kill('SIGINT');
  assert.equal(await cluster.exited, 0, tail());
});
