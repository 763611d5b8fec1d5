/**
 * Address tests.
 *
 * Vectors and their sources:
 * - go-address address_test.go (github.com/filecoin-project/go-address @4e4546c, 2026-02):
 *   TestVectorsIDAddress (t00 … t09223372036854775807), TestVectorSecp256k1Address (6 public keys),
 *   TestVectorActorAddress (5 inputs), TestVectorBLSAddress (5 public keys), TestDelegatedAddress (3 cases),
 *   TestInvalidStringAddresses and TestInvalidByteAddresses (error tables), TestTrailingBits, TestIDMax,
 *   TestIDEdgeCase; constants.go TestAddress = NewActorAddress("satoshi").
 * - Zondax filecoin-signing-tools test_vectors/wallet.json: secp256k1 key → f1d2xrzc…, BLS key → t3uxb75v…
 *   (checked in keys.test.ts); examples/manual_testvectors.json: f410f2qreez6evnfbqs6rvidgwm3b44hpxpvpeuoddga ↔ bytes.
 * - docs/spec/chain.md §Addresses: f01000 → CBOR 43 00 e8 07 (binary 00 e8 07).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  actorAddress,
  addressFromBytes,
  blsAddress,
  delegatedAddress,
  getDefaultNetwork,
  idAddress,
  Protocol,
  parseAddress,
  parseAddressWithNetwork,
  secp256k1Address,
  setDefaultNetwork,
} from './address.js';
import { base32Encode, encodeUvarint, fromHex, toHex } from './bytes.js';
import { AddressError } from './errors.js';

const bytes = (...xs: number[]) => Uint8Array.from(xs);

afterEach(() => setDefaultNetwork('f'));

describe('address: go-address vectors', () => {
  it('ID addresses', () => {
    const cases: [bigint, string][] = [
      [0n, 't00'],
      [1n, 't01'],
      [10n, 't010'],
      [150n, 't0150'],
      [499n, 't0499'],
      [1024n, 't01024'],
      [1729n, 't01729'],
      [999999n, 't0999999'],
      [(1n << 63n) - 1n, 't09223372036854775807'],
    ];
    for (const [id, str] of cases) {
      const a = idAddress(id);
      assert.equal(a.toString('t'), str);
      assert.equal(a.protocol, Protocol.ID);
      assert.deepEqual(a.payload, encodeUvarint(id));
      const p = parseAddress(str);
      assert.ok(p.equals(a));
      assert.ok(addressFromBytes(p.bytes()).equals(a));
      assert.equal(p.idBigInt(), id);
    }
    assert.equal(idAddress(1000).toString('f'), 'f01000');
    assert.equal(toHex(idAddress(1000).bytes()), '00e807');
    assert.equal(parseAddress('f01000').id(), 1000);
  });

  const secp: [number[], string][] = [
    [
      [
        4, 148, 2, 250, 195, 126, 100, 50, 164, 22, 163, 160, 202, 84, 38, 181, 24, 90, 179, 178, 79, 97, 52, 239, 162,
        92, 228, 135, 200, 45, 46, 78, 19, 191, 69, 37, 17, 224, 210, 36, 84, 33, 248, 97, 59, 193, 13, 114, 250, 33,
        102, 102, 169, 108, 59, 193, 57, 32, 211, 255, 35, 63, 208, 188, 5,
      ],
      '5ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq',
    ],
    [
      [
        4, 118, 135, 185, 16, 55, 155, 242, 140, 190, 58, 234, 103, 75, 18, 0, 12, 107, 125, 186, 70, 255, 192, 95, 108,
        148, 254, 42, 34, 187, 204, 38, 2, 255, 127, 92, 118, 242, 28, 165, 93, 54, 149, 145, 82, 176, 225, 232, 135,
        145, 124, 57, 53, 118, 238, 240, 147, 246, 30, 189, 58, 208, 111, 127, 218,
      ],
      '2fiakbhe2gwd5cnmrenekasyn6v5tnaxaqizq6a',
    ],
    [
      [
        4, 222, 253, 208, 16, 1, 239, 184, 110, 1, 222, 213, 206, 52, 248, 71, 167, 58, 20, 129, 158, 230, 65, 188, 182,
        11, 185, 41, 147, 89, 111, 5, 220, 45, 96, 95, 41, 133, 248, 209, 37, 129, 45, 172, 65, 99, 163, 150, 52, 155,
        35, 193, 28, 194, 255, 53, 157, 229, 75, 226, 135, 234, 98, 49, 155,
      ],
      'wbxhu3ypkuo6eyp6hjx6davuelxaxrvwb2kuwva',
    ],
    [
      [
        4, 3, 237, 18, 200, 20, 182, 177, 13, 46, 224, 157, 149, 180, 104, 141, 178, 209, 128, 208, 169, 163, 122, 107,
        106, 125, 182, 61, 41, 129, 30, 233, 115, 4, 121, 216, 239, 145, 57, 233, 18, 73, 202, 189, 57, 50, 145, 207,
        229, 210, 119, 186, 118, 222, 69, 227, 224, 133, 163, 118, 129, 191, 54, 69, 210,
      ],
      'xtwapqc6nh4si2hcwpr3656iotzmlwumogqbuaa',
    ],
    [
      [
        4, 247, 150, 129, 154, 142, 39, 22, 49, 175, 124, 24, 151, 151, 181, 69, 214, 2, 37, 147, 97, 71, 230, 1, 14,
        101, 98, 179, 206, 158, 254, 139, 16, 20, 65, 97, 169, 30, 208, 180, 236, 137, 8, 0, 37, 63, 166, 252, 32, 172,
        144, 251, 241, 251, 242, 113, 48, 164, 236, 195, 228, 3, 183, 5, 118,
      ],
      'xcbgdhkgkwht3hrrnui3jdopeejsoatkzmoltqy',
    ],
    [
      [
        4, 66, 131, 43, 248, 124, 206, 158, 163, 69, 185, 3, 80, 222, 125, 52, 149, 133, 156, 164, 73, 5, 156, 94, 136,
        221, 231, 66, 133, 223, 251, 158, 192, 30, 186, 188, 95, 200, 98, 104, 207, 234, 235, 167, 174, 5, 191, 184,
        214, 142, 183, 90, 82, 104, 120, 44, 248, 111, 200, 112, 43, 239, 138, 31, 224,
      ],
      '7uoq6tp427uzv7fztkbsnn64iwotfrristwpryy',
    ],
  ];

  it('secp256k1 addresses (testnet and mainnet)', () => {
    for (const [pk, body] of secp) {
      const a = secp256k1Address(Uint8Array.from(pk));
      assert.equal(a.toString('t'), `t1${body}`);
      assert.equal(a.toString('f'), `f1${body}`);
      assert.equal(a.toString(), `f1${body}`, 'default network is mainnet');
      for (const n of ['t', 'f']) {
        const p = parseAddressWithNetwork(`${n}1${body}`);
        assert.equal(p.network, n);
        assert.ok(p.address.equals(a));
        assert.ok(addressFromBytes(p.address.bytes()).equals(a));
      }
    }
  });

  it('actor addresses', () => {
    const cases: [number[], string][] = [
      [
        [118, 18, 129, 144, 205, 240, 104, 209, 65, 128, 68, 172, 192, 62, 11, 103, 129, 151, 13, 96],
        '4vg6ut43yw2h2jqydgbg2xq7x6f4kub3bg6as6i',
      ],
      [
        [44, 175, 184, 226, 224, 107, 186, 152, 234, 101, 124, 92, 245, 244, 32, 35, 170, 35, 232, 142],
        '5nml2cfbljvn4goqtclhifepvfnicv6g7mfmmvq',
      ],
      [
        [2, 44, 158, 14, 162, 157, 143, 64, 197, 106, 190, 195, 92, 141, 88, 125, 160, 166, 76, 24],
        'nuqrg7vuysaue2pistjjnt3fadsdzvyuatqtfei',
      ],
      [
        [223, 236, 3, 14, 32, 79, 15, 89, 216, 15, 29, 94, 233, 29, 253, 6, 109, 127, 99, 189],
        '4dd4ox4c2vpf5vk5wkadgyyn6qtuvgcpxxon64a',
      ],
      [
        [61, 58, 137, 232, 221, 171, 84, 120, 50, 113, 108, 109, 70, 140, 53, 96, 201, 244, 127, 216],
        'gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr23y',
      ],
    ];
    for (const [data, body] of cases) {
      const a = actorAddress(Uint8Array.from(data));
      assert.equal(a.toString('t'), `t2${body}`);
      assert.equal(a.toString('f'), `f2${body}`);
      assert.ok(parseAddress(`t2${body}`).equals(a));
    }
    assert.equal(
      actorAddress(new TextEncoder().encode('satoshi')).toString('t'),
      't2i4llai5x72clnz643iydyplvjmni74x4vyme7ny',
    );
  });

  it('BLS addresses', () => {
    const cases: [number[], string][] = [
      [
        [
          173, 88, 223, 105, 110, 45, 78, 145, 234, 134, 200, 129, 233, 56, 186, 78, 168, 27, 57, 94, 18, 121, 123, 132,
          185, 207, 49, 75, 149, 70, 112, 94, 131, 156, 122, 153, 214, 6, 178, 71, 221, 180, 249, 172, 122, 52, 20, 221,
        ],
        'vvmn62lofvhjd2ugzca6sof2j2ubwok6cj4xxbfzz4yuxfkgobpihhd2thlanmsh3w2ptld2gqkn2jvlss4a',
      ],
      [
        [
          179, 41, 79, 10, 46, 41, 224, 198, 110, 188, 35, 93, 47, 237, 202, 86, 151, 191, 120, 74, 246, 5, 199, 90,
          246, 8, 230, 166, 61, 92, 211, 142, 168, 92, 168, 152, 158, 14, 253, 233, 24, 139, 56, 47, 147, 114, 70, 13,
        ],
        'wmuu6crofhqmm3v4enos73okk2l366ck6yc4owxwbdtkmpk42ohkqxfitcpa57pjdcftql4tojda2poeruwa',
      ],
      [
        [
          150, 161, 163, 228, 234, 122, 20, 212, 153, 133, 230, 97, 178, 36, 1, 212, 79, 237, 64, 45, 29, 9, 37, 178,
          67, 201, 35, 88, 156, 15, 188, 126, 50, 205, 4, 226, 158, 215, 141, 21, 211, 125, 58, 170, 63, 230, 218, 51,
        ],
        's2q2hzhkpiknjgmf4zq3ejab2rh62qbndueslmsdzervrhapxr7dftie4kpnpdiv2n6tvkr743ndhrsw6d3a',
      ],
      [
        [
          134, 180, 84, 37, 140, 88, 148, 117, 247, 209, 111, 90, 172, 1, 138, 121, 246, 193, 22, 157, 32, 252, 51, 146,
          29, 216, 181, 206, 28, 172, 108, 52, 143, 144, 163, 96, 54, 36, 246, 174, 185, 27, 100, 81, 140, 46, 128, 149,
        ],
        'q22fijmmlckhl56rn5nkyamkph3mcfu5ed6dheq53c244hfmnq2i7efdma3cj5voxenwiummf2ajlsbxc65a',
      ],
      [
        [
          167, 114, 107, 3, 128, 34, 247, 90, 56, 70, 23, 88, 83, 96, 206, 230, 41, 7, 10, 45, 157, 40, 113, 41, 101,
          229, 242, 110, 204, 64, 133, 131, 130, 128, 55, 36, 237, 52, 242, 114, 3, 54, 240, 157, 182, 49, 240, 116,
        ],
        'u5zgwa4ael3vuocgc5mfgygo4yuqocrntuuhcklf4xzg5tcaqwbyfabxetwtj4tsam3pbhnwghyhijr5mixa',
      ],
    ];
    for (const [pk, body] of cases) {
      const a = blsAddress(Uint8Array.from(pk));
      assert.equal(a.toString('t'), `t3${body}`);
      assert.equal(a.toString('f'), `f3${body}`);
      const p = parseAddress(`f3${body}`);
      assert.equal(p.protocol, Protocol.BLS);
      assert.deepEqual(p.payload, Uint8Array.from(pk));
    }
  });

  it('delegated addresses', () => {
    const max63 = (1n << 63n) - 1n;
    const cases: [bigint, Uint8Array, string][] = [
      [32n, bytes(0xff, 0xff, 0xff, 0xff, 0xff), 'f432f77777777x32lpna'],
      [max63, new Uint8Array(0), 'f49223372036854775807fiic6zsy'],
      [
        max63,
        new Uint8Array(54),
        'f49223372036854775807faaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaahwgiuam',
      ],
    ];
    for (const [ns, sub, str] of cases) {
      const a = delegatedAddress(ns, sub);
      assert.equal(a.toString('f'), str);
      const p = parseAddress(str);
      assert.ok(p.equals(a));
      assert.deepEqual(p.delegated(), { namespace: ns, subaddress: sub });
      assert.ok(addressFromBytes(a.bytes()).equals(a));
    }
    // Zondax manual_testvectors.json "Using Protocol 4 addresses": the address inside its CBOR is 56 04 0a d4…
    const f410 = parseAddress('f410f2qreez6evnfbqs6rvidgwm3b44hpxpvpeuoddga');
    assert.equal(toHex(f410.bytes()), '040ad4224267c4ab4a184bd1aa066b3361e70efbbeaf');
  });

  it('trailing bits: the canonical string parses, the same with a different last char does not', () => {
    assert.equal(parseAddress('f1xpbyy4tkdx5si2bgo37dubc2xwv6fum5tk57mia').protocol, Protocol.Secp256k1);
    assert.throws(() => parseAddress('f1xpbyy4tkdx5si2bgo37dubc2xwv6fum5tk57mid'), /non-canonical base32/);
  });

  it('ID range: 2^63-1 is fine, 2^63 is not', () => {
    assert.equal(parseAddress('t09223372036854775807').idBigInt(), (1n << 63n) - 1n);
    assert.throws(() => parseAddress('t09223372036854775808'), /out of range/);
    assert.throws(() => idAddress(1n << 63n), /out of range/);
    assert.throws(() => idAddress(-1), /out of range/);
    assert.throws(() => idAddress(1.5), /not an integer/);
    // 2^64 as a uvarint inside ID bytes (go TestIDMax) and a hanging continuation byte (TestIDEdgeCase)
    assert.throws(
      () => addressFromBytes(bytes(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)),
      AddressError,
    );
    assert.throws(() => addressFromBytes(bytes(0, 0x80)), /truncated/);
    assert.throws(() => addressFromBytes(bytes(0, 0x80, 0x00)), /not minimally encoded/);
    assert.throws(() => addressFromBytes(bytes(0, 0x01, 0x02)), /extra bytes/);
  });
});

describe('address: bad strings (go-address TestInvalidStringAddresses)', () => {
  const enc = (n: number) => base32Encode(new TextEncoder().encode('a'.repeat(n)));
  const cases: [string, RegExp][] = [
    ['Q2gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr23y', /unknown network prefix "Q"/],
    ['t5gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr23y', /unknown protocol "5"/],
    ['t2gfvuyh7v2sx3patm5k23wdzmhyhtmqctasbr24y', /bad checksum/],
    ['t0banananananannnnnnnnn', /too long/],
    ['t0banananananannnnnnn', /not a decimal number/],
    // go reports the position inside the body (16, 14); we report it inside the whole string
    ['t2gfvuyh7v2sx3patm1k23wdzmhyhtmqctasbr24y', /character "1" at 18 is not base32/],
    ['t2gfvuyh7v2sx3paTm1k23wdzmhyhtmqctasbr24y', /character "T" at 16 is not base32/],
    ['t2', /too short/],
    ['t1234q', /payload is 0 bytes|shorter than the 4-byte checksum|impossible base32 length/],
    ['a'.repeat(116), /too long/],
    ['t', /too short/],
    ['t0', /too short/],
    ['', /empty/],
    [`t0${'a'.repeat(19)}`, /not a decimal number/],
    [`t0${'a'.repeat(20)}`, /too long/],
    [`t1${enc(24)}`, /bad checksum/],
    [`t1${enc(25)}`, /payload is 21 bytes, want 20/],
    [`t1${enc(23)}`, /payload is 19 bytes, want 20/],
    [`t2${enc(24)}`, /bad checksum/],
    [`t2${enc(25)}`, /payload is 21 bytes/],
    [`t2${enc(23)}`, /payload is 19 bytes/],
    [`t3${enc(52)}`, /bad checksum/],
    [`t3${enc(53)}`, /payload is 49 bytes, want 48/],
    [`t3${enc(51)}`, /payload is 47 bytes, want 48/],
    ['f4', /too short/],
    ['f410', /no "f" between namespace and subaddress/],
    ['f4xf77777777x32lpna', /namespace "x" is not a decimal number/],
    ['f432f77777777x32lpnb', /non-canonical|bad checksum/],
  ];
  for (const [input, re] of cases) {
    it(`rejects ${input.length > 40 ? `${input.slice(0, 40)}…` : JSON.stringify(input)}`, () => {
      assert.throws(
        () => parseAddress(input),
        (e: unknown) => e instanceof AddressError && re.test(e.message),
      );
    });
  }
});

describe('address: bad bytes (go-address TestInvalidByteAddresses)', () => {
  const z = (n: number) => new Uint8Array(n);
  const cases: [Uint8Array, RegExp][] = [
    [bytes(5, 4, 4), /unknown address protocol 5/],
    [bytes(0), /no payload/],
    [new Uint8Array(0), /empty/],
    [Uint8Array.of(1, ...z(19)), /19 bytes, want 20/],
    [Uint8Array.of(1, ...z(21)), /21 bytes, want 20/],
    [Uint8Array.of(2, ...z(19)), /19 bytes, want 20/],
    [Uint8Array.of(2, ...z(21)), /21 bytes, want 20/],
    [Uint8Array.of(3, ...z(47)), /47 bytes, want 48/],
    [Uint8Array.of(3, ...z(33)), /33 bytes, want 48/],
    [Uint8Array.of(4, 0, ...z(55)), /55 bytes, max 54/],
    [bytes(4, 0xff), /truncated/],
  ];
  for (const [input, re] of cases) {
    it(`rejects ${toHex(input).slice(0, 16)}…`, () => {
      assert.throws(() => addressFromBytes(input), re);
    });
  }
});

describe('address: API', () => {
  it('default network switches toString and toJSON, explicit network wins', () => {
    const a = parseAddress('f01000');
    assert.equal(getDefaultNetwork(), 'f');
    setDefaultNetwork('t');
    assert.equal(a.toString(), 't01000');
    assert.equal(JSON.stringify({ a }), '{"a":"t01000"}');
    assert.equal(a.toString('f'), 'f01000');
    assert.throws(() => setDefaultNetwork('x' as 'f'), /unknown network/);
  });

  it('constructors reject bad keys', () => {
    assert.throws(() => secp256k1Address(new Uint8Array(33)), /65 bytes, uncompressed/);
    assert.throws(() => blsAddress(new Uint8Array(96)), /96 bytes, want 48/);
    assert.throws(() => delegatedAddress(10, new Uint8Array(55)), /55 bytes, max 54/);
    assert.throws(() => parseAddress(42 as unknown as string), /must be a string/);
  });

  it('equals, key and id helpers', () => {
    const a = parseAddress('t01729');
    assert.ok(a.equals(idAddress(1729)));
    assert.ok(!a.equals(idAddress(1730)));
    assert.equal(a.key(), toHex(a.bytes()));
    assert.throws(() => actorAddress(fromHex('00')).id(), /not an ID address/);
    assert.throws(() => parseAddress('t09223372036854775807').id(), /does not fit a JS number/);
  });
});
