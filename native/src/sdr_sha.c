/*
 * SHA-256 for the SDR labels: the constants sdr_batch.c shares, the portable and SHA-NI block functions, the
 * choice between them (cpuid, VENUS_SDR_PORTABLE_SHA, sdrShaBackend) and sdrShaBackend itself.
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

#define sha_blocks sdr_sha_blocks
#define sha_select sdr_sha_select

/* ---------------------------------------------------------------- SHA-256 */

const uint32_t sdr_K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

const uint32_t sdr_H256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define K256 sdr_K256
#define H256 sdr_H256
#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_blocks_portable(uint32_t st[8], const uint8_t *p, size_t n) {
  uint32_t w[64];
  while (n--) {
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = h + (ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
      uint32_t t2 = (ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
    st[4] += e;
    st[5] += f;
    st[6] += g;
    st[7] += h;
    p += 64;
  }
}

#ifdef SDR_X86
/* Two rounds per sha256rnds2; the state lives as (ABEF, CDGH) between blocks. */
__attribute__((target("sha,sse4.1,ssse3"))) static void sha256_blocks_shani(uint32_t st[8], const uint8_t *p,
                                                                             size_t n) {
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]), 0xB1); /* CDAB */
  __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]), 0x1B); /* EFGH */
  __m128i s0 = _mm_alignr_epi8(t, s1, 8);                                          /* ABEF */
  s1 = _mm_blend_epi16(s1, t, 0xF0);                                               /* CDGH */
  while (n--) {
    __m128i save0 = s0, save1 = s1, w[4];
    for (int g = 0; g < 4; g++) w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
    for (int g = 0; g < 16; g++) {
      __m128i m = _mm_add_epi32(w[g & 3], _mm_loadu_si128((const __m128i *)&K256[4 * g]));
      s1 = _mm_sha256rnds2_epu32(s1, s0, m);
      s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
      if (g < 12) {
        /* W[g+4] from W[g..g+3]; it replaces W[g], which the rounds above consumed. */
        __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
        x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
        w[g & 3] = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
      }
    }
    s0 = _mm_add_epi32(s0, save0);
    s1 = _mm_add_epi32(s1, save1);
    p += 64;
  }
  t = _mm_shuffle_epi32(s0, 0x1B);             /* FEBA */
  s1 = _mm_shuffle_epi32(s1, 0xB1);            /* DCHG */
  s0 = _mm_blend_epi16(t, s1, 0xF0);           /* DCBA */
  s1 = _mm_alignr_epi8(s1, t, 8);              /* HGFE */
  _mm_storeu_si128((__m128i *)&st[0], s0);
  _mm_storeu_si128((__m128i *)&st[4], s1);
}

static int cpu_has_shani(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (!(b & (1u << 29))) return 0; /* SHA */
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  return (c & (1u << 19)) && (c & (1u << 9)); /* SSE4.1, SSSE3 */
}
#endif

typedef void (*sha_blocks_fn)(uint32_t st[8], const uint8_t *p, size_t n);
sha_blocks_fn sha_blocks = sha256_blocks_portable;
static const char *sha_backend = "portable";

/* Picks the SHA-256 block function: "sha-ni" when asked for (or by default) and the CPU has it. */
void sha_select(int want_shani) {
  sha_blocks = sha256_blocks_portable;
  sha_backend = "portable";
#ifdef SDR_X86
  if (want_shani && cpu_has_shani()) {
    sha_blocks = sha256_blocks_shani;
    sha_backend = "sha-ni";
  }
#else
  (void)want_shani;
#endif
}

int sdr_sha_shani_selected(void) { return sha_blocks != sha256_blocks_portable; }
void sdr_sha256_portable(uint32_t st[8], const uint8_t *p, size_t n) { sha256_blocks_portable(st, p, n); }
/* sdrShaBackend([want: "sha-ni" | "portable"]) -> the backend in use (after switching, when asked) */
napi_value sdr_js_sha_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) {
    char want[16] = {0};
    size_t n;
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_string && napi_get_value_string_utf8(env, argv[0], want, sizeof want, &n) == napi_ok)
      sha_select(strcmp(want, "portable") != 0);
  }
  napi_value s;
  napi_create_string_utf8(env, sha_backend, NAPI_AUTO_LENGTH, &s);
  return s;
}
