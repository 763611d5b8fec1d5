import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CryptoJSON, decryptKey, encryptKey, KeystoreMacError, passphraseOf } from './keystore-crypto.js';

// Vectors: the Web3 Secret Storage Definition (Ethereum wiki, keystore v3), scrypt and pbkdf2 test vectors,
// password "testpassword", private key 7a28b5ba…fe9d. venus-wallet uses the same recipe with keccak256(password)
// as the passphrase, so checking the recipe with the raw password checks our implementation of it.
const PRIV = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
const SCRYPT: CryptoJSON = {
  cipher: 'aes-128-ctr',
  cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
  ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
  kdf: 'scrypt',
  kdfparams: {
    dklen: 32,
    n: 262144,
    r: 1,
    p: 8,
    salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
  },
  mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
};
const PBKDF2: CryptoJSON = {
  cipher: 'aes-128-ctr',
  cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
  ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
  kdf: 'pbkdf2',
  kdfparams: {
    c: 262144,
    dklen: 32,
    prf: 'hmac-sha256',
    salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
  },
  mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
};
const pw = new TextEncoder().encode('testpassword');

test('decrypts the Web3 Secret Storage scrypt vector', async () => {
  assert.equal(Buffer.from(await decryptKey(pw, SCRYPT)).toString('hex'), PRIV);
});

test('decrypts the Web3 Secret Storage pbkdf2 vector', async () => {
  assert.equal(Buffer.from(await decryptKey(pw, PBKDF2)).toString('hex'), PRIV);
});

test('a wrong passphrase or a flipped ciphertext byte fails the MAC check', async () => {
  await assert.rejects(decryptKey(new TextEncoder().encode('wrong'), PBKDF2), KeystoreMacError);
  const bad = { ...PBKDF2, ciphertext: `0${PBKDF2.ciphertext.slice(1)}` };
  await assert.rejects(decryptKey(pw, bad), KeystoreMacError);
});

test('encrypt then decrypt with the venus passphrase (keccak of the password), fresh salt and iv each time', async () => {
  const key = new Uint8Array(32).fill(7);
  const phrase = passphraseOf('hunter2');
  const a = await encryptKey(phrase, key, { scryptN: 1024, scryptP: 1 });
  const b = await encryptKey(phrase, key, { scryptN: 1024, scryptP: 1 });
  assert.notEqual(a.kdfparams.salt, b.kdfparams.salt);
  assert.notEqual(a.cipherparams.iv, b.cipherparams.iv);
  assert.deepEqual(await decryptKey(phrase, a), key);
  await assert.rejects(decryptKey(passphraseOf('hunter3'), a), KeystoreMacError);
});
