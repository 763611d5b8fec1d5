// Deals that go wrong, with the real programs on one cluster (`venus-cluster --deals 0`, as deals.test.ts), each bad
// input of issue 16 against the running devnet market, sector-manager and worker (docs/deals-manager.md, docs/deals-market.md, docs/deals-worker.md):
// - piece bytes in the market's store that do not match the deal's piece CID: every sector that takes the deal is
//   aborted with the CommP mismatch as its reason, the deal goes back to `waiting` (not failed), and once the bytes
//   are right it is sealed into another sector and becomes active;
// - a deal whose start epoch passes while its sector waits (the thread paused before PreCommit): the sector is
//   aborted, the deal expires, it is never sealed;
// - a deal for another provider: refused when the provider is not a miner; another miner's deal is never assigned
//   to ours;
// - kill -9 of the worker, then of the sector-manager and the devnet, while a deal sector is sealing (a direct deal,
//   then a builtin one): the runner restarts them, and each deal ends active in the sector the market recorded, assigned once,
//   claimed / activated once on chain.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli, e2eProcesses } from './cluster-harness.js';
import { readClusterState, rpcCall, startCluster } from './cluster-run.js';

const { home, start, run } = e2eProcesses('deals-faults-e2e-');

const devnetHome = join(home, 'devnet');
const client = (...args: string[]) => run([cli('venus-devnet'), '--home', devnetHome, 'client', ...args], 120_000);
const readState = () => readClusterState(home);
const log = (name: string) => readFileSync(join(home, 'logs', `${name}.log`), 'utf8');

interface ClientDeal {
  Kind: string;
  DealID: number;
  AllocationID: number;
  PieceCID: string;
  State: string;
  Sector: number | null;
  StartEpoch: number;
  ActivationEpoch: number | null;
  Reason: string | null;
}

test('deals: bad piece bytes, a start epoch passed, another provider, kill -9 of the worker, the manager and the devnet mid-seal', {
  timeout: 12 * 60_000,
}, async () => {
  const t0 = Date.now();
  const cluster = startCluster(start, home, ['--deals', '0']);
  const { tail, until } = cluster;

  const miner = await until('the miner', 5 * 60_000, async () => readState().miner);
  const ports = readState().ports;
  const devnetToken = readFileSync(join(devnetHome, 'token'), 'utf8').trim();
  // the worker writes its control token when it first starts (after the miner exists)
  const workerToken = () => readFileSync(join(home, 'worker', 'venus-worker-auth', 'token'), 'utf8').trim();
  const devnet = <T>(method: string, params: unknown[] = []) =>
    rpcCall<T>(`http://127.0.0.1:${ports.devnet}/rpc/v1`, devnetToken, method, params);
  const worker = <T>(method: string, params: unknown[] = []) =>
    rpcCall<T>(`http://127.0.0.1:${ports.worker}/rpc/v0`, workerToken(), `VenusWorker.${method}`, params);
  const head = async () => (await devnet<{ Height: number }>('Filecoin.ChainHead')).Height;
  const deal = async (piece: string) => {
    const d = (await devnet<ClientDeal[]>('DevnetMarket.ListDeals')).find((x) => x.PieceCID === piece);
    assert.ok(d, `deal ${piece} in the market`);
    return d;
  };
  const threads = () =>
    worker<{ location: string; thread_state: { state: string } }[]>('WorkerList').then((l) =>
      l.map((t) => t.thread_state.state),
    );
  async function pause(i: number) {
    await worker('WorkerPause', [i]);
    await until(`thread ${i} paused`, 60_000, async () => (await threads())[i] === 'Paused', 250);
  }
  const resume = (i: number) => worker('WorkerResume', [i, null]);
  async function importFile(name: string, size: number, ...flags: string[]) {
    const path = join(home, name);
    writeFileSync(path, randomBytes(size));
    const r = await client('import', path, '--json', ...(flags.includes('market') ? [] : ['--verified']), ...flags);
    assert.equal(r.code, 0, r.out);
    return { path, deal: JSON.parse(r.out.slice(r.out.indexOf('{'))) as ClientDeal };
  }
  // the sectors the manager's "deals acquired" lines give a deal (`a<allocation>` direct, `d<deal id>` builtin)
  const acquiredIn = (name: string) =>
    [...log('manager').matchAll(/deals acquired\s+(\{.*\})/g)]
      .map((m) => JSON.parse(m[1]!) as { sector: string; deals: string[] })
      .filter((l) => l.deals.includes(name))
      .map((l) => Number(l.sector.split('-').at(-1)));

  // the two sealing threads stop taking sectors while the bad inputs go in
  await until('the worker threads', 3 * 60_000, async () => (await threads()).length >= 2);
  await pause(0);
  await pause(1);

  // 3. another provider: a non-miner is refused with the reason; another miner's deal is never assigned to ours
  const stray = join(home, 'stray.bin');
  writeFileSync(stray, randomBytes(300));
  const refused = await client('import', stray, '--provider', 't099999', '--verified');
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /datacap transfer: [^\n]*provider 99999/);
  const refusedMarket = await client('import', stray, '--provider', 't099999', '--kind', 'market');
  assert.notEqual(refusedMarket.code, 0, refusedMarket.out);
  assert.match(refusedMarket.out, /provider t099999: [^\n]*(is not a miner|is not on chain)/);
  const created = await run(
    [
      cli('venus-sector-manager'),
      '--home',
      join(home, 'manager'),
      'util',
      'miner',
      'create',
      `--from=${readState().owner}`,
      '--sector-size=2KiB',
      '--exid=16',
    ],
    120_000,
  );
  assert.equal(created.code, 0, created.out);
  const other = /miner actor: (t0\d+)/.exec(created.out)?.[1];
  assert.ok(other && other !== miner, created.out);
  const foreign = await importFile('foreign.bin', 300, '--provider', other);
  assert.equal(foreign.deal.State, 'waiting');

  // 1. bad bytes in the piece store: the deal fills a sector alone (1900 bytes, a 2 KiB piece); thread 1 takes it
  // (after the CC sector it was sealing), fails its CommP check, aborts, and takes it again in the next sector
  const bad = await importFile('bad.bin', 1900, '--provider', miner);
  const stored = join(devnetHome, 'market', 'pieces', bad.deal.PieceCID);
  copyFileSync(stored, join(home, 'bad.good'));
  writeFileSync(stored, randomBytes(1900));
  await resume(1);
  // the sectors aborted on the mismatch, as the manager logs them (with the worker's reason)
  const abortedSectors = () =>
    log('manager')
      .split('\n')
      .filter((l) => /sector aborted/.test(l) && l.includes(bad.deal.PieceCID))
      .map((l) => Number(/"sector":"s-t0\d+-(\d+)"/.exec(l)?.[1]));
  await until('a sector aborted on the CommP mismatch', 3 * 60_000, async () => abortedSectors().length > 0);
  assert.match(
    log('manager'),
    /sector aborted[^\n]*has CommP [0-9a-f]+, the deal's piece CID says [0-9a-f]+: the data does not match the deal/,
  );
  // the worker's own line (its log is written a moment after the manager heard of the abort)
  const workerAbort = new RegExp(
    `sector aborted: piece ${bad.deal.PieceCID} \\(allocation ${bad.deal.AllocationID}[^\\n]*has CommP`,
  );
  await until('the worker logging the abort', 30_000, async () => workerAbort.test(log('worker')), 250);
  const released = new RegExp(`deals released[^\\n]*"kind":"ddo","ids":\\[${bad.deal.AllocationID}\\]`);
  await until('the manager releasing the deal', 30_000, async () => released.test(log('manager')), 250);
  // released: back to waiting with no sector, never failed (it is taken again every few seconds meanwhile)
  await until(
    'the bad deal released',
    60_000,
    async () => {
      const d = await deal(bad.deal.PieceCID);
      assert.ok(!/failed|expired|active|slashed/.test(d.State), `${d.State}: ${d.Reason}`);
      return d.State === 'waiting' && d.Sector === null;
    },
    100,
  );

  // 2. a deal that must start 100 epochs from now: thread 1's next sector takes it (the smallest piece first; the
  // bad one no longer fits), and the thread is paused before the PreCommit until the start epoch has passed
  const late = await importFile('late.bin', 400, '--provider', miner, '--start-delay', '100');
  const lateSector = await until(
    'the late deal assigned',
    60_000,
    async () => {
      const d = await deal(late.deal.PieceCID);
      return d.State === 'sealing' && d.Sector;
    },
    100,
  );
  await pause(1);
  assert.equal((await deal(late.deal.PieceCID)).Sector, lateSector);

  // 1. (cont.) the right bytes back: thread 0 seals the deal into another sector
  copyFileSync(join(home, 'bad.good'), stored);
  await resume(0);
  const goodSector = await until('the fixed deal assigned', 3 * 60_000, async () => {
    const d = await deal(bad.deal.PieceCID);
    return d.State === 'sealing' && d.Sector;
  });
  assert.ok(
    !abortedSectors().includes(goodSector),
    `sector ${goodSector} is not one of the aborted ${abortedSectors()}`,
  );

  // 5. kill -9 of the worker while the deal sector is mid-seal (its thread paused a few steps in) and the late
  // deal's start epoch has passed; the runner restarts the worker, whose threads go on from their sector documents
  await sleep(3000);
  await pause(0);
  await until('the late deal past its start', 2 * 60_000, async () => (await head()) > late.deal.StartEpoch);
  const mid = await deal(bad.deal.PieceCID);
  assert.equal(mid.State, 'sealing', 'the deal is not sealed yet when the worker is killed');
  const before = readState().pids?.worker;
  assert.ok(before);
  process.kill(before, 'SIGKILL');
  await until('the worker restarted', 2 * 60_000, async () => {
    const pid = readState().pids?.worker;
    return pid !== before && (await threads()).length >= 2;
  });

  // 5. (manager) a builtin-market deal goes into the next sector; kill -9 of the sector-manager while it seals
  const market = await importFile('market.bin', 700, '--provider', miner, '--kind', 'market');
  assert.ok(market.deal.DealID > 0, JSON.stringify(market.deal));
  const marketSector = await until('the builtin deal assigned', 3 * 60_000, async () => {
    const d = await deal(market.deal.PieceCID);
    return d.State === 'sealing' && d.Sector;
  });
  await sleep(3000);
  assert.equal((await deal(market.deal.PieceCID)).State, 'sealing', 'not sealed yet when the manager is killed');
  const managerBefore = readState().pids?.manager;
  assert.ok(managerBefore);
  process.kill(managerBefore, 'SIGKILL');
  await until('the manager restarted', 2 * 60_000, async () => readState().pids?.manager !== managerBefore);
  // and of the devnet (chain, messager and market at once) while that sector still seals: the market is
  // unreachable for a while, then everything goes on from what was stored
  await sleep(2000);
  assert.equal((await deal(market.deal.PieceCID)).State, 'sealing', 'not sealed yet when the devnet is killed');
  const devnetBefore = readState().pids?.devnet;
  assert.ok(devnetBefore);
  process.kill(devnetBefore, 'SIGKILL');
  await until(
    'the devnet restarted',
    2 * 60_000,
    async () => readState().pids?.devnet !== devnetBefore && (await head()) > 0,
  );

  const active = await until('the fixed deal active', 5 * 60_000, async () => {
    const d = await deal(bad.deal.PieceCID);
    assert.ok(!/failed|expired|slashed/.test(d.State), `${d.State}: ${d.Reason}`);
    return d.State === 'active' ? d : undefined;
  });
  assert.equal(active.Sector, goodSector, 'active in the sector the market recorded before the kill');
  assert.ok(active.ActivationEpoch);
  // assigned once after the fix: only the aborted sectors and the good one ever took it
  assert.deepEqual(
    acquiredIn(`a${bad.deal.AllocationID}`).filter((n) => !abortedSectors().includes(n)),
    [goodSector],
  );
  // the chain claimed the allocation once, for our miner and that sector
  const claims = await devnet<Record<string, { Provider: number; Sector: number; Data: { '/': string } }>>(
    'Filecoin.StateGetClaims',
    [miner, null],
  );
  const mine = Object.values(claims).filter((c) => c.Data['/'] === bad.deal.PieceCID);
  assert.equal(mine.length, 1, JSON.stringify(claims));
  assert.equal(mine[0]!.Sector, goodSector);

  // the builtin deal: active in its sector, assigned once, activated once in the market actor for that sector
  const marketActive = await until('the builtin deal active', 5 * 60_000, async () => {
    const d = await deal(market.deal.PieceCID);
    assert.ok(!/failed|expired|slashed/.test(d.State), `${d.State}: ${d.Reason}`);
    return d.State === 'active' ? d : undefined;
  });
  assert.equal(marketActive.Sector, marketSector, 'active in the sector the market recorded before the kill');
  assert.deepEqual(acquiredIn(`d${market.deal.DealID}`), [marketSector]);
  const onChain = await devnet<{ State: { SectorNumber: number; SectorStartEpoch: number; SlashEpoch: number } }>(
    'Filecoin.StateMarketStorageDeal',
    [market.deal.DealID, null],
  );
  assert.equal(onChain.State.SectorNumber, marketSector);
  assert.equal(onChain.State.SectorStartEpoch, marketActive.ActivationEpoch);
  assert.equal(onChain.State.SlashEpoch, -1);

  // 2. (cont.) the late deal: its sector aborted (the PreCommit is refused), the deal expired and never sealed
  const expired = await until('the late deal expired', 2 * 60_000, async () => {
    const d = await deal(late.deal.PieceCID);
    assert.notEqual(d.State, 'active', 'a deal past its start epoch was sealed');
    return d.State === 'expired' ? d : undefined;
  });
  assert.equal(expired.ActivationEpoch, null);
  assert.ok(expired.Reason, 'the market says why');
  const lateAbort = await until('the late sector aborted', 60_000, async () =>
    log('manager')
      .split('\n')
      .find((l) => /sector aborted/.test(l) && l.includes(`"s-${miner}-${lateSector}"`)),
  );
  // refused at PreCommit: the deal starts before the sector could be proven
  assert.match(lateAbort, /rejected: [^\n]*starts at epoch \d+, before this sector could be proven/);
  process.stdout.write(`# late deal: ${expired.Reason}; its sector: ${lateAbort.slice(lateAbort.indexOf('{'))}\n`);
  assert.deepEqual(acquiredIn(`a${late.deal.AllocationID}`), [lateSector], 'the late deal was assigned once');
  const claimsAfter = await devnet<Record<string, { Data: { '/': string } }>>('Filecoin.StateGetClaims', [miner, null]);
  assert.ok(!Object.values(claimsAfter).some((c) => c.Data['/'] === late.deal.PieceCID));

  // 3. (cont.) the other miner's deal: still waiting, never in one of our sectors
  const f = await deal(foreign.deal.PieceCID);
  assert.equal(f.State, 'waiting');
  assert.equal(f.Sector, null);
  assert.deepEqual(acquiredIn(`a${foreign.deal.AllocationID}`), []);
  process.stdout.write(`# deals faults e2e: ${Math.round((Date.now() - t0) / 1000)} s in all\n`);

  cluster.child.kill('SIGINT');
  assert.equal(await cluster.exited, 0, tail());
});
