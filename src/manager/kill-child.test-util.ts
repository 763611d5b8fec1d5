/**
 * Child process of db.test.ts' kill -9 test: allocates sectors as fast as it can and prints each number after
 * AllocateSector returned (= what a worker would have been told), until it is killed.
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
for (;;) {
  const s = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  const t = await h.sealer.assignTicket(s!.ID);
  process.stdout.write(`${s!.ID.Number} ${t.Epoch}\n`);
}
