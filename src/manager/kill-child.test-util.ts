/**
 * Child process of db.test.ts' kill -9 test: allocates sectors as fast as it can, for four seal stores in turn
 * (AllocateSectorSpec.Worker), assigns each a ticket and prints its number and ticket epoch (= what a worker
 * would have been told and saved), until it is killed.
 */
import { setupLogging } from '../common/log.js';
import { makeHarness } from './harness.test-util.js';

setupLogging({ levelSpec: 'silent' });
const dir = process.argv[2]!;
const h = makeHarness({
  dir,
  cfgText: `[[SectorManager.Miners]]
ID = 1000
MaxNumber = 1000000
`,
});
for (let i = 0; ; i++) {
  const Worker = { Instance: 'w', Location: `/seal/${i % 4}` };
  const s = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null, Worker });
  const t = await h.sealer.assignTicket(s!.ID);
  process.stdout.write(`${s!.ID.Number} ${t.Epoch}\n`);
}
