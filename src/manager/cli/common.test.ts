// withManager tells "the sector-manager cannot be reached" from "the sector-manager answered with an error" by the
// error's class (RpcConnectionError from the RPC client), never by its text: a daemon whose own chain node is down
// answers errors that mention ECONNREFUSED, and those must reach the operator as the daemon's answer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { RpcConnectionError, RpcError } from '../../rpc/index.js';
import { withManager } from './common.js';

const home = mkdtempSync(join(tmpdir(), 'vsm-cli-common-'));
after(() => rmSync(home, { recursive: true, force: true }));

function command(listen: string): Command {
  const cmd = new Command().option('--home <dir>').option('--listen <addr>');
  cmd.parse(['--home', home, '--listen', listen], { from: 'user' });
  return cmd;
}

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

test("the daemon's own error that mentions ECONNREFUSED is its answer, not a connection failure", async () => {
  const message = 'chain: fetch failed: connect ECONNREFUSED 127.0.0.1:3453';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: 1, message } }));
    });
  });
  const listen = await listening(server);
  try {
    await assert.rejects(
      withManager(command(listen), (api) => api.Version()),
      (err: unknown) => {
        assert.ok(!(err instanceof UserError), `reported as unreachable: ${(err as Error).message}`);
        assert.ok(err instanceof RpcError && !(err instanceof RpcConnectionError));
        assert.equal(err.message, message);
        return true;
      },
    );
  } finally {
    await closed(server);
  }
});

test('nothing listening: a UserError naming the address and asking whether the daemon runs', async () => {
  const server = createServer();
  const listen = await listening(server);
  await closed(server);
  await assert.rejects(
    withManager(command(listen), (api) => api.Version()),
    (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.match(
        err.message,
        new RegExp(`cannot reach the sector-manager at ${listen}: is \`daemon run\` running\\?`),
      );
      assert.match(err.message, /ECONNREFUSED/);
      return true;
    },
  );
});

test('a connection the daemon drops mid-call is a connection failure too (whatever the system error says)', async () => {
  const server = createServer((req) => req.socket.destroy());
  const listen = await listening(server);
  try {
    await assert.rejects(
      withManager(command(listen), (api) => api.Version()),
      (err: unknown) => {
        assert.ok(err instanceof UserError, String(err));
        assert.match(err.message, new RegExp(`cannot reach the sector-manager at ${listen}`));
        return true;
      },
    );
  } finally {
    await closed(server);
  }
});
