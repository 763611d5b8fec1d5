import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { logger, parseLevelSpec, setupLogging, toText } from './log.js';

function capture(): { out: Writable; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _e, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { out, lines };
}

test('level specs read like RUST_LOG: default plus module overrides', () => {
  const s = parseLevelSpec('warn,sealing=debug, rpc = trace');
  assert.equal(s.level, 'warn');
  assert.equal(s.modules.get('sealing'), 'debug');
  assert.equal(s.modules.get('rpc'), 'trace');
  assert.throws(() => parseLevelSpec('loud'), /unknown log level "loud"/);
});

test('text lines carry time, level, module, message and fields', () => {
  const line = toText(
    JSON.stringify({ time: '2021-09-28T08:51:03.850Z', level: 'info', module: 'wallet', msg: 'hi', a: 1 }),
  );
  assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.850[+-]\d{4}\tINFO \twallet\thi\t\{"a":1\}\n$/);
});

test('per-module levels apply to loggers made before setup, and secrets are redacted', () => {
  const early = logger('sealing.pc1');
  const { out, lines } = capture();
  setupLogging({ levelSpec: 'error,sealing=debug', format: 'json', dest: out });
  early.debug({ sector: 7 }, 'labeling');
  logger('rpc').info('dropped');
  logger('wallet').error({ password: 'hunter2' }, 'bad');
  assert.equal(lines.length, 2);
  const a = JSON.parse(lines[0]!);
  assert.equal(a.module, 'sealing.pc1');
  assert.equal(a.level, 'debug');
  assert.equal(a.sector, 7);
  assert.ok(!lines[1]!.includes('hunter2'));
  setupLogging({ levelSpec: 'info', format: 'text', dest: process.stderr });
});
