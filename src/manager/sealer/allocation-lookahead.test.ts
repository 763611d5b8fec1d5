import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChainAPI } from '../chain.js';
import { makeHarness } from '../harness.test-util.js';
import { FakeChain } from '../testkit.js';
import { ALLOCATED_LOOKAHEAD } from './allocation.js';

/** A FakeChain that counts StateMinerSectorAllocated lookups and can fail the next ones. */
class CountingChain extends FakeChain {
  lookups: number[] = [];
  failNextLookups = 0;
  override api(): ChainAPI {
    const api = super.api();
    return {
      ...api,
      StateMinerSectorAllocated: async (a, n, tsk) => {
        this.lookups.push(n);
        if (this.failNextLookups > 0) {
          this.failNextLookups--;
          throw new Error('chain node unreachable');
        }
        return api.StateMinerSectorAllocated(a, n, tsk);
      },
    };
  }
}

test('AllocateSector: one burst of on-chain lookups per head, numbers allocated on chain still skipped', async () => {
  const chain = new CountingChain();
  const h = makeHarness({ chain });
  const alloc = async () =>
    (await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!.ID.Number;
  assert.deepEqual([await alloc(), await alloc(), await alloc()], [1, 2, 3]);
  // numbers 1..16 asked with the first, then one more ahead with each (not waited for): none asked twice
  assert.equal(chain.lookups.length, ALLOCATED_LOOKAHEAD + 2);
  assert.equal(new Set(chain.lookups).size, chain.lookups.length, 'each number asked once at this head');
  // a new head: the answers at the old one are not used; a number allocated on chain meanwhile is skipped
  chain.miners.get(1000)!.allocated.add(5);
  chain.height++;
  assert.equal(await alloc(), 4);
  assert.equal(chain.lookups.length, 2 * ALLOCATED_LOOKAHEAD + 2, 'the numbers ahead asked again at the new head');
  assert.equal(await alloc(), 6, '5 is allocated on chain');
  h.commit.stop();
});

test('AllocateSector: a failed on-chain lookup fails that call and is asked again by the next', async () => {
  const chain = new CountingChain();
  const h = makeHarness({ chain });
  const alloc = () => h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  chain.failNextLookups = 1;
  await assert.rejects(alloc(), /chain node unreachable/);
  assert.equal((await alloc())!.ID.Number, 1);
  assert.equal(chain.lookups.filter((n) => n === 1).length, 2, 'number 1 asked again after the failure');
  h.commit.stop();
});
