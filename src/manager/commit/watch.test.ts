// A PreCommit stuck unsigned in the messager (a locked or absent wallet) is an ERROR with the reason and the fix,
// once a minute, and venus_commit_message_failures_total{reason="signing"}; a refused push is one too.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { SubmitResult } from '../../api/sealer.js';
import { setupLogging } from '../../common/log.js';
import { metrics, parseExposition } from '../../common/metrics.js';
import { makeHarness, preCommitInfoFor } from '../harness.test-util.js';

const lines: { level: string; module: string; msg: string; [k: string]: unknown }[] = [];
before(() =>
  setupLogging({
    levelSpec: 'info',
    format: 'json',
    dest: new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    }),
  }),
);
after(() => setupLogging({ levelSpec: 'info', format: 'text', dest: process.stderr }));

async function failures(kind: string, reason: string): Promise<number> {
  const s = parseExposition(await metrics().text()).find(
    (x) =>
      x.name === 'venus_commit_message_failures_total' &&
      x.labels.kind === kind &&
      x.labels.reason === reason &&
      x.labels.miner === '1000',
  );
  return s?.value ?? 0;
}

async function preCommit(h: ReturnType<typeof makeHarness>) {
  const sector = (await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
  const ticket = await h.sealer.assignTicket(sector.ID);
  const r = await h.sealer.submitPreCommit(sector, preCommitInfoFor(sector.ID, ticket), false);
  assert.equal(r.Res, SubmitResult.Accepted);
  await h.commit.idle();
  return sector;
}

test('a PreCommit waiting unsigned (locked wallet): ERROR with the fix once a minute, metric, cleared when signed', async () => {
  const h = makeHarness();
  const before = await failures('pre', 'signing');
  lines.length = 0;
  h.chain.unsignable = 'wallet not found';
  await preCommit(h);
  const id = h.chain.pushed[0]!;
  await h.chain.mine();
  await h.commit.checkMessages();
  await h.commit.checkMessages();
  await h.commit.messageState(id); // a worker's poll
  const e = lines.filter((l) => l.level === 'error' && /PreCommit message waits unsigned/.test(l.msg));
  assert.equal(e.length, 1, 'said once, not on every check');
  assert.equal(e[0]!.reason, 'signing');
  assert.equal(e[0]!.err, 'wallet not found');
  assert.match(String(e[0]!.fix), /venus-wallet unlock/);
  assert.equal((await failures('pre', 'signing')) - before, 1, 'counted once per message');
  h.chain.unsignable = undefined;
  await h.chain.mine();
  await h.commit.checkMessages();
  assert.equal(h.chain.records.get(id)!.Receipt?.ExitCode, 0, 'landed once the wallet signed');
  h.commit.stop();
});

test('a push the messager refuses: ERROR naming [Messager], counted as push', async () => {
  const h = makeHarness();
  const before = await failures('pre', 'push');
  lines.length = 0;
  h.chain.pushError = new Error('token signature does not match');
  await preCommit(h);
  const e = lines.filter((l) => l.level === 'error' && /push message failed/.test(l.msg));
  assert.equal(e.length, 1);
  assert.match(String(e[0]!.fix), /\[Messager\] Api and Token/);
  assert.equal((await failures('pre', 'push')) - before, 1);
  h.commit.stop();
});
