/*
 * SDR kernels (rust-fil-proofs stacked DRG): parent generation and layer labeling.
 *
 *   sdrParents(drgSeed28, feistelKeys32, nodes, legacy, start, count, out)   14 parents per node, u32
 *   sdrLabelChunk(replicaId, layer, firstNode, count, parents, cur, outSlot, prev)
 *   sdrLabelChunkWindowed(replicaId, layer, firstNode, count, parents, window, wBase, curSource, prevSegs, segNodes,
 *                         resident, prevSource)    bounded-memory labeling; sources are fds (pread) or mappings
 *   sdrMapFile(fd, length, random) -> mapping;  sdrUnmap(mapping)
 *   sdrShaBackend([want]) -> "sha-ni" | "portable"   (VENUS_SDR_PORTABLE_SHA=1 starts on portable)
 *   sdrBlake2bBackend([want]) -> "avx512" | "avx2" | "scalar"   (VENUS_SDR_BLAKE2B picks at load)
 *   sdrLabelChunkWindowedBatch(...)   sdrLabelChunkWindowed for K sectors; per-sector errors returned
 *   sdrLabelChunkBatch, sdrLanesBackend: in sdr_batch.c, which also hashes every label (sdr_hash_lanes)
 *
 * Every function has a TypeScript twin in src/proofs/sdr/ that gives identical bytes; tests compare them.
 * SHA-256 uses the x86 SHA extensions when cpuid reports them, else portable C.
 */
#define _DEFAULT_SOURCE /* pread, mmap, madvise under -std=c11 */
#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#define SDR_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

#include "sdr.h"

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
static sha_blocks_fn sha_blocks = sha256_blocks_portable;
static const char *sha_backend = "portable";

/* Picks the SHA-256 block function: "sha-ni" when asked for (or by default) and the CPU has it. */
static void sha_select(int want_shani) {
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

/* ------------------------------------------------------------- labeling */

/* trunc254(SHA-256(message)) where the message is a sequence of whole 64-byte blocks of total length
 * `len_bytes`, except that the final 32 bytes (`tail`) are followed by the standard padding. The label
 * messages are always 64·k + 32 bytes long (1248 for parents, 64 for node 0 which has no tail). */
static void put_state_le_label(const uint32_t st[8], uint8_t *out) {
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(st[i] >> 24);
    out[4 * i + 1] = (uint8_t)(st[i] >> 16);
    out[4 * i + 2] = (uint8_t)(st[i] >> 8);
    out[4 * i + 3] = (uint8_t)st[i];
  }
  out[31] &= 0x3f;
}

/* Where a chunk's parent labels come from.
 * Direct: DRG parents are 32-byte slots of `cur`, expander parents slots of `prev`.
 * Windowed: `cur` holds nodes [w_base, w_base + len) of the current layer; older DRG parents come from
 * cur_map (the layer file being written, memory-mapped) or by pread of cur_fd; expander parent q comes from
 * segs[q / seg_nodes] when q < resident, else from prev_map (the previous layer's file, mapped) or by pread of
 * prev_fd. Mapped files are served by the page cache: no copy in this process, evictable under pressure. */
typedef struct {
  uint8_t *cur;
  uint64_t cur_nodes;
  const uint8_t *prev;
  uint64_t prev_nodes;
  int windowed;
  uint64_t w_base;
  int cur_fd;
  const uint8_t *cur_map;
  uint64_t cur_map_nodes;
  uint8_t *const *segs;
  uint64_t seg_nodes, resident;
  int prev_fd;
  const uint8_t *prev_map;
  uint64_t prev_map_nodes;
  const char *err; /* set on a failed read or a parent out of range */
} label_src_t;

static int pread_label(int fd, uint64_t node, uint8_t *dst) {
#ifdef _WIN32
  (void)fd, (void)node, (void)dst;
  return 0; /* no pread: the TypeScript windowed path is used there */
#else
  size_t done = 0;
  while (done < 32) {
    ssize_t n = pread(fd, dst + done, 32 - done, (off_t)(node * 32 + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    done += (size_t)n;
  }
  return 1;
#endif
}

/* Where DRG parent p's label lies: in memory (no copy), or read into `scratch` (32 bytes). NULL on failure. */
static inline const uint8_t *src_drg(label_src_t *s, uint32_t p, uint8_t *scratch) {
  if (!s->windowed) {
    if (p >= s->cur_nodes) return s->err = "DRG parent outside cur", NULL;
    return s->cur + (uint64_t)p * 32;
  }
  if (p >= s->w_base) {
    if (p - s->w_base >= s->cur_nodes) return s->err = "DRG parent outside the window", NULL;
    return s->cur + (p - s->w_base) * 32;
  }
  if (s->cur_map) {
    if (p >= s->cur_map_nodes) return s->err = "DRG parent outside the mapped layer", NULL;
    return s->cur_map + (uint64_t)p * 32;
  }
  if (!pread_label(s->cur_fd, p, scratch)) return s->err = "reading an older DRG parent failed", NULL;
  return scratch;
}

static inline const uint8_t *src_exp(label_src_t *s, uint32_t q, uint8_t *scratch) {
  if (!s->windowed) {
    if (q >= s->prev_nodes) return s->err = "expander parent outside prev", NULL;
    return s->prev + (uint64_t)q * 32;
  }
  if (q < s->resident) return s->segs[q / s->seg_nodes] + (q % s->seg_nodes) * 32;
  if (s->prev_map) {
    if (q >= s->prev_map_nodes) return s->err = "expander parent outside the mapped layer", NULL;
    return s->prev_map + (uint64_t)q * 32;
  }
  if (!pread_label(s->prev_fd, q, scratch)) return s->err = "reading an expander parent failed", NULL;
  return scratch;
}

/* Starts loading the next node's parent labels into cache while this node hashes (the expander parents
 * are random reads across a whole layer: DRAM misses at 512MiB and up). Only in-memory sources. */
static inline void prefetch_parents(const label_src_t *s, uint32_t layer, const uint32_t *p) {
  for (int k = 0; k < 6; k++) {
    uint64_t q = p[k];
    if (!s->windowed) {
      if (q < s->cur_nodes) __builtin_prefetch(s->cur + q * 32);
    } else if (q >= s->w_base && q - s->w_base < s->cur_nodes) {
      __builtin_prefetch(s->cur + (q - s->w_base) * 32);
    } else if (q < s->w_base && s->cur_map && q < s->cur_map_nodes) {
      __builtin_prefetch(s->cur_map + q * 32);
    }
  }
  if (layer == 1) return;
  for (int k = 6; k < 14; k++) {
    uint64_t q = p[k];
    if (!s->windowed) {
      if (q < s->prev_nodes) __builtin_prefetch(s->prev + q * 32);
    } else if (q < s->resident) {
      __builtin_prefetch(s->segs[q / s->seg_nodes] + (q % s->seg_nodes) * 32);
    } else if (s->prev_map && q < s->prev_map_nodes) {
      __builtin_prefetch(s->prev_map + q * 32);
    }
  }
}

/* trunc254(SHA-256(header)): node 0's label, a 64-byte message (one padding block, length 512 bits). */
void sdr_label_node0(const uint8_t header[64], uint8_t *out) {
  uint8_t last[64] = {0};
  uint32_t st[8];
  memcpy(st, H256, sizeof st);
  sha_blocks(st, header, 1);
  last[0] = 0x80;
  last[62] = 0x02;
  sha_blocks(st, last, 1);
  put_state_le_label(st, out);
}

/* Labels `count` nodes starting at `first`; label i goes to cur[(out_slot + i) * 32]. Parents: 14 u32 per node
 * (6 DRG, then 8 expander, read only after layer 1). Parent labels are hashed where they lie (sdr_batch.c);
 * only those read from a file are copied. Returns 0 and sets s->err on failure. */
static int label_chunk(const uint8_t *replica_id, uint32_t layer, uint64_t first, uint32_t count,
                       const uint32_t *parents, label_src_t *s, uint64_t out_slot) {
  sdr_lane_t lane;
  uint8_t scratch[14 * 32]; /* parent labels read from a file */
  const int exp = layer > 1;
  const uint32_t pf = (uint32_t)sdr_prefetch_distance();
  enum { GATHER = 128 };
  uint8_t gbuf[GATHER][8][32]; /* 32 KiB */
  const int gather = exp && sdr_gather_expander();
  sdr_lane_header(&lane, replica_id, layer);
  for (uint32_t i = 0; i < count; i++) {
    uint64_t node = first + i;
    sdr_lane_node(&lane, node);
    lane.out = s->cur + (out_slot + i) * 32;
    const uint32_t *p = parents + (uint64_t)i * 14;
    if (gather && (i % GATHER) == 0) {
      /* the next GATHER nodes' expander labels (previous layer: all known) copied in one pass: the reads do not
       * wait on each other or on hashing, so many cache misses are in flight at once */
      uint32_t g = count - i < GATHER ? count - i : GATHER;
      for (uint32_t j = 0; j < g; j++)
        for (int k = 0; k < 8; k++) {
          const uint8_t *q = src_exp(s, p[14 * j + 6 + k], gbuf[j][k]);
          if (!q) return 0;
          if (q != gbuf[j][k]) memcpy(gbuf[j][k], q, 32);
        }
    }
    if (node == 0) {
      sdr_label_node0(lane.header, lane.out);
      continue;
    }
    if (i + pf < count) prefetch_parents(s, gather ? 1 : layer, p + 14 * pf);
    for (int k = 0; k < 6; k++)
      if (!(lane.par[k] = src_drg(s, p[k], scratch + 32 * k))) return 0;
    if (exp && gather)
      for (int k = 6; k < 14; k++) lane.par[k] = gbuf[i % GATHER][k - 6];
    else if (exp)
      for (int k = 6; k < 14; k++)
        if (!(lane.par[k] = src_exp(s, p[k], scratch + 32 * k))) return 0;
    sdr_hash_lanes(&lane, 1, exp);
  }
  return 1;
}

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
static b2_batch_fn b2_batch = blake2b16_first_x1;
static int b2_lanes = 1;
static const char *b2_backend = "scalar";

static void b2_select(const char *want) {
  b2_batch = blake2b16_first_x1;
  b2_lanes = 1;
  b2_backend = "scalar";
#ifdef SDR_X86
  __builtin_cpu_init();
  int any = want == NULL || strcmp(want, "auto") == 0;
  if ((any || strcmp(want, "avx512") == 0) && __builtin_cpu_supports("avx512f")) {
    b2_batch = blake2b16_first_x8;
    b2_lanes = 8;
    b2_backend = "avx512";
  } else if ((any || strcmp(want, "avx2") == 0) && __builtin_cpu_supports("avx2")) {
    b2_batch = blake2b16_first_x4;
    b2_lanes = 4;
    b2_backend = "avx2";
  }
#else
  (void)want;
#endif
}

/* Permutes xs[0..n) in place: xs[i] = permute(N, xs[i]). */
static void feistel_permute_batch(const feistel_t *f, uint64_t *xs, size_t n) {
  enum { MAXL = 8 };
  const int lanes = b2_lanes;
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
    b2_batch(m0, m1, h);
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

/* ----------------------------------------------------------------- N-API */

static void throw_err(napi_env env, const char *msg) { napi_throw_error(env, "ERR_SDR_NATIVE", msg); }

static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  size_t n;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &n, data, &ab, &off) != napi_ok) return 0;
  size_t es = 1;
  if (type == napi_uint32_array || type == napi_int32_array || type == napi_float32_array) es = 4;
  else if (type == napi_uint16_array || type == napi_int16_array) es = 2;
  else if (type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array) es = 8;
  *len = n * es;
  return 1;
}

static int get_u64(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d > 9007199254740991.0 || d != (double)(uint64_t)d)
    return 0;
  *out = (uint64_t)d;
  return 1;
}

void sdr_throw(napi_env env, const char *msg) { throw_err(env, msg); }
int sdr_get_bytes(napi_env env, napi_value v, void **data, size_t *len) { return get_bytes(env, v, data, len); }
int sdr_get_u64(napi_env env, napi_value v, uint64_t *out) { return get_u64(env, v, out); }

/* sdrParents(drgSeed28, feistelKeys32, nodes, legacy, start, count, out: Uint32Array) */
static napi_value js_parents(napi_env env, napi_callback_info info) {
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

/* sdrLabelChunk(replicaId, layer, firstNode, count, parents: Uint32Array, cur, outSlot, prev | null) */
static napi_value js_label_chunk(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 8) return throw_err(env, "sdrLabelChunk: 8 arguments expected"), NULL;
  void *rid, *par, *cur, *prev = NULL;
  size_t rid_len, par_len, cur_len, prev_len = 0;
  uint32_t layer;
  uint64_t first, count, out_slot;
  if (!get_bytes(env, argv[0], &rid, &rid_len) || rid_len != 32)
    return throw_err(env, "sdrLabelChunk: replicaId must be 32 bytes"), NULL;
  if (napi_get_value_uint32(env, argv[1], &layer) != napi_ok || layer < 1)
    return throw_err(env, "sdrLabelChunk: bad layer"), NULL;
  if (!get_u64(env, argv[2], &first) || !get_u64(env, argv[3], &count) || count > 0xffffffffULL)
    return throw_err(env, "sdrLabelChunk: bad node range"), NULL;
  if (!get_bytes(env, argv[4], &par, &par_len) || par_len < count * 14 * 4)
    return throw_err(env, "sdrLabelChunk: parents too short"), NULL;
  if (!get_bytes(env, argv[5], &cur, &cur_len) || !get_u64(env, argv[6], &out_slot) ||
      (out_slot + count) * 32 > cur_len)
    return throw_err(env, "sdrLabelChunk: output slots outside the current-layer buffer"), NULL;
  napi_valuetype t;
  napi_typeof(env, argv[7], &t);
  if (t != napi_null && t != napi_undefined && !get_bytes(env, argv[7], &prev, &prev_len))
    return throw_err(env, "sdrLabelChunk: prev must be a byte array or null"), NULL;
  if (layer > 1 && prev == NULL) return throw_err(env, "sdrLabelChunk: layers after the first need prev"), NULL;
  label_src_t src = {0};
  src.cur = cur;
  src.cur_nodes = cur_len / 32;
  src.prev = prev;
  src.prev_nodes = prev_len / 32;
  if (!label_chunk(rid, layer, first, (uint32_t)count, par, &src, out_slot))
    return throw_err(env, src.err), NULL;
  return NULL;
}

/* sdrShaBackend([want: "sha-ni" | "portable"]) -> the backend in use (after switching, when asked) */
static napi_value js_sha_backend(napi_env env, napi_callback_info info) {
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

/* ---- read-only file mappings: the page cache serves labels without a copy in this process ---- */
typedef struct {
  uint8_t *base;
  size_t len;
} map_t;

static void map_release(map_t *m) {
#ifndef _WIN32
  if (m->base && m->len) munmap(m->base, m->len);
#endif
  m->base = NULL;
  m->len = 0;
}

static void map_finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  map_release((map_t *)data);
  free(data);
}

/* sdrMapFile(fd, length, random: boolean) -> mapping (an external); length 0 maps nothing */
static napi_value js_map_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  uint64_t len;
  bool random = false;
  if (argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !get_u64(env, argv[1], &len) ||
      napi_get_value_bool(env, argv[2], &random) != napi_ok)
    return throw_err(env, "sdrMapFile(fd, length, random)"), NULL;
  map_t *m = calloc(1, sizeof *m);
  if (!m) return throw_err(env, "sdrMapFile: out of memory"), NULL;
#ifdef _WIN32
  free(m);
  return throw_err(env, "sdrMapFile: not supported on Windows"), NULL;
#else
  if (len) {
    void *p = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      free(m);
      char msg[96];
      snprintf(msg, sizeof msg, "sdrMapFile: mmap failed (errno %d)", errno);
      return throw_err(env, msg), NULL;
    }
    /* expander parents are uniform over the layer: read-ahead would only evict useful pages */
    if (random) madvise(p, (size_t)len, MADV_RANDOM);
    m->base = p;
    m->len = (size_t)len;
  }
#endif
  napi_value ext;
  if (napi_create_external(env, m, map_finalize, NULL, &ext) != napi_ok) {
    map_release(m);
    free(m);
    return throw_err(env, "sdrMapFile: cannot wrap the mapping"), NULL;
  }
  return ext;
}

/* ---- layer buffers in huge pages ----
 * Parent labels are random reads over a whole layer (expander parents uniform over the previous one): with 4 KiB
 * pages nearly every one also misses the TLB (an 8MiB layer is 2,048 pages, two layers more than the L2 TLB
 * holds; a 32GiB layer 8 M). A 2 MiB-aligned anonymous mapping advised MADV_HUGEPAGE is backed by 2 MiB pages
 * where the kernel allows it (transparent_hugepage "madvise" or "always"), one TLB entry per 65,536 labels. */
typedef struct {
  void *base;
  size_t len;
  int64_t accounted;
} huge_t;

static void huge_finalize(napi_env env, void *data, void *hint) {
  huge_t *h = hint;
  (void)data;
#ifndef _WIN32
  munmap(h->base, h->len);
#endif
  int64_t ignored;
  napi_adjust_external_memory(env, -h->accounted, &ignored);
  free(h);
}

/* sdrAllocLayer(bytes) -> ArrayBuffer in 2 MiB-aligned memory advised for huge pages, or null where that is not
 * possible (Windows, a runtime refusing external buffers, VENUS_SDR_HUGE=0): the caller then allocates as usual.
 * Contents are zero (fresh anonymous pages). */
static napi_value js_alloc_layer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint64_t len;
  if (argc != 1 || !get_u64(env, argv[0], &len) || len == 0 || len > ((uint64_t)1 << 46))
    return throw_err(env, "sdrAllocLayer(bytes): 1 byte to 64 TiB"), NULL;
  napi_get_null(env, &out);
#ifdef _WIN32
  return out;
#else
  const char *v = getenv("VENUS_SDR_HUGE");
  if (v && v[0] == '0') return out;
  const size_t align = (size_t)2 << 20;
  const size_t span = (size_t)len + align;
  uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return out;
  /* keep the aligned part only, so the huge pages start at the buffer's first byte */
  uint8_t *base = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  size_t len_al = ((size_t)len + 4095) & ~(size_t)4095;
  if (base > raw) munmap(raw, (size_t)(base - raw));
  if (raw + span > base + len_al) munmap(base + len_al, (size_t)(raw + span - (base + len_al)));
#ifdef MADV_HUGEPAGE
  madvise(base, len_al, MADV_HUGEPAGE);
#endif
  huge_t *h = calloc(1, sizeof *h);
  if (!h) return munmap(base, len_al), out;
  h->base = base;
  h->len = len_al;
  h->accounted = (int64_t)len_al;
  if (napi_create_external_arraybuffer(env, base, (size_t)len, huge_finalize, h, &out) != napi_ok) {
    munmap(base, len_al);
    free(h);
    const napi_extended_error_info *e;
    napi_get_last_error_info(env, &e); /* clears the pending status: refusing external buffers is not an error */
    napi_get_null(env, &out);
    return out;
  }
  int64_t ignored;
  napi_adjust_external_memory(env, h->accounted, &ignored);
  return out;
#endif
}

/* sdrUnmap(mapping): releases it now rather than at garbage collection */
static napi_value js_unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t;
  void *data;
  if (argc != 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &data) != napi_ok)
    return throw_err(env, "sdrUnmap(mapping)"), NULL;
  map_release((map_t *)data);
  return NULL;
}

/* A label source argument: a file descriptor (number: pread) or a mapping from sdrMapFile. */
static int get_fd_or_map(napi_env env, napi_value v, int32_t *fd, const map_t **map) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 0;
  *fd = -1;
  *map = NULL;
  if (t == napi_number) return napi_get_value_int32(env, v, fd) == napi_ok;
  if (t != napi_external) return 0;
  void *data;
  if (napi_get_value_external(env, v, &data) != napi_ok) return 0;
  *map = data;
  return (*map)->base != NULL || (*map)->len == 0;
}

/* sdrLabelChunkWindowed(replicaId, layer, firstNode, count, parents, window, wBase, curFd,
 *                       prevSegments: Uint8Array[], segNodes, resident, prevFd)
 * Parents hold absolute node indices. `window` holds nodes [wBase, wBase + window.length/32) of the current
 * layer; labels go to window[(firstNode - wBase + i) * 32]. */
static napi_value js_label_chunk_windowed(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 12) return throw_err(env, "sdrLabelChunkWindowed: 12 arguments expected"), NULL;
  void *rid, *par, *win;
  size_t rid_len, par_len, win_len;
  uint32_t layer, nsegs = 0;
  int32_t cur_fd, prev_fd;
  uint64_t first, count, w_base, seg_nodes, resident;
  if (!get_bytes(env, argv[0], &rid, &rid_len) || rid_len != 32)
    return throw_err(env, "sdrLabelChunkWindowed: replicaId must be 32 bytes"), NULL;
  if (napi_get_value_uint32(env, argv[1], &layer) != napi_ok || layer < 1)
    return throw_err(env, "sdrLabelChunkWindowed: bad layer"), NULL;
  if (!get_u64(env, argv[2], &first) || !get_u64(env, argv[3], &count) || count > 0xffffffffULL)
    return throw_err(env, "sdrLabelChunkWindowed: bad node range"), NULL;
  if (!get_bytes(env, argv[4], &par, &par_len) || par_len < count * 14 * 4)
    return throw_err(env, "sdrLabelChunkWindowed: parents too short"), NULL;
  if (!get_bytes(env, argv[5], &win, &win_len) || !get_u64(env, argv[6], &w_base) || first < w_base ||
      (first - w_base + count) * 32 > win_len)
    return throw_err(env, "sdrLabelChunkWindowed: output outside the window"), NULL;
  const map_t *cur_map = NULL, *prev_map = NULL;
  if (!get_fd_or_map(env, argv[7], &cur_fd, &cur_map) || !get_fd_or_map(env, argv[11], &prev_fd, &prev_map))
    return throw_err(env, "sdrLabelChunkWindowed: curSource/prevSource must be a file descriptor or a mapping"), NULL;
  bool is_arr = false;
  napi_is_array(env, argv[8], &is_arr);
  if (!is_arr || napi_get_array_length(env, argv[8], &nsegs) != napi_ok || nsegs > 4096)
    return throw_err(env, "sdrLabelChunkWindowed: prevSegments must be an array"), NULL;
  if (!get_u64(env, argv[9], &seg_nodes) || seg_nodes == 0 || !get_u64(env, argv[10], &resident))
    return throw_err(env, "sdrLabelChunkWindowed: bad segment geometry"), NULL;
  uint8_t *segs[4096];
  for (uint32_t i = 0; i < nsegs; i++) {
    napi_value e;
    void *d;
    size_t l;
    napi_get_element(env, argv[8], i, &e);
    if (!get_bytes(env, e, &d, &l)) return throw_err(env, "sdrLabelChunkWindowed: segment is not a byte array"), NULL;
    /* every resident node must lie inside its segment */
    uint64_t seg_first = (uint64_t)i * seg_nodes;
    uint64_t need = resident > seg_first ? (resident - seg_first < seg_nodes ? resident - seg_first : seg_nodes) : 0;
    if (l < need * 32) return throw_err(env, "sdrLabelChunkWindowed: segment shorter than the resident range"), NULL;
    segs[i] = d;
  }
  if ((resident + seg_nodes - 1) / seg_nodes > nsegs)
    return throw_err(env, "sdrLabelChunkWindowed: resident range beyond the segments"), NULL;
  label_src_t src = {0};
  src.cur = win;
  src.cur_nodes = win_len / 32;
  src.windowed = 1;
  src.w_base = w_base;
  src.cur_fd = cur_fd;
  if (cur_map) {
    src.cur_map = cur_map->base;
    src.cur_map_nodes = cur_map->len / 32;
  }
  src.segs = segs;
  src.seg_nodes = seg_nodes;
  src.resident = resident;
  src.prev_fd = prev_fd;
  if (prev_map) {
    src.prev_map = prev_map->base;
    src.prev_map_nodes = prev_map->len / 32;
  }
  if (!label_chunk(rid, layer, first, (uint32_t)count, par, &src, first - w_base))
    return throw_err(env, src.err), NULL;
  return NULL;
}

/* sdrLabelChunkWindowedBatch(replicaIds: Uint8Array[], layer, firstNode, count, parents, windows: Uint8Array[],
 *                            wBase, curSources[], prevSources[]) -> (string | null)[]
 * sdrLabelChunkWindowed for K sectors at once (nothing of the previous layers resident: they come from their
 * sources, mappings or descriptors). A sector whose source fails is left out of the rest of the chunk and gets
 * its error in the returned array; the others go on. */
static napi_value js_label_chunk_windowed_batch(napi_env env, napi_callback_info info) {
  enum { MAXK = 64 };
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 9) return throw_err(env, "sdrLabelChunkWindowedBatch: 9 arguments expected"), NULL;
  uint32_t k = 0, layer, n;
  uint64_t first, count, w_base;
  void *par;
  size_t par_len;
  bool is_arr = false;
  napi_is_array(env, argv[0], &is_arr);
  if (!is_arr || napi_get_array_length(env, argv[0], &k) != napi_ok || k < 1 || k > MAXK)
    return throw_err(env, "sdrLabelChunkWindowedBatch: replicaIds must be an array of 1 to 64 ids"), NULL;
  if (napi_get_value_uint32(env, argv[1], &layer) != napi_ok || layer < 1)
    return throw_err(env, "sdrLabelChunkWindowedBatch: bad layer"), NULL;
  if (!get_u64(env, argv[2], &first) || !get_u64(env, argv[3], &count) || count > 0xffffffffULL ||
      !get_u64(env, argv[6], &w_base) || first < w_base)
    return throw_err(env, "sdrLabelChunkWindowedBatch: bad node range"), NULL;
  if (!get_bytes(env, argv[4], &par, &par_len) || par_len < count * 14 * 4)
    return throw_err(env, "sdrLabelChunkWindowedBatch: parents too short"), NULL;
  for (int a = 5; a <= 8; a += a == 5 ? 2 : 1) {
    is_arr = false;
    napi_is_array(env, argv[a], &is_arr);
    if (!is_arr || napi_get_array_length(env, argv[a], &n) != napi_ok || n != k)
      return throw_err(env, "sdrLabelChunkWindowedBatch: one window and one source each per sector"), NULL;
  }
  label_src_t src[MAXK];
  sdr_lane_t lanes[MAXK];
  uint8_t scratch[MAXK][14 * 32];
  int live[MAXK], nlive = 0;
  for (uint32_t i = 0; i < k; i++) {
    napi_value e;
    void *d;
    size_t l;
    const map_t *cm, *pm;
    int32_t cfd, pfd;
    napi_get_element(env, argv[0], i, &e);
    if (!get_bytes(env, e, &d, &l) || l != 32)
      return throw_err(env, "sdrLabelChunkWindowedBatch: each replicaId must be 32 bytes"), NULL;
    sdr_lane_header(&lanes[i], d, layer);
    napi_get_element(env, argv[5], i, &e);
    if (!get_bytes(env, e, &d, &l) || (first - w_base + count) * 32 > l)
      return throw_err(env, "sdrLabelChunkWindowedBatch: output outside a window"), NULL;
    memset(&src[i], 0, sizeof src[i]);
    src[i].cur = d;
    src[i].cur_nodes = l / 32;
    src[i].windowed = 1;
    src[i].w_base = w_base;
    src[i].seg_nodes = 1;
    napi_get_element(env, argv[7], i, &e);
    if (!get_fd_or_map(env, e, &cfd, &cm)) return throw_err(env, "sdrLabelChunkWindowedBatch: bad curSource"), NULL;
    napi_get_element(env, argv[8], i, &e);
    if (!get_fd_or_map(env, e, &pfd, &pm)) return throw_err(env, "sdrLabelChunkWindowedBatch: bad prevSource"), NULL;
    src[i].cur_fd = cfd;
    src[i].prev_fd = pfd;
    if (cm) src[i].cur_map = cm->base, src[i].cur_map_nodes = cm->len / 32;
    if (pm) src[i].prev_map = pm->base, src[i].prev_map_nodes = pm->len / 32;
    live[nlive++] = (int)i;
  }
  const int exp = layer > 1;
  const uint32_t pf = (uint32_t)sdr_prefetch_distance();
  const uint32_t *p = par;
  sdr_lane_t run[MAXK]; /* this node's lanes of the sectors whose parents were read */
  for (uint64_t i = 0; i < count && nlive; i++, p += 14) {
    uint64_t node = first + i;
    int m = 0;
    for (int j = 0; j < nlive; j++) {
      int s = live[j];
      label_src_t *sr = &src[s];
      sdr_lane_t *ln = &lanes[s];
      sdr_lane_node(ln, node);
      ln->out = sr->cur + (node - w_base) * 32;
      if (node == 0) {
        sdr_label_node0(ln->header, ln->out);
        continue;
      }
      if (i + pf < count) prefetch_parents(sr, layer, p + 14 * pf);
      int ok = 1;
      for (int q = 0; q < 6 && ok; q++) ok = (ln->par[q] = src_drg(sr, p[q], scratch[s] + 32 * q)) != NULL;
      for (int q = 6; exp && q < 14 && ok; q++) ok = (ln->par[q] = src_exp(sr, p[q], scratch[s] + 32 * q)) != NULL;
      if (!ok) continue; /* sr->err is set: left out below */
      run[m++] = *ln;
    }
    if (m) sdr_hash_lanes(run, m, exp);
    int kept = 0;
    for (int j = 0; j < nlive; j++)
      if (!src[live[j]].err) live[kept++] = live[j];
    nlive = kept;
  }
  napi_value out;
  napi_create_array_with_length(env, k, &out);
  for (uint32_t i = 0; i < k; i++) {
    napi_value v;
    if (src[i].err) napi_create_string_utf8(env, src[i].err, NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    napi_set_element(env, out, i, v);
  }
  return out;
}

/* sdrBlake2bBackend([want: "auto" | "avx512" | "avx2" | "scalar"]) -> the Feistel BLAKE2b backend in use */
static napi_value js_b2_backend(napi_env env, napi_callback_info info) {
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
  napi_create_string_utf8(env, b2_backend, NAPI_AUTO_LENGTH, &s);
  return s;
}

static void def(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

napi_value sdr_register(napi_env env, napi_value exports) {
  sha_select(getenv("VENUS_SDR_PORTABLE_SHA") == NULL);
  b2_select(getenv("VENUS_SDR_BLAKE2B"));
  def(env, exports, "sdrParents", js_parents);
  def(env, exports, "sdrLabelChunk", js_label_chunk);
  def(env, exports, "sdrLabelChunkWindowed", js_label_chunk_windowed);
  def(env, exports, "sdrLabelChunkWindowedBatch", js_label_chunk_windowed_batch);
  def(env, exports, "sdrMapFile", js_map_file);
  def(env, exports, "sdrUnmap", js_unmap);
  def(env, exports, "sdrAllocLayer", js_alloc_layer);
  def(env, exports, "sdrShaBackend", js_sha_backend);
  def(env, exports, "sdrBlake2bBackend", js_b2_backend);
  return sdr_batch_register(env, exports);
}
