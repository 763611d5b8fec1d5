/*
 * The SDR parent graph (rust-fil-proofs stacked DRG): 6 DRG parents per node (ChaCha8 bucket sampling) and 8
 * expander parents (a Feistel permutation over BLAKE2b, batched across SIMD lanes), and sdrParents /
 * sdrBlake2bBackend. src/proofs/sdr/ has the TypeScript twin; tests compare them.
 */
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define SDR_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "sdr.h"

#define b2_select sdr_b2_select
#define throw_err sdr_throw
#define get_bytes sdr_get_bytes
#define get_u64 sdr_get_u64

/* --------------------------------------------------------- parent graph */

static inline uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

#define QR(a, b, c, d)                                                                                             \
  a += b;                                                                                                          \
  d = rotl32(d ^ a, 16);                                                                                           \
  c += d;                                                                                                          \
  b = rotl32(b ^ c, 12);                                                                                           \
  a += b;                                                                                                          \
  d = rotl32(d ^ a, 8);                                                                                            \
  c += d;                                                                                                          \
  b = rotl32(b ^ c, 7);

/* One ChaCha8 block (rand_chacha 0.3 ChaCha8Rng: 64-bit block counter in words 12-13, stream 0). */
static void chacha8_block(const uint32_t key[8], uint64_t counter, uint32_t out[16]) {
  uint32_t x[16] = {0x61707865,    0x3320646e, 0x79622d32, 0x6b206574, key[0], key[1], key[2], key[3],
                    key[4],        key[5],     key[6],     key[7],     (uint32_t)counter,
                    (uint32_t)(counter >> 32), 0,          0};
  uint32_t s[16];
  memcpy(s, x, sizeof s);
  for (int r = 0; r < 4; r++) {
    QR(x[0], x[4], x[8], x[12]);
    QR(x[1], x[5], x[9], x[13]);
    QR(x[2], x[6], x[10], x[14]);
    QR(x[3], x[7], x[11], x[15]);
    QR(x[0], x[5], x[10], x[15]);
    QR(x[1], x[6], x[11], x[12]);
    QR(x[2], x[7], x[8], x[13]);
    QR(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; i++) out[i] = x[i] + s[i];
}

static const uint64_t B2IV[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                                 0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                                 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
static const uint8_t B2SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

#define B2G(a, b, c, d, x, y)                                                                                      \
  v[a] = v[a] + v[b] + (x);                                                                                        \
  v[d] = rotr64(v[d] ^ v[a], 32);                                                                                  \
  v[c] = v[c] + v[d];                                                                                              \
  v[b] = rotr64(v[b] ^ v[c], 24);                                                                                  \
  v[a] = v[a] + v[b] + (y);                                                                                        \
  v[d] = rotr64(v[d] ^ v[a], 16);                                                                                  \
  v[c] = v[c] + v[d];                                                                                              \
  v[b] = rotr64(v[b] ^ v[c], 63);

/* The first 8 output bytes of unkeyed BLAKE2b-512 over the 16-byte message m0 ‖ m1 (LE words), as a LE u64. */
static uint64_t blake2b16_first(uint64_t m0, uint64_t m1) {
  uint64_t m[16] = {m0, m1, 0};
  uint64_t v[16];
  for (int i = 0; i < 8; i++) {
    v[i] = B2IV[i];
    v[i + 8] = B2IV[i];
  }
  v[0] ^= 0x01010040ULL; /* digest 64, no key, fanout 1, depth 1 */
  uint64_t h0 = v[0];
  v[12] ^= 16; /* bytes hashed */
  v[14] = ~v[14]; /* last block */
  for (int r = 0; r < 12; r++) {
    const uint8_t *s = B2SIGMA[r];
    B2G(0, 4, 8, 12, m[s[0]], m[s[1]]);
    B2G(1, 5, 9, 13, m[s[2]], m[s[3]]);
    B2G(2, 6, 10, 14, m[s[4]], m[s[5]]);
    B2G(3, 7, 11, 15, m[s[6]], m[s[7]]);
    B2G(0, 5, 10, 15, m[s[8]], m[s[9]]);
    B2G(1, 6, 11, 12, m[s[10]], m[s[11]]);
    B2G(2, 7, 8, 13, m[s[12]], m[s[13]]);
    B2G(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  return h0 ^ v[0] ^ v[8];
}

typedef struct {
  uint64_t keys_be[3]; /* the round keys as the LE words of their big-endian bytes */
  uint64_t right_mask;
  uint32_t half_bits;
  uint64_t domain; /* nodes · 8 */
} feistel_t;

/* ---- batched Feistel: many independent permutations, SIMD BLAKE2b across lanes ----
 * Each lane walks one input through its 3 rounds (and cycle-walking re-encodes); a lane that finishes takes the
 * next input, so lanes stay busy although inputs need 1, 2 or more encodes. */

#define B2_ROUND_DECL(G, MW, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15)             \
  G(v0, v4, v8, v12, MW(s0), MW(s1));                                                                             \
  G(v1, v5, v9, v13, MW(s2), MW(s3));                                                                             \
  G(v2, v6, v10, v14, MW(s4), MW(s5));                                                                            \
  G(v3, v7, v11, v15, MW(s6), MW(s7));                                                                            \
  G(v0, v5, v10, v15, MW(s8), MW(s9));                                                                            \
  G(v1, v6, v11, v12, MW(s10), MW(s11));                                                                          \
  G(v2, v7, v8, v13, MW(s12), MW(s13));                                                                           \
  G(v3, v4, v9, v14, MW(s14), MW(s15));

#define B2_ALL_ROUNDS(G, MW)                                                                                        \
  B2_ROUND_DECL(G, MW, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)                                       \
  B2_ROUND_DECL(G, MW, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3)                                       \
  B2_ROUND_DECL(G, MW, 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4)                                       \
  B2_ROUND_DECL(G, MW, 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8)                                       \
  B2_ROUND_DECL(G, MW, 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13)                                       \
  B2_ROUND_DECL(G, MW, 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9)                                       \
  B2_ROUND_DECL(G, MW, 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11)                                       \
  B2_ROUND_DECL(G, MW, 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10)                                       \
  B2_ROUND_DECL(G, MW, 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5)                                       \
  B2_ROUND_DECL(G, MW, 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0)                                       \
  B2_ROUND_DECL(G, MW, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)                                       \
  B2_ROUND_DECL(G, MW, 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3)

/* message words: only m0, m1 are non-zero (16-byte input) */
#define B2_MW(i) ((i) == 0 ? M0 : (i) == 1 ? M1 : Z)

#ifdef SDR_X86
#define G512(a, b, c, d, x, y)                                                                                     \
  a = _mm512_add_epi64(_mm512_add_epi64(a, b), x);                                                                \
  d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 32);                                                               \
  c = _mm512_add_epi64(c, d);                                                                                     \
  b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 24);                                                               \
  a = _mm512_add_epi64(_mm512_add_epi64(a, b), y);                                                                \
  d = _mm512_ror_epi64(_mm512_xor_si512(d, a), 16);                                                               \
  c = _mm512_add_epi64(c, d);                                                                                     \
  b = _mm512_ror_epi64(_mm512_xor_si512(b, c), 63);

__attribute__((target("avx512f"))) static void blake2b16_first_x8(const uint64_t *m0, const uint64_t *m1,
                                                                  uint64_t *out) {
  const __m512i M0 = _mm512_loadu_si512((const void *)m0), M1 = _mm512_loadu_si512((const void *)m1);
  const __m512i Z = _mm512_setzero_si512();
  const __m512i h0 = _mm512_set1_epi64((long long)(B2IV[0] ^ 0x01010040ULL));
  __m512i v0 = h0, v1 = _mm512_set1_epi64((long long)B2IV[1]), v2 = _mm512_set1_epi64((long long)B2IV[2]),
          v3 = _mm512_set1_epi64((long long)B2IV[3]), v4 = _mm512_set1_epi64((long long)B2IV[4]),
          v5 = _mm512_set1_epi64((long long)B2IV[5]), v6 = _mm512_set1_epi64((long long)B2IV[6]),
          v7 = _mm512_set1_epi64((long long)B2IV[7]), v8 = _mm512_set1_epi64((long long)B2IV[0]),
          v9 = _mm512_set1_epi64((long long)B2IV[1]), v10 = _mm512_set1_epi64((long long)B2IV[2]),
          v11 = _mm512_set1_epi64((long long)B2IV[3]), v12 = _mm512_set1_epi64((long long)(B2IV[4] ^ 16)),
          v13 = _mm512_set1_epi64((long long)B2IV[5]), v14 = _mm512_set1_epi64((long long)~B2IV[6]),
          v15 = _mm512_set1_epi64((long long)B2IV[7]);
  B2_ALL_ROUNDS(G512, B2_MW)
  _mm512_storeu_si512((void *)out, _mm512_xor_si512(h0, _mm512_xor_si512(v0, v8)));
}

#define ROR256_32(x) _mm256_shuffle_epi32((x), 0xB1)
#define ROR256_24(x) _mm256_shuffle_epi8((x), r24)
#define ROR256_16(x) _mm256_shuffle_epi8((x), r16)
#define ROR256_63(x) _mm256_or_si256(_mm256_srli_epi64((x), 63), _mm256_add_epi64((x), (x)))
#define G256(a, b, c, d, x, y)                                                                                     \
  a = _mm256_add_epi64(_mm256_add_epi64(a, b), x);                                                                \
  d = ROR256_32(_mm256_xor_si256(d, a));                                                                          \
  c = _mm256_add_epi64(c, d);                                                                                     \
  b = ROR256_24(_mm256_xor_si256(b, c));                                                                          \
  a = _mm256_add_epi64(_mm256_add_epi64(a, b), y);                                                                \
  d = ROR256_16(_mm256_xor_si256(d, a));                                                                          \
  c = _mm256_add_epi64(c, d);                                                                                     \
  b = ROR256_63(_mm256_xor_si256(b, c));

__attribute__((target("avx2"))) static void blake2b16_first_x4(const uint64_t *m0, const uint64_t *m1,
                                                               uint64_t *out) {
  const __m256i r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2,
                                       11, 12, 13, 14, 15, 8, 9, 10);
  const __m256i r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1,
                                       10, 11, 12, 13, 14, 15, 8, 9);
  const __m256i M0 = _mm256_loadu_si256((const __m256i *)m0), M1 = _mm256_loadu_si256((const __m256i *)m1);
  const __m256i Z = _mm256_setzero_si256();
  const __m256i h0 = _mm256_set1_epi64x((long long)(B2IV[0] ^ 0x01010040ULL));
  __m256i v0 = h0, v1 = _mm256_set1_epi64x((long long)B2IV[1]), v2 = _mm256_set1_epi64x((long long)B2IV[2]),
          v3 = _mm256_set1_epi64x((long long)B2IV[3]), v4 = _mm256_set1_epi64x((long long)B2IV[4]),
          v5 = _mm256_set1_epi64x((long long)B2IV[5]), v6 = _mm256_set1_epi64x((long long)B2IV[6]),
          v7 = _mm256_set1_epi64x((long long)B2IV[7]), v8 = _mm256_set1_epi64x((long long)B2IV[0]),
          v9 = _mm256_set1_epi64x((long long)B2IV[1]), v10 = _mm256_set1_epi64x((long long)B2IV[2]),
          v11 = _mm256_set1_epi64x((long long)B2IV[3]), v12 = _mm256_set1_epi64x((long long)(B2IV[4] ^ 16)),
          v13 = _mm256_set1_epi64x((long long)B2IV[5]), v14 = _mm256_set1_epi64x((long long)~B2IV[6]),
          v15 = _mm256_set1_epi64x((long long)B2IV[7]);
  B2_ALL_ROUNDS(G256, B2_MW)
  _mm256_storeu_si256((__m256i *)out, _mm256_xor_si256(h0, _mm256_xor_si256(v0, v8)));
}
#endif

static void blake2b16_first_x1(const uint64_t *m0, const uint64_t *m1, uint64_t *out) {
  out[0] = blake2b16_first(m0[0], m1[0]);
}

typedef void (*b2_batch_fn)(const uint64_t *m0, const uint64_t *m1, uint64_t *out);
/* The backend is one immutable descriptor behind an atomic pointer. Every load of the addon (the main thread and
 * each worker thread) selects again; with separate globals a thread mid-batch could read 8 lanes and call the
 * 1-lane function while another thread's load was resetting them, and write wrong parents (seen under load). */
typedef struct {
  b2_batch_fn fn;
  int lanes;
  const char *name;
} b2_impl_t;
static const b2_impl_t B2_SCALAR = {blake2b16_first_x1, 1, "scalar"};
#ifdef SDR_X86
static const b2_impl_t B2_AVX512 = {blake2b16_first_x8, 8, "avx512"};
static const b2_impl_t B2_AVX2 = {blake2b16_first_x4, 4, "avx2"};
#endif
static const b2_impl_t *b2_impl = &B2_SCALAR;

static const b2_impl_t *b2_current(void) { return __atomic_load_n(&b2_impl, __ATOMIC_ACQUIRE); }

void b2_select(const char *want) {
  const b2_impl_t *pick = &B2_SCALAR;
#ifdef SDR_X86
  __builtin_cpu_init();
  int any = want == NULL || strcmp(want, "auto") == 0;
  if ((any || strcmp(want, "avx512") == 0) && __builtin_cpu_supports("avx512f"))
    pick = &B2_AVX512;
  else if ((any || strcmp(want, "avx2") == 0) && __builtin_cpu_supports("avx2"))
    pick = &B2_AVX2;
#else
  (void)want;
#endif
  __atomic_store_n(&b2_impl, pick, __ATOMIC_RELEASE);
}

/* Permutes xs[0..n) in place: xs[i] = permute(N, xs[i]). */
static void feistel_permute_batch(const feistel_t *f, uint64_t *xs, size_t n) {
  enum { MAXL = 8 };
  const b2_impl_t *impl = b2_current(); /* one backend for the whole batch */
  const int lanes = impl->lanes;
  if (lanes == 1) {
    for (size_t i = 0; i < n; i++) {
      uint64_t u = xs[i];
      do {
        uint64_t left = (u >> f->half_bits) & f->right_mask, right = u & f->right_mask;
        for (int r = 0; r < 3; r++) {
          uint64_t fr = __builtin_bswap64(blake2b16_first(__builtin_bswap64(right), f->keys_be[r])) & f->right_mask;
          uint64_t nl = right;
          right = left ^ fr;
          left = nl;
        }
        u = (left << f->half_bits) | right;
      } while (u >= f->domain);
      xs[i] = u;
    }
    return;
  }
  uint64_t L[MAXL], R[MAXL], m0[MAXL], m1[MAXL], h[MAXL];
  size_t idx[MAXL];
  int round[MAXL], live[MAXL];
  size_t next = 0;
  int active = 0;
  for (int l = 0; l < MAXL; l++) {
    live[l] = 0;
    m0[l] = m1[l] = 0;
    if (l < lanes && next < n) {
      idx[l] = next;
      uint64_t x = xs[next++];
      L[l] = (x >> f->half_bits) & f->right_mask;
      R[l] = x & f->right_mask;
      round[l] = 0;
      live[l] = 1;
      active++;
    }
  }
  while (active) {
    for (int l = 0; l < lanes; l++) {
      if (!live[l]) continue;
      m0[l] = __builtin_bswap64(R[l]);
      m1[l] = f->keys_be[round[l]];
    }
    impl->fn(m0, m1, h);
    for (int l = 0; l < lanes; l++) {
      if (!live[l]) continue;
      uint64_t fr = __builtin_bswap64(h[l]) & f->right_mask;
      uint64_t nl = R[l];
      R[l] = L[l] ^ fr;
      L[l] = nl;
      if (++round[l] < 3) continue;
      uint64_t u = (L[l] << f->half_bits) | R[l];
      if (u < f->domain) {
        xs[idx[l]] = u;
        if (next < n) {
          idx[l] = next;
          u = xs[next++];
        } else {
          live[l] = 0;
          active--;
          continue;
        }
      }
      /* start (or cycle-walk) an encode of u */
      L[l] = (u >> f->half_bits) & f->right_mask;
      R[l] = u & f->right_mask;
      round[l] = 0;
    }
  }
}

/* The 6 DRG parents of `node` (BucketGraph::parents) into out[0..6]. */
static void drg_parents(const uint8_t seed[28], int legacy, uint32_t node, uint32_t *out) {
  if (node < 2) {
    for (int k = 0; k < 6; k++) out[k] = 0;
  } else {
    uint32_t key[8], ks[32];
    memcpy(key, seed, 28); /* little-endian host assumed (x86-64, aarch64) */
    key[7] = node;
    chacha8_block(key, 0, ks);
    chacha8_block(key, 1, ks + 16);
    uint64_t draw[10]; /* next_u64(): consecutive LE u32 pairs of the keystream */
    for (int j = 0; j < 10; j++) draw[j] = (uint64_t)ks[2 * j] | (uint64_t)ks[2 * j + 1] << 32;
    uint64_t meta = (uint64_t)node * 5;
    /* ceil(log2(meta)) for meta >= 10: the bit length of meta - 1 */
    uint64_t n_buckets = 64 - (uint64_t)__builtin_clzll(meta - 1);
    int pred = legacy ? 5 : 0, first = legacy ? 0 : 1;
    for (int k = 0; k < 5; k++) {
      uint64_t bucket = draw[2 * k] % n_buckets + 1;
      uint64_t largest = meta < (1ULL << bucket) ? meta : (1ULL << bucket);
      uint64_t smallest = (largest >> 1) > 2 ? (largest >> 1) : 2;
      uint64_t dist = smallest + draw[2 * k + 1] % (largest - smallest + 1);
      uint32_t parent = (uint32_t)((meta - dist) / 5);
      out[first + k] = parent == node ? node - 1 : parent;
    }
    out[pred] = node - 1;
  }
}

/* sdrParents(drgSeed28, feistelKeys32, nodes, legacy, start, count, out: Uint32Array) */
napi_value sdr_js_parents(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 7) return throw_err(env, "sdrParents: 7 arguments expected"), NULL;
  void *seed, *keys, *outp;
  size_t seed_len, keys_len, out_len;
  uint64_t nodes, start, count;
  bool legacy;
  if (!get_bytes(env, argv[0], &seed, &seed_len) || seed_len != 28)
    return throw_err(env, "sdrParents: drgSeed must be 28 bytes"), NULL;
  if (!get_bytes(env, argv[1], &keys, &keys_len) || keys_len != 32)
    return throw_err(env, "sdrParents: feistelKeys must be 32 bytes"), NULL;
  if (!get_u64(env, argv[2], &nodes) || nodes < 2 || nodes > 0xffffffffULL)
    return throw_err(env, "sdrParents: bad node count"), NULL;
  if (napi_get_value_bool(env, argv[3], &legacy) != napi_ok) return throw_err(env, "sdrParents: legacy flag"), NULL;
  if (!get_u64(env, argv[4], &start) || !get_u64(env, argv[5], &count) || start + count > nodes)
    return throw_err(env, "sdrParents: node range outside the graph"), NULL;
  if (!get_bytes(env, argv[6], &outp, &out_len) || out_len < count * 14 * 4)
    return throw_err(env, "sdrParents: output too small"), NULL;

  feistel_t f;
  const uint8_t *kb = keys;
  for (int r = 0; r < 3; r++) {
    uint64_t k = 0;
    for (int b = 0; b < 8; b++) k |= (uint64_t)kb[8 * r + b] << (8 * b);
    f.keys_be[r] = __builtin_bswap64(k);
  }
  uint64_t n = nodes * 8, pow4 = 4;
  uint32_t log4 = 1;
  while (pow4 < n) {
    pow4 *= 4;
    log4++;
  }
  f.half_bits = log4;
  f.right_mask = (1ULL << log4) - 1;
  f.domain = n;
  uint32_t *out = outp;
  /* expander inputs node·8 + i for the whole range, permuted in SIMD batches of up to 4096 nodes */
  enum { BATCH = 4096 };
  uint64_t xs[BATCH * 8];
  for (uint64_t b = 0; b < count; b += BATCH) {
    uint64_t nb = count - b < BATCH ? count - b : BATCH;
    for (uint64_t i = 0; i < nb; i++)
      for (int k = 0; k < 8; k++) xs[i * 8 + k] = (start + b + i) * 8 + (uint64_t)k;
    feistel_permute_batch(&f, xs, nb * 8);
    for (uint64_t i = 0; i < nb; i++) {
      uint32_t *o = out + (b + i) * 14;
      drg_parents(seed, legacy, (uint32_t)(start + b + i), o);
      for (int k = 0; k < 8; k++) {
        uint64_t u = xs[i * 8 + k];
        o[6 + k] = legacy ? (uint32_t)u / 8 : (uint32_t)(u / 8);
      }
    }
  }
  return NULL;
}

/* sdrBlake2bBackend([want: "auto" | "avx512" | "avx2" | "scalar"]) -> the Feistel BLAKE2b backend in use */
napi_value sdr_js_b2_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) {
    char want[16] = {0};
    size_t n;
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_string && napi_get_value_string_utf8(env, argv[0], want, sizeof want, &n) == napi_ok) b2_select(want);
  }
  napi_value s;
  napi_create_string_utf8(env, b2_current()->name, NAPI_AUTO_LENGTH, &s);
  return s;
}
