/**
 * persistFiles, the persist step the sealer and snapup plans share, on a step host of its own: the files reach the
 * store the manager reserved room in and are checked there; a short copy, a store this worker does not attach or
 * none writable is a permanent failure naming it; a temporary transfer failure stays temporary.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { StoreBasicInfo } from '../../../api/sealer.js';
import type { PersistStoreConfig } from '../../config.js';
import { fileInit } from '../../store.js';
import { Failure, temp } from '../failure.js';
import { StageLimits } from '../limits.js';
import { newSectorDoc } from '../sector.js';
import { quickSealing } from '../threads.test-util.js';
import type { StepHost, ThreadDeps } from './common.js';
import { persistFiles } from './persist.js';

const base = await mkdtemp(join(tmpdir(), 'persist-'));
after(() => rm(base, { recursive: true, force: true }));

type Route = { src: { uri: string }; dest: { uri: string } };
let n = 0;

/** A 2KiB sector with two files in its seal store, one persist store, and a transfer `copy` does. */
async function setup(o: { copy?: (r: Route) => Promise<void>; fail?: Error; stores?: PersistStoreConfig[] } = {}) {
  const dir = join(base, `t${n++}`);
  const remote = join(dir, 'remote');
  await fileInit([remote]);
  const files = [join(dir, 'seal', 'a'), join(dir, 'seal', 'b')];
  await mkdir(join(dir, 'seal'), { recursive: true });
  await writeFile(files[0]!, 'hello');
  await writeFile(files[1]!, 'sector');
  const reserved: StoreBasicInfo = { Name: 'remote-at-manager', Path: remote, Meta: null } as StoreBasicInfo;
  const deps = {
    manager: { StoreReserveSpace: async () => reserved },
    sealer: {
      run: async (_stage: string, task: { routes: Route[] }) => {
        if (o.fail) throw o.fail;
        for (const r of task.routes) {
          await mkdir(dirname(r.dest.uri), { recursive: true });
          await (o.copy ?? ((x: Route) => copyFile(x.src.uri, x.dest.uri)))(r);
        }
        return null;
      },
    },
    limits: new StageLimits(),
    persistStores: o.stores ?? [{ name: 'remote', location: remote, readonly: false }],
  } as unknown as ThreadDeps;
  const t = {
    index: 0,
    cfg: { location: join(dir, 'seal'), plan: 'sealer', sealing: quickSealing() },
    deps,
    store: { sector: () => ({ name: 's-t01000-1' }) },
    signal: new AbortController().signal,
    doc: null,
    lastError: null,
    setState: () => {},
    sleep: async () => {},
    waitFor: async () => {},
    sectorName: () => 's-t01000-1',
    finalize: async () => {},
  } as unknown as StepHost;
  const doc = newSectorDoc();
  doc.base = { allocated: { ID: { Miner: 1000, Number: 1 }, ProofType: 5 }, prover_id: [] };
  const out = [
    { from: files[0]!, to: 'sealed/s-t01000-1' },
    { from: files[1]!, to: 'cache/s-t01000-1/p_aux' },
  ];
  return { t, doc, remote, out };
}

describe('persistFiles', () => {
  it('copies each file to the reserved store, checks it there, and records the manager name for the store', async () => {
    const s = await setup();
    const ev = await persistFiles(s.t, s.doc, 'persist', s.out);
    assert.equal(ev.name, 'Persist');
    ev.apply!(s.doc);
    assert.equal(s.doc.phases.persist_instance, 'remote-at-manager');
    assert.equal(await readFile(join(s.remote, 'sealed/s-t01000-1'), 'utf8'), 'hello');
    assert.equal(await readFile(join(s.remote, 'cache/s-t01000-1/p_aux'), 'utf8'), 'sector');
  });

  it('a file that landed short is a permanent failure naming it, after `what`', async () => {
    const s = await setup({ copy: (r) => writeFile(r.dest.uri, 'abc') });
    const err = await persistFiles(s.t, s.doc, 'persist the update', s.out).catch((e: unknown) => e);
    assert.ok(err instanceof Failure);
    assert.equal(err.level, 'permanent');
    const dest = join(s.remote, 'sealed/s-t01000-1');
    assert.equal(err.message, `persist the update to "remote" (${s.remote}): ${dest} has 3 bytes, 5 expected`);
  });

  it('a temporary transfer failure stays temporary; any other is permanent', async () => {
    const busy = temp('transfer: processor busy');
    const s = await setup({ fail: busy });
    await assert.rejects(persistFiles(s.t, s.doc, 'persist', s.out), (e) => e === busy);
    const s2 = await setup({ fail: new Error('EIO') });
    await assert.rejects(persistFiles(s2.t, s2.doc, 'persist', s2.out), (e: Failure) => {
      assert.equal(e.level, 'permanent');
      assert.equal(e.message, `persist to "remote" (${s2.remote}): EIO`);
      return true;
    });
  });

  it('no writable store, or room reserved in a store this worker does not attach: permanent, naming it', async () => {
    const ro = await setup({ stores: [{ name: 'remote', location: '/nowhere', readonly: true }] });
    await assert.rejects(
      persistFiles(ro.t, ro.doc, 'persist', ro.out),
      /no writable persist store: configure \[remote\] path or \[\[attached\]\]/,
    );
    const other = await setup({ stores: [{ name: 'other', location: join(base, 'other'), readonly: false }] });
    await assert.rejects(
      persistFiles(other.t, other.doc, 'persist', other.out),
      /the manager reserved space in "remote-at-manager" \(.*remote\), which this worker does not attach/,
    );
  });
});
