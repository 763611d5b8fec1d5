/**
 * Key tests.
 *
 * Vectors and their sources (copies under testdata/zondax, Zondax/filecoin-signing-tools @2b0f25f):
 * - test_vectors/wallet.json: secp256k1 private_key 8VcW07AD… → f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba;
 *   bls_private_key P2pSgkvs… → t3uxb75vcy3ilwbsaavao52v7gfnfh6aics4a7nj26dwpcmj4mxxgnzholkupuplafdrbd55frpoolfnm7wlda.
 * - test_vectors/bls_wallet.json: BLS private key (base64, little-endian) → public key ade28c91….
 * - examples/generated_test_cases.json: 10 BLS {sk (LE hex), pk} pairs, each with its t3 From address.
 * - docs/spec/chain.md §Test vectors: the secp256k1 uncompressed public key 0435e752….
 * - Oracle: @zondax/filecoin-signing-tools 2.4.3 WASM keyRecover / keyRecoverBLS on freshly generated keys.
 * - Lotus `wallet export` format (lotus cli/wallet.go): hex(JSON {"Type","PrivateKey"}) in Go field order.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Protocol, parseAddress } from './address.js';
import { fromHex, toBase64, toHex } from './bytes.js';
import { KeyError } from './errors.js';
import {
  addressOf,
  exportKeyInfo,
  generateKey,
  generatePrivateKey,
  importKeyInfo,
  keyFromPrivate,
  keyInfoFromJSON,
  keyInfoToJSON,
  publicKeyOf,
  validatePrivateKey,
} from './keys.js';

const vec = (name: string) => JSON.parse(readFileSync(new URL(`./testdata/zondax/${name}`, import.meta.url), 'utf8'));
const zondax = createRequire(import.meta.url)('@zondax/filecoin-signing-tools') as {
  keyRecover(pk: string, testnet: boolean): { address: string; public_hexstring: string };
  keyRecoverBLS(pk: string, testnet: boolean): { address: string; public_hexstring: string };
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('keys: published vectors', () => {
  it('secp256k1 (Zondax wallet.json)', () => {
    const w = vec('wallet.json');
    const k = keyFromPrivate('secp256k1', b64(w.private_key));
    assert.equal(
      toHex(k.publicKey),
      '0435e752dc6b4113f78edcf2cf7b8082e442021de5f00818f555397a6f181af795ace98f0f7d065793eaffa1b06bf52e572c97030c53a2396dfab40ba0e976b108',
    );
    assert.equal(k.address.toString('f'), 'f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba');
    assert.equal(
      k.address.toString('f'),
      w.childs.find((c: { path: string }) => c.path === "m/44'/461'/0/0/0").address,
    );
  });

  it('BLS, little-endian private keys (Zondax wallet.json, bls_wallet.json, generated_test_cases.json)', () => {
    const w = vec('wallet.json');
    assert.equal(addressOf('bls', b64(w.bls_private_key)).toString('t'), w.bls_address);
    const bw = vec('bls_wallet.json');
    // the leading "0x" of this vector is part of the base64 text, not a hex prefix
    const k = keyFromPrivate('bls', b64(bw.bls_private_key));
    assert.equal(toHex(k.publicKey), bw.bls_public_key);
    assert.equal(
      k.address.toString('t'),
      't3vxrizeiel2e2bxg3jhk62dlcutyc26fjnw6ua2sptu32dtjpwxbjawg666nqdngrkvvn45h7yb4qiya6ls7q',
    );
    const cases = vec('generated_test_cases.json') as { sk: string; pk: string; message: { From: string } }[];
    assert.equal(cases.length, 10);
    for (const c of cases) {
      const key = keyFromPrivate('bls', fromHex(c.sk));
      assert.equal(toHex(key.publicKey), c.pk);
      assert.ok(key.address.equals(parseAddress(c.message.From)));
    }
  });
});

describe('keys: generation, checked by the Zondax WASM oracle', () => {
  for (const type of ['secp256k1', 'bls'] as const) {
    it(`${type}: fresh keys derive the same public key and address as Zondax`, () => {
      for (let i = 0; i < 3; i++) {
        const k = generateKey(type);
        assert.equal(k.privateKey.length, 32);
        assert.equal(k.address.protocol, type === 'bls' ? Protocol.BLS : Protocol.Secp256k1);
        const z =
          type === 'bls'
            ? zondax.keyRecoverBLS(toBase64(k.privateKey), true)
            : zondax.keyRecover(toBase64(k.privateKey), true);
        assert.equal(z.address, k.address.toString('t'));
        assert.equal(z.public_hexstring, toHex(k.publicKey));
      }
    });
  }

  it('generatePrivateKey gives distinct valid keys', () => {
    const a = generatePrivateKey('bls');
    const b = generatePrivateKey('bls');
    assert.notEqual(toHex(a), toHex(b));
    validatePrivateKey('bls', a);
    assert.equal(publicKeyOf('bls', a).length, 48);
    assert.equal(publicKeyOf('secp256k1', generatePrivateKey('secp256k1')).length, 65);
  });
});

describe('keys: Lotus export format', () => {
  const secpKey = b64('8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=');

  it('exports hex of {"Type","PrivateKey"} and imports it back', () => {
    const hex = exportKeyInfo({ type: 'secp256k1', privateKey: secpKey });
    assert.equal(
      Buffer.from(hex, 'hex').toString(),
      '{"Type":"secp256k1","PrivateKey":"8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo="}',
    );
    const back = importKeyInfo(`${hex}\n`);
    assert.equal(back.type, 'secp256k1');
    assert.deepEqual(back.privateKey, secpKey);
    const bls = generateKey('bls');
    const ki = importKeyInfo(exportKeyInfo(bls));
    assert.equal(ki.type, 'bls');
    assert.deepEqual(ki.privateKey, bls.privateKey);
    assert.deepEqual(keyInfoToJSON(ki), { Type: 'bls', PrivateKey: toBase64(bls.privateKey) });
    assert.deepEqual(keyInfoFromJSON(JSON.stringify(keyInfoToJSON(ki))).privateKey, bls.privateKey);
  });

  it('bad input gets a clear error', () => {
    const hexOf = (s: string) => Buffer.from(s).toString('hex');
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['zz', /not hex/],
      ['abc', /odd number of hex digits/],
      ['{"Type":"bls"}', /looks like JSON; pass it to keyInfoFromJSON/],
      [hexOf('not json'), /not valid JSON/],
      [hexOf('[1,2]'), /must be a JSON object/],
      [hexOf('{"PrivateKey":"AA=="}'), /no "Type"/],
      [hexOf('{"Type":"ed25519","PrivateKey":"AA=="}'), /unknown key type "ed25519"/],
      [hexOf('{"Type":"delegated","PrivateKey":"AA=="}'), /"delegated" .* not supported/],
      [hexOf('{"Type":"bls","PrivateKey":5}'), /must be a base64 string/],
      [hexOf('{"Type":"bls","PrivateKey":"!!!"}'), /not base64/],
      [hexOf('{"Type":"bls","PrivateKey":"AAAA"}'), /BLS private key must be 32 bytes, got 3/],
      [
        hexOf(`{"Type":"secp256k1","PrivateKey":"${toBase64(new Uint8Array(31))}"}`),
        /secp256k1 private key must be 32 bytes, got 31/,
      ],
      [hexOf(`{"Type":"bls","PrivateKey":"${toBase64(new Uint8Array(32))}"}`), /BLS private key is zero/],
      [hexOf(`{"Type":"bls","PrivateKey":"${toBase64(new Uint8Array(32).fill(0xff))}"}`), /not a canonical scalar/],
      [hexOf(`{"Type":"secp256k1","PrivateKey":"${toBase64(new Uint8Array(32).fill(0xff))}"}`), /out of range/],
    ];
    for (const [input, re] of cases) {
      assert.throws(
        () => importKeyInfo(input),
        (e: unknown) => e instanceof KeyError && re.test(e.message),
        input,
      );
    }
    assert.throws(() => keyInfoFromJSON('{'), /not valid JSON/);
    assert.throws(() => publicKeyOf('rsa' as 'bls', secpKey), /unknown key type "rsa"/);
  });
});
