// The supervisor against small fake programs: ready by log line or probe, death reported with the log tail,
// readiness timeouts, "not implemented yet" answers, and Ctrl-C stopping every child in reverse order.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { logTail } from './process-log.js';
import { ProcessError } from './process-spec.js';
import { httpReady } from './readiness.js';
import { handleSignals, Supervisor } from './supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'supervisor-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake daemon: logs, says "ready" after READY_MS, records SIGTERM in EVENTS, maybe crashes after CRASH_MS. */
const DAEMON = join(dir, 'daemon.mjs');
writeFileSync(
  DAEMON,
  `import { appendFileSync } from 'node:fs';
const name = process.argv[2];
const ev = (s) => process.env.EVENTS && appendFileSync(process.env.EVENTS, s + '\\n');
console.log(name + ' starting');
console.error(name + ' some stderr line');
ev('start ' + name);
setTimeout(() => console.log(name + ' daemon running'), Number(process.env.READY_MS ?? 50));
if (process.env.CRASH_MS) setTimeout(() => { console.error(name + ' panic: disk on fire'); process.exit(3); }, Number(process.env.CRASH_MS));
process.on('SIGTERM', () => { ev('stop ' + name); console.log(name + ' stopping'); setTimeout(() => process.exit(0), 30); });
if (process.env.IGNORE_TERM) process.removeAllListeners('SIGTERM'), process.on('SIGTERM', () => ev('ignored ' + name));
setInterval(() => {}, 1000);
`,
);

const sup = () => new Supervisor();
const node = process.execPath;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('supervisor', () => {
  test('a daemon ready by log line; stopAll stops every daemon in reverse start order', async () => {
    const s = sup();
    const events = join(dir, 'events-order');
    const env = { ...process.env, EVENTS: events };
    const procs = [];
    for (const name of ['devnet', 'wallet', 'manager']) {
      procs.push(
        await s.start({
          name,
          command: node,
          args: [DAEMON, name],
          env,
          logFile: join(dir, `${name}.log`),
          ready: { log: /daemon running/ },
        }),
      );
    }
    assert.equal(s.processes().length, 3);
    assert.equal(
      await s.waitForLog(procs[1]!, /wallet daemon running/, 1000, 'the running line'),
      'wallet daemon running',
    );
    const missing = await s.waitForLog(procs[1]!, /connect to server/, 300, 'gateway registration').catch((e) => e);
    assert.ok(missing instanceof ProcessError);
    assert.match(missing.message, /^wallet: no gateway registration within 0\.3 s/);
    await s.stopAll();
    assert.equal(s.processes().length, 0);
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    assert.deepEqual(lines, [
      'start devnet',
      'start wallet',
      'start manager',
      'stop manager',
      'stop wallet',
      'stop devnet',
    ]);
    for (const p of procs) assert.equal(alive(p.pid), false);
    const log = readFileSync(join(dir, 'wallet.log'), 'utf8');
    assert.match(log, /^=== .* \$ .*daemon\.mjs wallet\n/);
    assert.match(log, /wallet some stderr line/);
    assert.match(log, /stopped by the cluster runner/);
  });

  test('a daemon that dies before it is ready is reported with the tail of its log', async () => {
    const s = sup();
    const logFile = join(dir, 'crash-early.log');
    writeFileSync(logFile, 'an old run that must not be quoted\n');
    const err = await s
      .start({
        name: 'worker',
        command: node,
        args: [DAEMON, 'worker'],
        display: 'venus-worker daemon --config x.toml',
        env: { ...process.env, READY_MS: '100000', CRASH_MS: '50' },
        logFile,
        ready: { log: /daemon running/ },
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ProcessError, String(err));
    assert.equal(err.kind, 'exited');
    assert.equal(err.exitCode, 3);
    assert.match(
      err.message,
      /^worker \(venus-worker daemon --config x\.toml\) exited with code 3 before it was ready/,
    );
    assert.match(err.message, /\| worker panic: disk on fire/);
    assert.doesNotMatch(err.message, /old run/);
    assert.equal(s.processes().length, 0);
  });

  test('a running daemon that dies later is reported as a failure', async () => {
    const s = sup();
    const events: string[] = [];
    s.on('failure', (e) => events.push(e.process));
    const p = await s.start({
      name: 'manager',
      command: node,
      args: [DAEMON, 'manager'],
      env: { ...process.env, READY_MS: '10', CRASH_MS: '300' },
      logFile: join(dir, 'crash-late.log'),
      ready: { log: /daemon running/ },
    });
    const err = await s.failed();
    assert.equal(err.process, 'manager');
    assert.match(err.message, /exited with code 3 unexpectedly/);
    assert.match(err.message, /manager panic: disk on fire/);
    assert.deepEqual(events, ['manager']);
    assert.equal(alive(p.pid), false);
    await s.stopAll();
  });

  test('readiness timeout: a clear error naming what was awaited, and the daemon is stopped', async () => {
    const s = sup();
    const err = await s
      .start({
        name: 'devnet',
        command: node,
        args: [DAEMON, 'devnet'],
        env: { ...process.env, READY_MS: '100000' },
        logFile: join(dir, 'slow.log'),
        ready: httpReady('http://127.0.0.1:9/rpc/v0'),
        // long enough for the fake daemon's first line to be written on a loaded machine (its tail is checked)
        readyTimeoutMs: 3000,
      })
      .catch((e: unknown) => e);
    assert.ok(err instanceof ProcessError, String(err));
    assert.equal(err.kind, 'not-ready');
    assert.match(
      err.message,
      /devnet .* was not ready within 3 s \(waited for an HTTP answer from http:\/\/127\.0\.0\.1:9\/rpc\/v0\)/,
    );
    assert.match(err.message, /devnet starting/);
    assert.equal(s.processes().length, 0);
    assert.match(readFileSync(join(dir, 'slow.log'), 'utf8'), /devnet stopping/);
  });

  test('readiness by probe: an HTTP server that comes up later', async () => {
    const s = sup();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const script = join(dir, 'http.mjs');
    writeFileSync(
      script,
      `import { createServer } from 'node:http';
setTimeout(() => createServer((q, r) => { r.writeHead(401); r.end(); }).listen(${port}, '127.0.0.1'), 200);
process.on('SIGTERM', () => process.exit(0));`,
    );
    const p = await s.start({
      name: 'http',
      command: node,
      args: [script],
      logFile: join(dir, 'http.log'),
      ready: httpReady(`http://127.0.0.1:${port}/rpc/v0`),
    });
    assert.ok(alive(p.pid));
    await s.stopAll();
    assert.equal(alive(p.pid), false);
  });

  test('a daemon that ignores SIGTERM is killed after its stop timeout', async () => {
    const s = sup();
    const p = await s.start({
      name: 'stubborn',
      command: node,
      args: [DAEMON, 'stubborn'],
      env: { ...process.env, IGNORE_TERM: '1' },
      logFile: join(dir, 'stubborn.log'),
      ready: { log: /daemon running/ },
      stopTimeoutMs: 300,
    });
    const infos: string[] = [];
    s.on('info', (m) => infos.push(m));
    await s.stopAll();
    assert.equal(alive(p.pid), false);
    assert.ok(infos.some((m) => /did not stop within/.test(m)));
  });

  test('one-shot commands: stdout returned, failures and "not implemented yet" reported with output', async () => {
    const s = sup();
    const logFile = join(dir, 'cmds.log');
    const { stdout: out, output } = await s.run({
      name: 'wallet',
      command: node,
      args: ['-e', 'console.error("to stderr"); process.stdin.pipe(process.stdout)'],
      stdin: 'secret-ish input\n',
      logFile,
    });
    assert.equal(out, 'secret-ish input\n');
    assert.match(output, /to stderr/);

    const failed = await s
      .run({
        name: 'manager',
        command: node,
        args: ['-e', 'console.error("Error: --from: address not found"); process.exit(1)'],
        display: 'venus-sector-manager util miner create --from t3abc',
        logFile,
      })
      .catch((e: unknown) => e);
    assert.ok(failed instanceof ProcessError);
    assert.equal(failed.kind, 'failed');
    assert.match(failed.message, /^venus-sector-manager util miner create --from t3abc failed with exit code 1/);
    assert.match(failed.message, /\| Error: --from: address not found/);

    const pending = await s
      .run({
        name: 'devnet',
        command: node,
        args: ['-e', 'console.error("Error: venus-devnet init is not implemented yet in this build"); process.exit(2)'],
        display: 'venus-devnet --home x init',
        logFile,
      })
      .catch((e: unknown) => e);
    assert.ok(pending instanceof ProcessError);
    assert.equal(pending.kind, 'not-implemented');
    assert.match(
      pending.message,
      /^cannot go on: venus-devnet --home x init answers "venus-devnet init is not implemented yet in this build"/,
    );

    const slow = await s
      .run({ name: 'x', command: node, args: ['-e', 'setTimeout(() => {}, 60000)'], logFile, timeoutMs: 300 })
      .catch((e: unknown) => e);
    assert.ok(slow instanceof ProcessError);
    assert.match(slow.message, /did not finish within 0.3 s/);
  });

  test('Ctrl-C on a runner stops all its children in reverse order and the runner exits', async () => {
    const events = join(dir, 'events-sigint');
    const runner = join(dir, 'runner.mts');
    const supervisorPath = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
    writeFileSync(
      runner,
      `import { Supervisor, handleSignals } from ${JSON.stringify(supervisorPath)};
const s = new Supervisor();
handleSignals(s, () => { void s.stopAll().then(() => { console.log('all stopped'); process.exit(0); }); });
for (const name of ['a', 'b', 'c']) {
  const p = await s.start({ name, command: process.execPath, args: [${JSON.stringify(DAEMON)}, name],
    logFile: ${JSON.stringify(dir)} + '/sigint-' + name + '.log', ready: { log: /daemon running/ } });
  console.log('pid ' + p.pid);
}
console.log('all ready');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(node, ['--import', 'tsx', runner], {
      env: { ...process.env, EVENTS: events },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const t0 = Date.now();
    while (!out.includes('all ready')) {
      assert.ok(Date.now() - t0 < 20_000, `runner not ready: ${out}`);
      assert.equal(child.exitCode, null, `runner exited: ${out}`);
      await sleep(50);
    }
    const pids = [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 3);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 0);
    assert.match(out, /all stopped/);
    for (const pid of pids) assert.equal(alive(pid), false, `child ${pid} still alive`);
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    assert.deepEqual(lines.slice(3), ['stop c', 'stop b', 'stop a']);
  });

  test('a daemon killed with SIGKILL is started again, in its place in the stop order', async () => {
    const s = sup();
    const events = join(dir, 'events-restart');
    const env = { ...process.env, EVENTS: events };
    const restarted: number[] = [];
    s.on('restarted', (p) => restarted.push(p.pid));
    const spec = (name: string) => ({
      name,
      command: node,
      args: [DAEMON, name],
      env,
      logFile: join(dir, `restart-${name}.log`),
      ready: { log: /daemon running/ },
      restart: { backoffMs: 20 },
    });
    await s.start(spec('a'));
    const b = await s.start(spec('b'));
    await s.start(spec('c'));
    process.kill(b.pid, 'SIGKILL');
    for (let i = 0; i < 200 && restarted.length === 0; i++) await sleep(25);
    assert.equal(restarted.length, 1, 'b was restarted');
    assert.notEqual(restarted[0], b.pid);
    assert.deepEqual(
      s.processes().map((p) => p.spec.name),
      ['a', 'b', 'c'],
    );
    assert.match(
      readFileSync(join(dir, 'restart-b.log'), 'utf8'),
      /was killed by SIGKILL unexpectedly; restarting it in/,
    );
    await s.stopAll();
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    assert.deepEqual(lines.slice(-3), ['stop c', 'stop b', 'stop a']);
    assert.equal(alive(restarted[0]!), false);
  });

  test('a daemon that keeps dying stops the cluster, naming it, after its restarts are used up', async () => {
    const s = sup();
    const infos: string[] = [];
    s.on('info', (m) => infos.push(m));
    await s.start({
      name: 'worker',
      command: node,
      args: [DAEMON, 'worker'],
      // ready at once, dead 0.8 s later: readiness (polled every 150 ms) is seen before each death
      env: { ...process.env, READY_MS: '10', CRASH_MS: '800' },
      logFile: join(dir, 'keeps-dying.log'),
      ready: { log: /daemon running/ },
      restart: { maxRestarts: 2, backoffMs: 10, windowMs: 60_000 },
    });
    const err = await s.failed();
    assert.equal(err.process, 'worker');
    assert.match(
      err.message,
      /exited with code 3 (unexpectedly|before it was ready); it died 3 times within 60 s, so the cluster stops/,
    );
    assert.match(err.message, /worker panic: disk on fire/);
    assert.equal(infos.filter((m) => /restarting it in/.test(m)).length, 2);
    await s.stopAll();
    assert.equal(s.processes().length, 0);
  });

  test('two Ctrl-C within a second stop the children cleanly, and the runner exits once they have stopped', async () => {
    const events = join(dir, 'events-double');
    const runner = join(dir, 'runner-double.mts');
    const supervisorPath = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
    // the runner does not call process.exit: it must end by itself once every child has stopped
    writeFileSync(
      runner,
      `import { Supervisor, handleSignals } from ${JSON.stringify(supervisorPath)};
const s = new Supervisor();
let iv;
const unhook = handleSignals(s, () => { void s.stopAll().then(() => { console.log('all stopped'); clearInterval(iv); unhook(); }); });
for (const name of ['a', 'b']) {
  await s.start({ name, command: process.execPath, args: [${JSON.stringify(DAEMON)}, name],
    logFile: ${JSON.stringify(dir)} + '/double-' + name + '.log', ready: { log: /daemon running/ } });
}
console.log('all ready');
iv = setInterval(() => {}, 1000);
`,
    );
    const child = spawn(node, ['--import', 'tsx', runner], {
      env: { ...process.env, EVENTS: events },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const t0 = Date.now();
    while (!out.includes('all ready')) {
      assert.ok(Date.now() - t0 < 20_000, `runner not ready: ${out}`);
      assert.equal(child.exitCode, null, `runner exited: ${out}`);
      await sleep(50);
    }
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGINT');
    await sleep(50);
    child.kill('SIGINT'); // npm forwarding the terminal's Ctrl-C: the same stop, not a kill
    const stoppedAt = Date.now();
    const code = await Promise.race([exited, sleep(8000).then(() => 'lingering' as const)]);
    assert.notEqual(code, 'lingering', `the runner was still alive ${Date.now() - stoppedAt} ms after the stop`);
    assert.match(out, /all stopped/);
    const lines = readFileSync(events, 'utf8').trim().split('\n');
    assert.deepEqual(lines.slice(2), ['stop b', 'stop a'], 'each child got SIGTERM and stopped itself');
  });

  test('a duplicate Ctrl-C arriving after a fast stop finished is still swallowed (not the default kill)', async () => {
    const base = process.listenerCount('SIGINT');
    let stops = 0;
    const unhook = handleSignals(new Supervisor(), () => stops++, 300);
    process.emit('SIGINT', 'SIGINT');
    unhook(); // the stop ended within the grace period
    assert.equal(stops, 1);
    assert.ok(process.listenerCount('SIGINT') > base, 'a listener still catches the forwarded duplicate');
    await sleep(400);
    assert.equal(process.listenerCount('SIGINT'), base, 'and goes once the grace period is over');
    // no first signal: unhook leaves nothing behind
    handleSignals(new Supervisor(), () => stops++, 300)();
    assert.equal(process.listenerCount('SIGINT'), base);
  });

  test('logTail reads the last lines from an offset', () => {
    const f = join(dir, 'tail.log');
    writeFileSync(f, 'one\ntwo\n\nthree\r\nfour');
    assert.deepEqual(logTail(f, 0, 2), ['three', 'four']);
    assert.deepEqual(logTail(f, 4, 10), ['two', 'three', 'four']);
    assert.deepEqual(logTail(join(dir, 'absent.log')), []);
  });
});
