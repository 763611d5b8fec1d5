/* SHA-256 with the x86 SHA extensions for SDR labels, shared by the batch kernel (sdr_batch.c) and the
 * single-sector chain (sdr_pipe.c): message schedules (W + K per block) and rounds over up to 4 streams. */
#ifndef VENUS_SDR_NI_H
#define VENUS_SDR_NI_H
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

extern const uint32_t sdr_K256[64];
extern const uint32_t sdr_H256[8];

#define INL static inline __attribute__((always_inline))

/* ------------------------------------------------------------ SHA-NI, up to 4 streams */
#define SHANI __attribute__((target("sha,sse4.1,ssse3")))

/* W[t] + K[t] of one block, t < 64, and two spare words: rounds 4g, 4g+1 take the low half of a 16-byte load
 * at word 4g, rounds 4g+2, 4g+3 the low half of one at word 4g+2 (sha256rnds2 reads only the low 64 bits). */
typedef uint32_t ni_wk_t[68];

/* The schedule of the block a[0..32) ‖ b[0..32) with sha256msg1/2. */
SHANI INL void ni_sched(const uint8_t *a, const uint8_t *b, uint32_t *wk) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i w[4];
  w[0] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)a), bswap);
  w[1] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(a + 16)), bswap);
  w[2] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)b), bswap);
  w[3] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(b + 16)), bswap);
#pragma GCC unroll 16
  for (int g = 0; g < 16; g++) {
    _mm_storeu_si128((__m128i *)(wk + 4 * g),
                     _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&sdr_K256[4 * g])));
    if (g < 12) {
      /* W[g+4] from W[g..g+3]; it replaces W[g], which the rounds above consumed. */
      __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
      w[g & 3] = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
    }
  }
}

#define NI_W(w, k) _mm_loadu_si128((const __m128i *)((w) + (k)))

/* One compression in each of n streams, round by round across the streams. State as (ABEF, CDGH), in locals so
 * that the compiler keeps every stream in registers (arrays indexed in a loop went through the stack). `after`
 * (NULL: nothing) runs after every second round group: a compile-time constant at each call, inlined there (the
 * pipelined batch computes its next schedules in it, sdr_pipe.c). */
SHANI INL void ni_rounds(const int n, __m128i *s0, __m128i *s1, const uint32_t *const *wk, void (*after)(void *),
                         void *ctx) {
  __m128i a0 = s0[0], b0 = s1[0], a1 = s0[n > 1], b1 = s1[n > 1];
  __m128i a2 = s0[n > 2 ? 2 : 0], b2 = s1[n > 2 ? 2 : 0], a3 = s0[n > 3 ? 3 : 0], b3 = s1[n > 3 ? 3 : 0];
  const uint32_t *w0 = wk[0], *w1 = wk[n > 1], *w2 = wk[n > 2 ? 2 : 0], *w3 = wk[n > 3 ? 3 : 0];
#pragma GCC unroll 16
  for (int g = 0; g < 16; g++) {
    b0 = _mm_sha256rnds2_epu32(b0, a0, NI_W(w0, 4 * g));
    if (n > 1) b1 = _mm_sha256rnds2_epu32(b1, a1, NI_W(w1, 4 * g));
    if (n > 2) b2 = _mm_sha256rnds2_epu32(b2, a2, NI_W(w2, 4 * g));
    if (n > 3) b3 = _mm_sha256rnds2_epu32(b3, a3, NI_W(w3, 4 * g));
    a0 = _mm_sha256rnds2_epu32(a0, b0, NI_W(w0, 4 * g + 2));
    if (n > 1) a1 = _mm_sha256rnds2_epu32(a1, b1, NI_W(w1, 4 * g + 2));
    if (n > 2) a2 = _mm_sha256rnds2_epu32(a2, b2, NI_W(w2, 4 * g + 2));
    if (n > 3) a3 = _mm_sha256rnds2_epu32(a3, b3, NI_W(w3, 4 * g + 2));
    if (after && (g & 1)) after(ctx);
  }
  s0[0] = _mm_add_epi32(s0[0], a0), s1[0] = _mm_add_epi32(s1[0], b0);
  if (n > 1) s0[1] = _mm_add_epi32(s0[1], a1), s1[1] = _mm_add_epi32(s1[1], b1);
  if (n > 2) s0[2] = _mm_add_epi32(s0[2], a2), s1[2] = _mm_add_epi32(s1[2], b2);
  if (n > 3) s0[3] = _mm_add_epi32(s0[3], a3), s1[3] = _mm_add_epi32(s1[3], b3);
}

/* The blocks of one label, in message order: the header, the nb distinct parent pairs (7 after layer 1, 3 on
 * it), the last block (one parent and the padding). */
enum { NI_BLOCKS = 9 };

/* The label from a final state (ABEF, CDGH): big-endian words, top two bits of the last byte cleared. One store
 * per half: the next label reads this one as its parent 0 at once, and a byte masked in memory after a 16-byte
 * store cannot be forwarded to that read. */
SHANI INL void ni_put_label(__m128i s0, __m128i s1, uint8_t *out) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  const __m128i mask = _mm_set_epi64x(0x3fffffffffffffffLL, -1LL);
  __m128i t = _mm_shuffle_epi32(s0, 0x1B);  /* FEBA */
  __m128i u = _mm_shuffle_epi32(s1, 0xB1);  /* DCHG */
  __m128i abcd = _mm_blend_epi16(t, u, 0xF0); /* DCBA */
  __m128i efgh = _mm_alignr_epi8(u, t, 8);    /* HGFE */
  _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(abcd, bswap));
  _mm_storeu_si128((__m128i *)(out + 16), _mm_and_si128(_mm_shuffle_epi8(efgh, bswap), mask));
}

#define AVX512 __attribute__((target("avx512f,avx512bw")))

/* 16 vectors of 16 words: r[i].word[j] <-> r[j].word[i]. */
AVX512 INL void z_transpose(__m512i r[16]) {
  __m512i t[16], u[16];
  for (int k = 0; k < 8; k++) {
    t[2 * k] = _mm512_unpacklo_epi32(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_epi32(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 4; k++) {
    u[4 * k] = _mm512_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 1] = _mm512_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
    u[4 * k + 2] = _mm512_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
    u[4 * k + 3] = _mm512_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
  }
  /* u[4k + c], 128-bit lane L: word 4L + c of rows 4k..4k+3; a 4 × 4 transpose of 128-bit lanes finishes it */
  for (int c = 0; c < 4; c++) {
    __m512i x0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), x1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xEE);
    __m512i y0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44), y1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(x0, y0, 0xDD);
    r[8 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xDD);
  }
}

/* Words 0..15 of 16 blocks' message schedules (block i = a[i][0..32) ‖ b[i][0..32); blocks past n repeat block 0),
 * word t of every block in w[t]: loaded, transposed, byte-swapped. */
AVX512 INL void z_load16(const uint8_t *const *a, const uint8_t *const *b, int n, __m512i w[16]) {
  const __m512i bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
  for (int i = 0; i < 16; i++) {
    const int k = i < n ? i : 0;
    w[i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a[k])),
                              _mm256_loadu_si256((const __m256i *)b[k]), 1);
  }
  z_transpose(w);
  for (int t = 0; t < 16; t++) w[t] = _mm512_shuffle_epi8(w[t], bswap);
}

/* Schedule word t >= 16 of 16 blocks from the words before it. */
AVX512 INL __m512i z_expand(const __m512i *w, int t) {
  const __m512i x = w[t - 15], y = w[t - 2];
  const __m512i s0 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 7), _mm512_ror_epi32(x, 18), _mm512_srli_epi32(x, 3), 0x96);
  const __m512i s1 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(y, 17), _mm512_ror_epi32(y, 19), _mm512_srli_epi32(y, 10), 0x96);
  return _mm512_add_epi32(_mm512_add_epi32(w[t - 16], s0), _mm512_add_epi32(w[t - 7], s1));
}

/* The initial state as (ABEF, CDGH). */
#define NI_IV0 _mm_set_epi32((int)sdr_H256[0], (int)sdr_H256[1], (int)sdr_H256[4], (int)sdr_H256[5])
#define NI_IV1 _mm_set_epi32((int)sdr_H256[2], (int)sdr_H256[3], (int)sdr_H256[6], (int)sdr_H256[7])
#endif
#endif
