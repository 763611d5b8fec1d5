// SnapDeals with the real programs: `venus-cluster --deals 0 --sectors 2` seals two committed-capacity sectors and
// stops allocating; a client's verified DDO file then has nowhere to go but into one of them in place.
// `venus-sector-manager util sealer snap fetch` makes them candidates, the worker's thread with plan = "snapup"
// fetches the piece, encodes it into the sector key, proves the update and the manager sends ProveReplicaUpdates3.
// The chain must show the new SealedCID (the old one as SectorKeyCID), the deal active in that sector, its QA power
// 10× raw (the piece fills the sector), and Window PoSt over the updated replica must keep it active, never faulty.
// `client retrieve` of the piece then returns the original bytes, unsealed from the updated replica; and when the
// updated replica is lost, `util sealer sectors rebuild` brings it back byte-identical (the same for a snapped sector
// as test/e2e/rebuild.test.ts does for a CC one).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2eProcesses } from './cluster-harness.js';
import {
  type ChainSectorInfo,
  devnetApi,
  devnetClient,
  managerUtil,
  minerPartitions,
  provenCcSectorsThenDdoFile,
  readClusterState,
  startCluster,
  untilDealActive,
} from './cluster-run.js';

const { home, start, run } = e2eProcesses('snapup-e2e-');
const devnetHome = join(home, 'devnet');

test('snapup: a CC sector takes a verified DDO deal in place (ProveReplicaUpdates3), 10× QA, Window PoSt over the new replica', {
  timeout: 18 * 60_000,
}, async () => {
  const t0 = Date.now();
  const cluster = startCluster(start, home, ['--deals', '0', '--sectors', '2']);
  const { tail, until } = cluster;

  const miner = await until('the miner', 5 * 60_000, async () => readClusterState(home).miner);
  const { chain } = devnetApi(home);
  const partitions = () => minerPartitions(chain, miner);
  const util = managerUtil(run, home, readClusterState(home).ports.manager);
  const manager = (...args: string[]) => util('sealer', ...args);

  // two CC sectors, proven by Window PoSt; a verified client file that fills a 2KiB sector
  const { before, file, piece } = await provenCcSectorsThenDdoFile(cluster, run, home, miner);

  const fetched = await manager('snap', 'fetch', miner);
  assert.equal(fetched.code, 0, fetched.out);
  const tFetched = Date.now();

  const deal = await untilDealActive(cluster, run, home, piece, 'the deal active in a snapped sector', 6 * 60_000);
  assert.ok([1, 2].includes(deal.Sector), `the deal went into CC sector ${deal.Sector}`);
  process.stdout.write(
    `# snapup e2e: deal active in CC sector ${deal.Sector} ${Math.round((Date.now() - tFetched) / 1000)} s after snap fetch (${Math.round((Date.now() - t0) / 1000)} s from start)\n`,
  );

  // the chain: new sealed CID, the old one kept as the sector key, 10× QA for a fully verified sector
  const after = await chain<ChainSectorInfo>('StateSectorGetInfo', [miner, deal.Sector, null]);
  const old = before.get(deal.Sector)!;
  assert.notEqual(after.SealedCID['/'], old.SealedCID['/'], 'a new SealedCID');
  assert.equal(after.SectorKeyCID?.['/'], old.SealedCID['/'], 'the CC replica is the sector key');
  assert.ok(BigInt(after.VerifiedDealWeight) > 0n);
  const p = await partitions();
  const power = await chain<{ MinerPower: { RawBytePower: string; QualityAdjPower: string } }>('StateMinerPower', [
    miner,
    p.tsk,
  ]);
  assert.equal(power.MinerPower.RawBytePower, String(2 * 2048));
  assert.equal(power.MinerPower.QualityAdjPower, String(2048 + 10 * 2048), 'the snapped sector counts 10×');

  // Window PoSt over the updated replica: two proving periods later the sector is still active, nothing faulty
  const updatedAt = p.height;
  await until(
    'two proving periods after the update',
    4 * 60_000,
    async () => (await partitions()).height > updatedAt + 170,
  );
  const later = await partitions();
  assert.equal(later.faulty.size, 0, `no faulty sector after the update (faulty: ${[...later.faulty]})`);
  assert.ok(later.active.has(deal.Sector), 'the snapped sector is still proven');
  const managerLog = readFileSync(join(home, 'logs', 'manager.log'), 'utf8');
  assert.match(managerLog, /ProveReplicaUpdates3/);
  process.stdout.write(`# snapup e2e: proven over the new replica, ${Math.round((Date.now() - t0) / 1000)} s in all\n`);

  // retrieval: the market's copy goes, so the provider unseals the piece from the updated replica; the sector key
  // was removed (CleanupCCData, the default), so the unseal thread seals the CC sector again from its ticket
  const name = `s-${miner}-${deal.Sector}`;
  assert.equal(existsSync(join(home, 'remote', 'sealed', name)), false, 'the sector key was cleaned up');
  rmSync(join(devnetHome, 'market', 'pieces', piece), { force: true });
  const out = join(home, 'retrieved.bin');
  const tRetrieve = Date.now();
  const got = await devnetClient(run, home, 180_000)('retrieve', piece, '--out', out);
  assert.equal(got.code, 0, `${got.out}\n${tail()}`);
  assert.ok(readFileSync(out).equals(readFileSync(file)), 'the retrieved bytes are the original file');
  const workerLog = readFileSync(join(home, 'logs', 'worker.log'), 'utf8');
  assert.match(workerLog, /decoding the updated replica[^\n]*sealed again/);
  assert.match(workerLog, new RegExp(`unsealed piece uploaded[^\\n]*${piece}`));
  process.stdout.write(
    `# snapup e2e: piece unsealed from the updated replica and retrieved in ${Math.round((Date.now() - tRetrieve) / 1000)} s\n`,
  );

  // rebuild of the snapped sector (docs/rebuild.md): its updated replica is lost, Window PoSt skips it and the chain
  // marks it faulty; `util sealer sectors rebuild` has the rebuild thread seal the CC sector again from its ticket,
  // encode the deal piece again (fetched from the market's piece store, where the unseal put it back) and persist
  // update/ byte-identical; the recovery is declared and a later Window PoSt proves it
  const updated = join(home, 'remote', 'update', name);
  const original = readFileSync(updated);
  assert.equal(original.length, 2048);
  unlinkSync(updated);
  await until(`${name} faulty on chain`, 3 * 60_000, async () => (await partitions()).faulty.has(deal.Sector));
  const tRebuild = Date.now();
  const set = await manager('sectors', 'rebuild', miner, String(deal.Sector), '--pieces-available');
  assert.equal(set.code, 0, set.out);
  await until(`${name}'s updated replica rebuilt`, 3 * 60_000, async () => {
    if (!existsSync(updated)) return false;
    return readFileSync(updated).equals(original);
  });
  const rebuiltIn = Math.round((Date.now() - tRebuild) / 1000);
  await until(`${name} recovered and proven`, 3 * 60_000, async () => {
    const c = await partitions();
    return !c.faulty.has(deal.Sector) && c.active.has(deal.Sector) && c.active.size === 2;
  });
  const sealed = await chain<ChainSectorInfo>('StateSectorGetInfo', [miner, deal.Sector, null]);
  assert.equal(sealed.SealedCID['/'], after.SealedCID['/'], 'the same sector on chain: no message was sent');
  const logs = readFileSync(join(home, 'logs', 'worker.log'), 'utf8');
  assert.match(logs, /deal pieces encoded again/);
  assert.match(
    readFileSync(join(home, 'logs', 'manager.log'), 'utf8'),
    /sector rebuilt: its files are persisted again/,
  );
  process.stdout.write(
    `# snapup e2e: the snapped sector rebuilt byte-identical in ${rebuiltIn} s, recovered and proven (${Math.round((Date.now() - t0) / 1000)} s in all)\n`,
  );

  assert.equal(await cluster.stop(), 0, tail());
});
