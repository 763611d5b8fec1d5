import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DealFlow, parseClientList, payloadSize } from './deal-flow.js';

test('deal flow: payload sizes fit one sector and span several piece sizes', () => {
  const unpadded = 2032;
  const sizes = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const s = payloadSize(2048, i / 100);
    assert.ok(s >= 1 && s <= unpadded, `${s}`);
    // the padded piece: the next power of two of the fr32-padded size, at least 128
    let piece = 128;
    while ((piece / 128) * 127 < s) piece *= 2;
    sizes.add(piece);
  }
  assert.ok(sizes.size >= 4, `piece sizes ${[...sizes]}`);
});

test('deal flow: keeps N deals flowing, imports the next when one is active, cycles the kinds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'deal-flow-'));
  const calls: string[][] = [];
  const states = new Map<string, string>();
  let k = 0;
  const events: string[] = [];
  const flow = new DealFlow({
    count: 2,
    sectorSize: 2048,
    provider: () => 't01000',
    dir,
    random: () => 0.5,
    event: (l) => events.push(l),
    client: async (args) => {
      calls.push(args);
      if (args[0] === 'list') {
        return JSON.stringify([...states].map(([pieceCid, state]) => ({ pieceCid, state, sector: 3 })));
      }
      const piece = `baga6ea4seaq${'a'.repeat(10)}${'bcdefghijk'[k++]}`;
      states.set(piece, 'published');
      return `imported ${args[1]}\npiece CID: ${piece}\n`;
    },
  });
  await flow.tick();
  assert.equal(flow.imported, 2);
  assert.deepEqual(
    calls.map((c) => c.slice(4)),
    [
      ['--kind', 'ddo', '--verified'],
      ['--kind', 'market'],
    ],
  );
  assert.ok(statSync(calls[0]![1]!).size > 0);
  await flow.tick();
  assert.equal(flow.imported, 2, 'nothing active yet: nothing more imported');
  states.set([...states.keys()][0]!, 'active');
  await flow.tick();
  assert.equal(flow.activated, 1);
  assert.equal(flow.imported, 3);
  assert.deepEqual(calls.at(-1)!.slice(4), ['--kind', 'market', '--verified']);
  assert.ok(events.some((e) => /active in sector 3/.test(e)));
});

test('deal flow: a failing client is said in the view, not thrown', async () => {
  const events: string[] = [];
  const flow = new DealFlow({
    count: 1,
    sectorSize: 2048,
    provider: () => 't01000',
    dir: mkdtempSync(join(tmpdir(), 'deal-flow-')),
    event: (l) => events.push(l),
    client: async () => {
      throw new Error('client import: provider t01000 not found');
    },
  });
  await flow.tick();
  assert.match(events[0]!, /deal flow: client import: provider t01000 not found/);
});

test('deal flow: client list JSON in either field spelling', () => {
  assert.deepEqual(parseClientList('[{"PieceCID":"bagaX","State":"Active","Sector":4}]'), [
    { piece: 'bagaX', state: 'Active', sector: 4 },
  ]);
  assert.deepEqual(parseClientList('{"deals":[{"piece":"bagaY","state":"published"}]}'), [
    { piece: 'bagaY', state: 'published' },
  ]);
});
