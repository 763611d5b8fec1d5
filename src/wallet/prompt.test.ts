import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { readInput, readPassword } from './prompt.js';

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c;
  });
  return { out, text: () => text };
}

/** A fake terminal: isTTY, and raw mode switched on while a secret is read. */
function tty() {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: (m: boolean) => void; raw: boolean[] };
  input.isTTY = true;
  input.raw = [];
  input.setRawMode = (m: boolean) => {
    input.raw.push(m);
  };
  return input;
}

describe('prompt', () => {
  it('terminal: no echo but "*", backspace edits, raw mode on then off', async () => {
    const input = tty();
    const o = capture();
    const p = readPassword('Password:', { input, output: o.out });
    input.write('se');
    input.write('x\u007fcret\r');
    assert.equal(await p, 'secret');
    assert.equal(o.text(), 'Password:***\b \b****\n');
    assert.ok(!o.text().includes('secret'));
    assert.deepEqual(input.raw, [true, false]);
  });

  it('terminal: Ctrl-C interrupts with exit code 130; import input is not echoed at all', async () => {
    const input = tty();
    const o = capture();
    const p = readPassword('Password:', { input, output: o.out });
    input.write('ab\u0003');
    await assert.rejects(p, (e: Error & { exitCode?: number }) => e.message === 'interrupted' && e.exitCode === 130);
    const key = tty();
    const o2 = capture();
    const k = readInput('Enter private key: ', { input: key, output: o2.out });
    key.write('7b22\n');
    assert.equal(await k, '7b22');
    assert.equal(o2.text(), 'Enter private key: \n');
  });

  it('pipe: one line per question, across chunks, CRLF and a last line without newline', async () => {
    const input = new PassThrough();
    const o = capture();
    const io = { input, output: o.out };
    const first = readPassword('Password:', io);
    input.write('pass');
    input.write('word\r\nagain');
    assert.equal(await first, 'password');
    const second = readPassword('Enter Password again:', io);
    input.end();
    assert.equal(await second, 'again');
    await assert.rejects(readPassword('Password:', io), /no password given on stdin/);
  });

  it('pipe: import reads everything (a JSON key may span lines)', async () => {
    const input = new PassThrough();
    const o = capture();
    const p = readInput('Enter private key: ', { input, output: o.out });
    input.end('{\n  "Type": "bls",\n  "PrivateKey": "AA=="\n}\n');
    assert.equal(await p, '{\n  "Type": "bls",\n  "PrivateKey": "AA=="\n}\n');
    assert.equal(o.text(), '');
  });
});
