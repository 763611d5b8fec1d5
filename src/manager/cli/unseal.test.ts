import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { ManagerAPI } from '../../api/sealer.js';
import { UserError } from '../../common/cli.js';
import { RpcServer } from '../../rpc/index.js';
import { registerManagerCommands } from '../cli.js';
import { type SealerOptions, SealerService } from '../sealer.js';
import { addSealedSector, MINER, makeTasks, pieceCid, tempDb } from '../unseal/fixture.test-util.js';
import { io, parseUnsealArgs } from './unseal.js';

test('unseal: arguments are checked before anything is sent', () => {
  const cid = pieceCid();
  const ok = parseUnsealArgs(cid, { dest: 'file:///data/out.car' });
  assert.deepEqual(ok, { pieceCid: cid, dest: 'file:///data/out.car', wait: false, timeoutMs: 3600_000 });
  assert.deepEqual(
    parseUnsealArgs(cid, { dest: `market://pieces/${cid}`, miner: 't01000', sector: '3', wait: true, timeout: '5m' }),
    {
      pieceCid: cid,
      dest: `market://pieces/${cid}`,
      sid: { Miner: 1000, Number: 3 },
      wait: true,
      timeoutMs: 300_000,
    },
  );
  const bad: [string, Parameters<typeof parseUnsealArgs>[1], RegExp][] = [
    ['bafkqaaa', { dest: 'file:///x' }, /is not a piece CID/],
    [cid, {}, /--dest is required/],
    [cid, { dest: '/tmp/out' }, /give a URL; a file on the worker's machine is file:\/\/\/tmp\/out/],
    [cid, { dest: './out' }, /give a URL/],
    [cid, { dest: 'ftp://h/x' }, /--dest: .*unsupported scheme "ftp"/],
    [cid, { dest: 'market://store/x?token=abc' }, /--dest: .*adds the market's address itself/],
    [cid, { dest: 'file:///x', miner: '1000' }, /--miner and --sector go together/],
    [cid, { dest: 'file:///x', sector: '3' }, /--miner and --sector go together/],
    [cid, { dest: 'file:///x', miner: 'abc', sector: '3' }, /"abc" is not a miner id/],
    [cid, { dest: 'file:///x', miner: '1000', sector: '-1' }, /"-1" is not a sector number/],
    [cid, { dest: 'file:///x', timeout: 'soon' }, /--timeout/],
  ];
  for (const [p, o, re] of bad) {
    assert.throws(
      () => parseUnsealArgs(p, o),
      (e: Error) => e instanceof UserError && re.test(e.message),
      `${p} ${JSON.stringify(o)}`,
    );
  }
});

/** Runs `venus-sector-manager … util sealer sectors ARGS` against `port`; returns what it printed. */
async function run(home: string, port: number, args: string[]): Promise<string> {
  const program = new Command('venus-sector-manager').option('--home <dir>').exitOverride();
  registerManagerCommands(program);
  let text = '';
  const prev = io.out;
  io.out = (s: string) => {
    text += s;
    return true;
  };
  try {
    await program.parseAsync(['--home', home, 'util', 'sealer', 'sectors', ...args, '--listen', `127.0.0.1:${port}`], {
      from: 'user',
    });
  } finally {
    io.out = prev;
  }
  return text;
}

test('unseal: finds the sector holding the piece, schedules the task, --wait prints the outcome', async () => {
  const { dir, db } = tempDb();
  const { a, b, sid } = addSealedSector(db, 5);
  const tasks = makeTasks(db);
  const server = new RpcServer({ auth: null });
  server.register(ManagerAPI, new SealerService({ store: db } as unknown as SealerOptions, tasks).api());
  const { port } = await server.listen('127.0.0.1:0');
  const w = { admin: false, name: 'w1' };
  try {
    const printed = await run(dir, port, ['unseal', b, '--dest', 'file:///data/b.car']);
    assert.match(
      printed,
      new RegExp(
        `unseal task #1: piece ${b} of s-t01000-5 \\(offset 1016, 1016 bytes unpadded\\) → file:///data/b.car: set_up`,
      ),
    );
    assert.equal(tasks.recent(1)[0]!.source, 'cli');

    // --wait: a worker finishes it meanwhile
    const waiting = run(dir, port, [
      'unseal',
      a,
      '--dest',
      'http://127.0.0.1:9/a',
      '--miner',
      String(MINER),
      '--sector',
      '5',
      '--wait',
    ]);
    await new Promise((r) => setTimeout(r, 300));
    tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, w); // the older task (b) first
    tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, w);
    tasks.acquireDest(sid, a, w);
    tasks.achieve(sid, a, '', w);
    assert.match(await waiting, /: finished\n$/);

    // --wait on a failing unseal exits with the reason
    const failing = run(dir, port, ['unseal', b, '--dest', 'file:///data/b.car', '--wait']);
    await new Promise((r) => setTimeout(r, 300));
    tasks.achieve(sid, b, 'CommP mismatch', w);
    await assert.rejects(failing, (e: Error) => e instanceof UserError && /failed: CommP mismatch/.test(e.message));

    await assert.rejects(run(dir, port, ['unseal', pieceCid(), '--dest', 'file:///x']), /no sealed sector holds piece/);
    const list = await run(dir, port, ['unseal-list']);
    assert.match(list, /#2 +s-t01000-5 .* finished +cli +w1/);
    assert.match(list, /2 task\(s\)/);
  } finally {
    await server.close();
  }
});
