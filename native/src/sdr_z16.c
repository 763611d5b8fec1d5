/*
 * 16 labels at once in AVX-512: one SHA-256 stream per 32-bit lane (batches of 16 sectors and more).
 *
 * Four SHA-NI streams are bound by the SHA unit's throughput (about 2x one stream on an AMD Zen 5), while the
 * vector units have room: 16 lanes of rounds in AVX-512 (rotates, three-input logic) hash a block of 16
 * messages in ~13 ns per message against ~37 ns for one SHA-NI stream (Zen 5, measured with rounds alone).
 * So each 16 sectors of a batch go through this kernel, and the rest through the SHA-NI streams.
 *
 * Each distinct block's schedule (W + K, word t of the 16 messages in one vector) is computed once per label
 * and reused for the repeated parent blocks, as the SHA-NI kernel does.
 */
#include <string.h>

#include "sdr.h"
#include "sdr_ni.h"

#if defined(__x86_64__) || defined(__i386__)

#define ZT __attribute__((target("avx512f,avx512bw")))

/* W[t] + K[t] of 16 blocks (block i = a[i][0..32) ‖ b[i][0..32)), word t of every block in wk[t]. */
ZT static void sched16(const uint8_t *const *a, const uint8_t *const *b, __m512i wk[64]) {
  __m512i w[64];
  z_load16(a, b, 16, w);
  for (int t = 16; t < 64; t++) w[t] = z_expand(w, t);
  for (int t = 0; t < 64; t++) wk[t] = _mm512_add_epi32(w[t], _mm512_set1_epi32((int)sdr_K256[t]));
}

/* One compression of 16 messages. */
ZT static inline __attribute__((always_inline)) void rounds16(__m512i st[8], const __m512i wk[64]) {
  __m512i a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
#pragma GCC unroll 64
  for (int t = 0; t < 64; t++) {
    const __m512i S1 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11), _mm512_ror_epi32(e, 25), 0x96);
    const __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xCA);  /* e ? f : g */
    const __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(h, S1), _mm512_add_epi32(ch, wk[t]));
    const __m512i S0 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13), _mm512_ror_epi32(a, 22), 0x96);
    const __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xE8); /* majority */
    h = g, g = f, f = e, e = _mm512_add_epi32(d, t1), d = c, c = b, b = a, a = _mm512_add_epi32(t1, _mm512_add_epi32(S0, maj));
  }
  st[0] = _mm512_add_epi32(st[0], a), st[1] = _mm512_add_epi32(st[1], b);
  st[2] = _mm512_add_epi32(st[2], c), st[3] = _mm512_add_epi32(st[3], d);
  st[4] = _mm512_add_epi32(st[4], e), st[5] = _mm512_add_epi32(st[5], f);
  st[6] = _mm512_add_epi32(st[6], g), st[7] = _mm512_add_epi32(st[7], h);
}

ZT __attribute__((noinline)) static void compress16(__m512i st[8], const __m512i wk[64]) { rounds16(st, wk); }

/* Two groups of 16 messages, round by round: one group's rounds are a chain of dependent instructions that
 * leaves the vector units half idle (Zen 5: two groups take 1.06-1.1x the time of one). */
#define ROUND16(a, b, c, d, e, f, g, h, w)                                                                          \
  do {                                                                                                             \
    const __m512i S1 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11), _mm512_ror_epi32(e, 25), 0x96); \
    const __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xCA);                                                   \
    const __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(h, S1), _mm512_add_epi32(ch, w));                         \
    const __m512i S0 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13), _mm512_ror_epi32(a, 22), 0x96); \
    const __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xE8);                                                  \
    h = g, g = f, f = e, e = _mm512_add_epi32(d, t1), d = c, c = b, b = a, a = _mm512_add_epi32(t1, _mm512_add_epi32(S0, maj)); \
  } while (0)

ZT __attribute__((noinline)) static void compress32(__m512i st[8], const __m512i wk[64], __m512i su[8], const __m512i wl[64]) {
  __m512i a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  __m512i A = su[0], B = su[1], C = su[2], D = su[3], E = su[4], F = su[5], G = su[6], H = su[7];
#pragma GCC unroll 64
  for (int t = 0; t < 64; t++) {
    ROUND16(a, b, c, d, e, f, g, h, wk[t]);
    ROUND16(A, B, C, D, E, F, G, H, wl[t]);
  }
  st[0] = _mm512_add_epi32(st[0], a), st[1] = _mm512_add_epi32(st[1], b);
  st[2] = _mm512_add_epi32(st[2], c), st[3] = _mm512_add_epi32(st[3], d);
  st[4] = _mm512_add_epi32(st[4], e), st[5] = _mm512_add_epi32(st[5], f);
  st[6] = _mm512_add_epi32(st[6], g), st[7] = _mm512_add_epi32(st[7], h);
  su[0] = _mm512_add_epi32(su[0], A), su[1] = _mm512_add_epi32(su[1], B);
  su[2] = _mm512_add_epi32(su[2], C), su[3] = _mm512_add_epi32(su[3], D);
  su[4] = _mm512_add_epi32(su[4], E), su[5] = _mm512_add_epi32(su[5], F);
  su[6] = _mm512_add_epi32(su[6], G), su[7] = _mm512_add_epi32(su[7], H);
}

/* The schedules of every distinct block of 16 labels (lanes past n repeat lane 0). */
ZT static void sched_labels(const sdr_lane_t *L, int n, int exp, __m512i (*wk)[64]) {
  const int nb = exp ? 7 : 3;
  const uint8_t *a[16], *b[16];
  for (int j = 0; j < nb + 2; j++) {
    for (int i = 0; i < 16; i++) sdr_label_block(&L[i < n ? i : 0], exp, j, &a[i], &b[i]);
    sched16(a, b, wk[j]);
  }
}

/* Lane i's words a..h (a 16 x 16 transpose with the 8 state vectors above 8 zero rows), big-endian, top two
 * bits of the last byte cleared; lanes < n stored. */
ZT static void put16(const __m512i st[8], sdr_lane_t *L, int n) {
  __m512i r[16];
  for (int i = 0; i < 8; i++) r[i] = st[i], r[8 + i] = _mm512_setzero_si512();
  z_transpose(r);
  const __m256i bswap = _mm256_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL, 0x0c0d0e0f08090a0bLL,
                                          0x0405060700010203LL);
  const __m256i mask = _mm256_set_epi64x(0x3fffffffffffffffLL, -1LL, -1LL, -1LL);
  for (int i = 0; i < n; i++)
    _mm256_storeu_si256((__m256i *)L[i].out,
                        _mm256_and_si256(_mm256_shuffle_epi8(_mm512_castsi512_si256(r[i]), bswap), mask));
}

static const uint8_t SEQ_EXP[20] = {0, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 8};
static const uint8_t SEQ_L1[20] = {0, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 4};

/* n <= 16 labels of one node. */
ZT static void label16(sdr_lane_t *L, int n, int exp) {
  const uint8_t *seq = exp ? SEQ_EXP : SEQ_L1;
  __m512i wk[NI_BLOCKS][64] __attribute__((aligned(64)));
  sched_labels(L, n, exp, wk);
  __m512i st[8];
  for (int i = 0; i < 8; i++) st[i] = _mm512_set1_epi32((int)sdr_H256[i]);
  for (int p = 0; p < 20; p++) compress16(st, wk[seq[p]]);
  put16(st, L, n);
}

/* 32 labels of one node: two groups of 16, their rounds interleaved. */
ZT static void label32(sdr_lane_t *L, int exp) {
  const uint8_t *seq = exp ? SEQ_EXP : SEQ_L1;
  __m512i wk[2][NI_BLOCKS][64] __attribute__((aligned(64)));
  sched_labels(L, 16, exp, wk[0]);
  sched_labels(L + 16, 16, exp, wk[1]);
  __m512i st[8], su[8];
  for (int i = 0; i < 8; i++) st[i] = su[i] = _mm512_set1_epi32((int)sdr_H256[i]);
  for (int p = 0; p < 20; p++) compress32(st, wk[0][seq[p]], su, wk[1][seq[p]]);
  put16(st, L, 16);
  put16(su, L + 16, 16);
}

void sdr_z16_labels(sdr_lane_t *L, int n, int exp) {
  for (; n >= 32; n -= 32, L += 32) label32(L, exp);
  if (n > 0) label16(L, n, exp);
}

#else
void sdr_z16_labels(sdr_lane_t *L, int n, int exp) { (void)L, (void)n, (void)exp; }
#endif
