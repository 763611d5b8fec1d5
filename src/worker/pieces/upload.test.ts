/** Where an unsealed piece goes: damocles' market:// mapping, atomic file://, http(s):// PUT, failure levels. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Failure } from '../sealing/failure.js';
import { marketTarget, safeDest, uploadPiece } from './upload.js';

const CID = 'baga6ea4seaqao7s73y24kcutaosvacpdjgfe5pw76ooefnyqw4ynr3d2y6x2mpq';
let dir: string;
let file: string;
const body = Buffer.from('unsealed piece bytes\n'.repeat(50));
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upload-'));
  file = join(dir, 'piece');
  await writeFile(file, body);
});
after(() => rm(dir, { recursive: true, force: true }));

async function serve(h: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: { url: string; auth?: string; len?: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        url: req.url!,
        auth: req.headers.authorization,
        len: req.headers['content-length'],
        body: Buffer.concat(chunks),
      });
      h(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const fails = (lv: string, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof Failure, String(e));
  assert.equal(e.level, lv, e.message);
  assert.match(e.message, re);
  assert.doesNotMatch(e.message, /secret/, 'no token in the message');
  return true;
};

describe('unsealed piece upload', () => {
  it('maps market:// as damocles does', () => {
    const t = marketTarget(new URL(`market://store1/${CID}?host=m.example:41235&scheme=https&token=secret`), CID, 508);
    assert.equal(t.url.href, `https://m.example:41235/resource?resource-id=${CID}&size=508&store=store1`);
    assert.equal(t.token, 'secret');
    assert.equal(
      marketTarget(new URL('market:///?host=h:1&scheme=http'), CID, 1).url.search,
      `?resource-id=${CID}&size=1`,
    );
    assert.throws(
      () => marketTarget(new URL(`market://s/${CID}`), CID, 1),
      fails('permanent', /needs the market's host and scheme/),
    );
    assert.throws(
      () => marketTarget(new URL(`market://s/other?host=h&scheme=http`), CID, 1),
      fails('permanent', /names piece other/),
    );
    assert.throws(
      () => marketTarget(new URL(`market://s/${CID}?host=h&scheme=ftp`), CID, 1),
      fails('permanent', /not http/),
    );
    assert.equal(safeDest('market://s/x?host=h&scheme=http&token=secret'), 'market://s/x');
  });

  it('PUTs to the market with its token and to http(s) with the piece token; 5xx is temporary, 4xx permanent', async () => {
    let status = 200;
    const s = await serve((_req, res) => res.writeHead(status).end(status === 200 ? '' : 'nope'));
    try {
      const o = { cid: CID, pieceToken: 'ptok' };
      await uploadPiece(`market://st/${CID}?host=${s.host}&scheme=http&token=mtok`, file, o);
      await uploadPiece(`http://${s.host}/up?x=1`, file, o);
      await uploadPiece(`market://st/${CID}?host=${s.host}&scheme=http`, file, o);
      assert.deepEqual(
        s.seen.map((r) => [r.url, r.auth, r.len]),
        [
          [`/resource?resource-id=${CID}&size=${body.length}&store=st`, 'Bearer mtok', String(body.length)],
          ['/up?x=1', 'Bearer ptok', String(body.length)],
          [`/resource?resource-id=${CID}&size=${body.length}&store=st`, 'Bearer ptok', String(body.length)],
        ],
      );
      for (const r of s.seen) assert.deepEqual(r.body, body);
      status = 503;
      await assert.rejects(
        uploadPiece(`http://${s.host}/up?token=secret`, file, o),
        fails('temporary', /HTTP 503: nope/),
      );
      status = 403;
      await assert.rejects(
        uploadPiece(`market://st/${CID}?host=${s.host}&scheme=http&token=secret`, file, o),
        fails('permanent', /HTTP 403: nope \(check the token\)/),
      );
    } finally {
      await s.close();
    }
    await assert.rejects(
      uploadPiece(`http://${s.host}/up`, file, { cid: CID, pieceToken: null }),
      fails('temporary', /ECONNREFUSED|ECONNRESET|socket hang up/),
    );
  });

  it('writes file:// atomically, creating the directory', async () => {
    const out = join(dir, 'a', 'b', 'out.bin');
    assert.equal(await uploadPiece(`file://${out}`, file, { cid: CID, pieceToken: null }), out);
    assert.deepEqual(await readFile(out), body);
    assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['out.bin'], 'no temporary file left');
  });

  it('refuses what it cannot use', async () => {
    await assert.rejects(
      uploadPiece('store://s/x', file, { cid: CID, pieceToken: null }),
      fails('permanent', /scheme store is not supported/),
    );
    await assert.rejects(
      uploadPiece('not a url', file, { cid: CID, pieceToken: null }),
      fails('permanent', /is not a URL/),
    );
  });
});
