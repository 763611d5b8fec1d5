import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { classifyPgError } from './pg-errors.js';
import { DatabaseError, DatabaseUnavailable, statementError } from './postgres.js';

const idle = { connecting: false, connectionLost: false };

function serverError(code: string, message = 'server says no'): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error');
  e.code = code;
  return e;
}

function systemError(code: string, syscall: string, errno: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno });
}

test('server errors: the SQLSTATE says whether the database is gone', () => {
  assert.deepEqual(classifyPgError(serverError('23505'), idle), { code: '23505', lost: false });
  assert.deepEqual(classifyPgError(serverError('42703'), idle), { code: '42703', lost: false });
  for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300', '28P01', '3D000'])
    assert.deepEqual(classifyPgError(serverError(code), idle), { code, lost: true }, code);
  // a statement timeout cancels the statement, not the database
  assert.deepEqual(classifyPgError(serverError('57014'), idle), { code: '57014', lost: false });
});

test('socket and DNS errors (Node system errors) are the database lost, by their code and errno', () => {
  for (const [code, syscall, errno] of [
    ['ECONNREFUSED', 'connect', -111],
    ['ECONNRESET', 'read', -104],
    ['ETIMEDOUT', 'connect', -110],
    ['EPIPE', 'write', -32],
    ['ENOTFOUND', 'getaddrinfo', -3008],
    ['EAI_AGAIN', 'getaddrinfo', -3001],
  ] as const) {
    assert.deepEqual(classifyPgError(systemError(code, syscall, errno), idle), { code, lost: true }, code);
  }
});

test("pg's code-less errors are classified by where they arose, whatever their words", () => {
  // the words pg uses today, and words it might use tomorrow: only the context decides
  for (const message of [
    'Connection terminated unexpectedly',
    'timeout exceeded when trying to connect',
    'Connection terminated due to connection timeout',
    'the socket went away (reworded)',
  ]) {
    const e = new Error(message);
    assert.deepEqual(classifyPgError(e, { connecting: true, connectionLost: false }), { code: undefined, lost: true });
    assert.deepEqual(classifyPgError(e, { connecting: false, connectionLost: true }), { code: undefined, lost: true });
    // the same words on a healthy connection are the statement's own error
    assert.deepEqual(classifyPgError(e, idle), { code: undefined, lost: false }, message);
  }
  // a statement's own failure that happens to mention a timeout or a connection is not a lost database
  const own = new RangeError('number 2^60 from the database is beyond what JavaScript holds (Connection timeout)');
  assert.equal(classifyPgError(own, idle).lost, false);
});

test('the main thread throws DatabaseUnavailable for a lost database, DatabaseError for a statement', () => {
  const gone = statementError('127.0.0.1:5432/venus', {
    message: 'reworded: the link dropped',
    code: undefined,
    lost: true,
  });
  assert.ok(gone instanceof DatabaseUnavailable);
  assert.equal(gone.message, 'PostgreSQL 127.0.0.1:5432/venus: reworded: the link dropped');
  const admin = statementError('h:1/d', { message: 'terminating connection', code: '57P01', lost: true });
  assert.ok(admin instanceof DatabaseUnavailable);
  assert.equal(admin.code, '57P01');
  // words that once meant "lost" to a text match no longer decide anything
  const own = statementError('h:1/d', { message: 'Connection timeout in the data', code: undefined, lost: false });
  assert.ok(own instanceof DatabaseError && !(own instanceof DatabaseUnavailable));
  const dup = statementError('h:1/d', { message: 'duplicate key', code: '23505', lost: false });
  assert.ok(dup instanceof DatabaseError);
  assert.equal(dup.code, '23505');
});
