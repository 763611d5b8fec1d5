/*
 * Label hashing over several independent SHA-256 streams, and batch labeling (one parent walk, K sectors).
 *
 *   sdrLabelChunkBatch(replicaIds: Uint8Array[], layer, firstNode, count, parents, curs: Uint8Array[], outSlot,
 *                      prevs: Uint8Array[] | null)     sdrLabelChunk for K sectors of the same graph at once
 *   sdrLanesBackend([want]) -> "sha-ni x4, avx512 sched" | "sha-ni x2" | "avx2 x8" | "portable"
 *
 * A label is 20 SHA-256 compressions in a chain: one stream is bound by the latency of sha256rnds2, and most of
 * the core sits idle. Labels of different sectors (same node, same parents, other replica ids) are independent,
 * so 2 to 4 chains are interleaved instruction by instruction, which fills the pipeline (with AVX-512, the message
 * schedules of a batch are computed beforehand in vector registers, and 4 chains run rounds only). The label message also
 * repeats its parent blocks (14 parents = 7 blocks hashed twice, then 4 of them again; 6 parents = 3 blocks six
 * times): each block's message schedule is computed once and reused, and parents are read where they lie
 * (no copy). Without SHA-NI, AVX2 hashes 8 lanes at once (one 32-bit word of each lane per vector).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdr.h"

#if defined(__x86_64__) || defined(__i386__)
#define SDRB_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

extern const uint32_t sdr_K256[64];
extern const uint32_t sdr_H256[8];

const uint8_t sdr_label_pad[32] = {0x80, [30] = 0x27, [31] = 0x00};
#define PAD sdr_label_pad

void sdr_lane_header(sdr_lane_t *lane, const uint8_t *replica_id, uint32_t layer) {
  memcpy(lane->header, replica_id, 32);
  lane->header[32] = (uint8_t)(layer >> 24);
  lane->header[33] = (uint8_t)(layer >> 16);
  lane->header[34] = (uint8_t)(layer >> 8);
  lane->header[35] = (uint8_t)layer;
  memset(lane->header + 36, 0, 28);
}

/* ------------------------------------------------------------ portable */

static void put_be_label(const uint32_t st[8], uint8_t *out) {
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(st[i] >> 24);
    out[4 * i + 1] = (uint8_t)(st[i] >> 16);
    out[4 * i + 2] = (uint8_t)(st[i] >> 8);
    out[4 * i + 3] = (uint8_t)st[i];
  }
  out[31] &= 0x3f;
}

static void label_portable(const sdr_lane_t *L, int exp) {
  uint8_t msg[37 * 32 + 32];
  const int distinct = exp ? 14 : 6;
  for (int s = 0; s < 37; s++) memcpy(msg + 32 * s, L->par[s % distinct], 32);
  memcpy(msg + 37 * 32, PAD, 32);
  uint32_t st[8];
  memcpy(st, sdr_H256, sizeof st);
  sdr_sha256_portable(st, L->header, 1);
  sdr_sha256_portable(st, msg, sizeof msg / 64);
  put_be_label(st, L->out);
}

#ifdef SDRB_X86
#include "sdr_ni.h"

/* n labels. `pre`: their schedules computed already (pre[l][0] header, [1 + j] parent pair j, [1 + nb] last),
 * or NULL: computed here with sha256msg1/2. */
SHANI INL void ni_label_n(sdr_lane_t *L, const int n, const int exp, ni_wk_t *const *pre) {
  __m128i s0[4], s1[4];
  ni_wk_t own[4][NI_BLOCKS];
  const uint32_t *w[4];
  const int nb = exp ? 7 : 3;
  const __m128i iv0 = NI_IV0, iv1 = NI_IV1;
  ni_wk_t *sch[4];
  for (int l = 0; l < n; l++) sch[l] = pre ? pre[l] : own[l];
  /* The header block does not depend on the previous node's label: first in program order, so that the
   * out-of-order core starts it while the previous label's last block is still in flight. Each parent block's
   * schedule is computed just before its first rounds (sha256msg1/2 are slow here: they overlap the rounds of
   * the block before) and kept for the repeats. */
  for (int l = 0; l < n; l++) {
    s0[l] = iv0, s1[l] = iv1;
    if (!pre) ni_sched(L[l].header, L[l].header + 32, sch[l][0]);
    w[l] = sch[l][0];
  }
  ni_rounds(n, s0, s1, w, NULL, NULL);
  /* 37 parent slots: 14 parents twice then 0..7 (+ 8 in the last block), or 6 parents six times (+ 0) */
  const int reps = exp ? 2 : 6;
  for (int j = 0; j < nb; j++) {
    for (int l = 0; l < n; l++) {
      if (!pre) ni_sched(L[l].par[2 * j], L[l].par[2 * j + 1], sch[l][1 + j]);
      w[l] = sch[l][1 + j];
    }
    ni_rounds(n, s0, s1, w, NULL, NULL);
  }
  for (int r = 1; r < reps; r++)
    for (int j = 0; j < nb; j++) {
      for (int l = 0; l < n; l++) w[l] = sch[l][1 + j];
      ni_rounds(n, s0, s1, w, NULL, NULL);
    }
  if (exp)
    for (int j = 0; j < 4; j++) {
      for (int l = 0; l < n; l++) w[l] = sch[l][1 + j];
      ni_rounds(n, s0, s1, w, NULL, NULL);
    }
  for (int l = 0; l < n; l++) {
    if (!pre) ni_sched(L[l].par[exp ? 8 : 0], PAD, sch[l][1 + nb]);
    w[l] = sch[l][1 + nb];
  }
  ni_rounds(n, s0, s1, w, NULL, NULL);
  for (int l = 0; l < n; l++) ni_put_label(s0[l], s1[l], L[l].out);
}

#define NI_VARIANT(N)                                                                                              \
  SHANI static void ni_label_x##N(sdr_lane_t *L, int exp, ni_wk_t *const *pre) {                                   \
    if (exp) ni_label_n(L, N, 1, pre);                                                                             \
    else ni_label_n(L, N, 0, pre);                                                                                 \
  }
NI_VARIANT(1)
NI_VARIANT(2)
NI_VARIANT(3)
NI_VARIANT(4)

/* ------------------------------------------------------------ AVX-512 message schedules, 16 blocks */
/* sha256msg1/2 are slow on some cores (AMD Zen 5: a block's schedule costs about as much as its rounds in four
 * interleaved streams), while the rounds of several streams keep the SHA unit busy. Where AVX-512 is present the
 * batch computes its schedules 16 blocks at a time in vector registers (one block per 32-bit lane) and the
 * SHA-NI streams only run rounds. */
/* The schedules of n <= 16 blocks; block i is a[i][0..32) ‖ b[i][0..32), its W + K goes to out[i]. */
AVX512 static void z_sched16(const uint8_t *const *a, const uint8_t *const *b, int n, uint32_t *const *out) {
  __m512i r[16], w[64];
  z_load16(a, b, n, w);
  for (int t = 16; t < 64; t++) w[t] = z_expand(w, t);
  for (int q = 0; q < 4; q++) {
    for (int j = 0; j < 16; j++) r[j] = _mm512_add_epi32(w[16 * q + j], _mm512_set1_epi32((int)sdr_K256[16 * q + j]));
    z_transpose(r);
    for (int i = 0; i < n; i++) _mm512_storeu_si512((void *)(out[i] + 16 * q), r[i]);
  }
}

static int cpu_has_avx512(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (!((b & (1u << 16)) && (b & (1u << 30)))) return 0; /* AVX512F, AVX512BW */
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xe6) == 0xe6; /* the OS saves the opmask and ZMM state */
}

/* The schedules of every block of n <= 8 labels (NI_BLOCKS each), 16 blocks per pass. */
AVX512 static void z_sched_labels(const sdr_lane_t *L, int n, int exp, ni_wk_t (*sch)[NI_BLOCKS]) {
  const uint8_t *a[16], *b[16];
  uint32_t *o[16];
  const int nb = exp ? 7 : 3;
  int m = 0;
  for (int l = 0; l < n; l++)
    for (int j = 0; j < nb + 2; j++) {
      sdr_label_block(&L[l], exp, j, &a[m], &b[m]);
      o[m++] = sch[l][j];
      if (m == 16) z_sched16(a, b, 16, o), m = 0;
    }
  if (m) z_sched16(a, b, m, o);
}

/* ------------------------------------------------------------ AVX2, 8 lanes */
#define AVX2 __attribute__((target("avx2")))

AVX2 INL __m256i v_ror(__m256i x, int n) { return _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - n)); }

/* 8 rows of 8 words (one 32-byte value per lane) -> 8 vectors of one word across the lanes, and back. */
AVX2 INL void v_transpose(__m256i r[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* W[t] + K[t], t < 64, of 8 blocks; lane l's block is a[l][0..32) ‖ b[l][0..32). */
AVX2 static void v_sched(const uint8_t *const *a, const uint8_t *const *b, __m256i wk[64]) {
  const __m256i bswap = _mm256_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL, 0x0c0d0e0f08090a0bLL,
                                          0x0405060700010203LL);
  __m256i w[64];
  for (int l = 0; l < 8; l++) {
    w[l] = _mm256_loadu_si256((const __m256i *)a[l]);
    w[8 + l] = _mm256_loadu_si256((const __m256i *)b[l]);
  }
  v_transpose(w);
  v_transpose(w + 8);
  for (int t = 0; t < 16; t++) w[t] = _mm256_shuffle_epi8(w[t], bswap);
  for (int t = 16; t < 64; t++) {
    __m256i x = w[t - 15], y = w[t - 2];
    __m256i s0 = _mm256_xor_si256(_mm256_xor_si256(v_ror(x, 7), v_ror(x, 18)), _mm256_srli_epi32(x, 3));
    __m256i s1 = _mm256_xor_si256(_mm256_xor_si256(v_ror(y, 17), v_ror(y, 19)), _mm256_srli_epi32(y, 10));
    w[t] = _mm256_add_epi32(_mm256_add_epi32(w[t - 16], s0), _mm256_add_epi32(w[t - 7], s1));
  }
  for (int t = 0; t < 64; t++) wk[t] = _mm256_add_epi32(w[t], _mm256_set1_epi32((int)sdr_K256[t]));
}

AVX2 static void v_rounds(__m256i st[8], const __m256i wk[64]) {
  __m256i a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
  for (int t = 0; t < 64; t++) {
    __m256i S1 = _mm256_xor_si256(_mm256_xor_si256(v_ror(e, 6), v_ror(e, 11)), v_ror(e, 25));
    __m256i ch = _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g));
    __m256i t1 = _mm256_add_epi32(_mm256_add_epi32(h, S1), _mm256_add_epi32(ch, wk[t]));
    __m256i S0 = _mm256_xor_si256(_mm256_xor_si256(v_ror(a, 2), v_ror(a, 13)), v_ror(a, 22));
    __m256i maj = _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)));
    __m256i t2 = _mm256_add_epi32(S0, maj);
    h = g, g = f, f = e, e = _mm256_add_epi32(d, t1), d = c, c = b, b = a, a = _mm256_add_epi32(t1, t2);
  }
  st[0] = _mm256_add_epi32(st[0], a), st[1] = _mm256_add_epi32(st[1], b);
  st[2] = _mm256_add_epi32(st[2], c), st[3] = _mm256_add_epi32(st[3], d);
  st[4] = _mm256_add_epi32(st[4], e), st[5] = _mm256_add_epi32(st[5], f);
  st[6] = _mm256_add_epi32(st[6], g), st[7] = _mm256_add_epi32(st[7], h);
}

/* Up to 8 labels; missing lanes repeat lane 0 and are not stored. */
AVX2 static void v_label_x8(sdr_lane_t *L, int n, int exp) {
  __m256i wb[7][64], wk[64], st[8];
  const uint8_t *a[8], *b[8];
  const int nb = exp ? 7 : 3;
  for (int i = 0; i < 8; i++) st[i] = _mm256_set1_epi32((int)sdr_H256[i]);
  for (int l = 0; l < 8; l++) a[l] = L[l < n ? l : 0].header, b[l] = a[l] + 32;
  v_sched(a, b, wk);
  v_rounds(st, wk);
  for (int j = 0; j < nb; j++) {
    for (int l = 0; l < 8; l++) a[l] = L[l < n ? l : 0].par[2 * j], b[l] = L[l < n ? l : 0].par[2 * j + 1];
    v_sched(a, b, wb[j]);
  }
  const int reps = exp ? 2 : 6;
  for (int r = 0; r < reps; r++)
    for (int j = 0; j < nb; j++) v_rounds(st, wb[j]);
  if (exp)
    for (int j = 0; j < 4; j++) v_rounds(st, wb[j]);
  for (int l = 0; l < 8; l++) a[l] = L[l < n ? l : 0].par[exp ? 8 : 0], b[l] = PAD;
  v_sched(a, b, wk);
  v_rounds(st, wk);
  v_transpose(st);
  const __m256i bswap = _mm256_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL, 0x0c0d0e0f08090a0bLL,
                                          0x0405060700010203LL);
  for (int l = 0; l < n; l++) {
    _mm256_storeu_si256((__m256i *)L[l].out, _mm256_shuffle_epi8(st[l], bswap));
    L[l].out[31] &= 0x3f;
  }
}

static int cpu_has_avx2(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & (1u << 5)) != 0;
}
#endif

/* 12 nodes ahead: with the kernel faster, 4 no longer hid a DRAM miss. Layer 2 of the C harness (thread CPU,
 * shared Zen 5 box): 128 MiB layer 0.46-0.47 vs 0.39-0.41 of the SHA-NI rate, 8 MiB 0.65-0.71 vs 0.62-0.67. */
static int prefetch_nodes = 0;

int sdr_prefetch_distance(void) {
  if (!prefetch_nodes) {
    const char *v = getenv("VENUS_SDR_PREFETCH");
    int d = v ? atoi(v) : 0;
    prefetch_nodes = d >= 1 && d <= 64 ? d : 12;
  }
  return prefetch_nodes;
}

/* Expander parents are uniform over the previous layer: cache misses. Gathered 128 nodes at a time they overlap;
 * read one node at a time (even prefetched) they mostly wait in turn. 8MiB, single sector: ~+10-20% on layer 2+
 * on the development box. */
static int gather_on = -1;

int sdr_gather_expander(void) {
  if (gather_on < 0) {
    const char *v = getenv("VENUS_SDR_GATHER");
    gather_on = !(v && v[0] == '0');
  }
  return gather_on;
}

static int avx2_checked = -1;
static int avx512_checked = -1;

/* AVX-512 schedules for batches (VENUS_SDR_NO_AVX512=1 turns them off). */
static int use_avx512(void) {
#ifdef SDRB_X86
  if (avx512_checked < 0) avx512_checked = getenv("VENUS_SDR_NO_AVX512") == NULL && cpu_has_avx512();
  return avx512_checked;
#else
  return 0;
#endif
}

static int use_avx2(void) {
#ifdef SDRB_X86
  if (avx2_checked < 0) avx2_checked = getenv("VENUS_SDR_NO_AVX2") == NULL && cpu_has_avx2();
  return avx2_checked;
#else
  return 0;
#endif
}

/* SHA-NI streams hashed together. Measured on an AMD EPYC Zen 5 (2 vCPUs, shared): with sha256msg1/2 schedules
 * 2 streams give ~1.4x one stream and 4 no more (the schedules, not the rounds, are the limit there); with the
 * schedules from AVX-512, 4 streams. VENUS_SDR_LANES=1..4 overrides. */
static int ni_group = -1; /* -1: not read yet (read once: getenv was 0.5% of a batch's CPU when every call read it) */

static int ni_lanes(void) {
  if (ni_group < 0) {
    const char *g = getenv("VENUS_SDR_LANES");
    ni_group = g && g[0] >= '1' && g[0] <= '4' && !g[1] ? g[0] - '0' : 0;
  }
  /* with the schedules done beforehand the rounds alone are interleaved: 4 streams then beat 2 (AMD Zen 5, in
   * cache: 4 streams' rounds ~2.05x one full label, two pairs ~1.8x) */
  return ni_group ? ni_group : use_avx512() ? 4 : 2;
}

int sdr_lanes_group(void) { return ni_lanes(); }
int sdr_batch_avx512(void) { return use_avx512(); }

/* Each 16 labels of a batch in AVX-512 lanes (sdr_z16.c) where the CPU has AVX-512; VENUS_SDR_Z16=0 turns it
 * off (then SHA-NI streams or AVX2 lanes hash them as below). */
static int z16_on = -1;

int sdr_z16_enabled(void) {
  if (z16_on < 0) {
    const char *v = getenv("VENUS_SDR_Z16");
    z16_on = !(v && v[0] == '0');
  }
  return z16_on && use_avx512();
}

const char *sdr_lanes_backend(void) {
  static char name[48];
  const char *z = sdr_z16_enabled() ? " + avx512 x16" : "";
  if (!sdr_sha_shani_selected()) snprintf(name, sizeof name, "%s%s", use_avx2() ? "avx2 x8" : "portable", z);
  else snprintf(name, sizeof name, use_avx512() ? "sha-ni x%d, avx512 sched%s" : "sha-ni x%d%s", ni_lanes(), z);
  return name;
}

void sdr_hash_lanes(sdr_lane_t *L, int n, int exp) {
#ifdef SDRB_X86
  /* each 16 labels in AVX-512 lanes, the rest below */
  const int z = sdr_z16_enabled() ? n / 16 * 16 : 0;
  if (z) sdr_z16_labels(L, z, exp), L += z, n -= z;
  if (n == 0) return;
  if (sdr_sha_shani_selected()) {
    const int gmax = ni_lanes();
    /* several labels (a batch): schedules in AVX-512 first, 8 labels at a time, where the CPU has it; a single
     * label (one sector) keeps sha256msg1/2, which overlap its rounds (its blocks depend on the label before) */
    const int zs = n > 1 && use_avx512();
    ni_wk_t sch[8][NI_BLOCKS];
    ni_wk_t *pre[8];
    while (n > 0) {
      const int c = n < 8 ? n : 8;
      if (zs) z_sched_labels(L, c, exp, sch);
      for (int i = 0; i < c;) {
        const int g = c - i < gmax ? c - i : gmax;
        for (int l = 0; l < g; l++) pre[l] = sch[i + l];
        ni_wk_t *const *p = zs ? pre : NULL;
        if (g == 4) ni_label_x4(L + i, exp, p);
        else if (g == 3) ni_label_x3(L + i, exp, p);
        else if (g == 2) ni_label_x2(L + i, exp, p);
        else ni_label_x1(L + i, exp, p);
        i += g;
      }
      n -= c, L += c;
    }
    return;
  }
  /* a single stream gains nothing from 8 lanes: one lane is a scalar hash at a fraction of the speed */
  if (n > 1 && use_avx2()) {
    for (; n > 0; n -= 8, L += 8) v_label_x8(L, n < 8 ? n : 8, exp);
    return;
  }
#endif
  for (int l = 0; l < n; l++) label_portable(&L[l], exp);
}

/* ------------------------------------------------------------ N-API */

enum { MAX_BATCH = 64, GB = 32 };

/* What sdrLabelChunkBatch reads a node's parents from (see there). */
typedef struct {
  uint32_t k;
  int exp;
  uint64_t first, count, out_slot;
  const uint32_t *par;
  uint8_t *const *cur;
  const uint8_t *const *prev;
  uint64_t cur_nodes, prev_nodes;
  uint8_t *gb; /* expander labels of GB nodes × k sectors, two halves; NULL: read in place */
  sdr_fill_t *fill;  /* a second thread gathering groups of GB nodes ahead (sdr_fill.c), or NULL */
  uint8_t *gsel[2];  /* where the group of node i's expander labels is: gsel[(i / GB) & 1] */
  const uint8_t *gdrg[2], *gmask[2]; /* and its DRG labels copied ahead, gmask[.][i % GB] bit j: parent j there */
} batch_src_t;

/* A group's slot in the ring of the second thread: the expander labels (as a half of gb), then the final DRG
 * parents' labels of every node and sector, then a byte per node saying which DRG parents are there. */
static size_t group_exp_bytes(uint32_t k) { return (size_t)k * GB * 8 * 32; }
static size_t group_drg_bytes(uint32_t k) { return (size_t)k * GB * 6 * 32; }

/* The expander labels of group g (nodes g·GB .. g·GB + GB − 1), every sector, into `out` laid out as a half of gb.
 * Parents outside prev are skipped: prepare_node rejects them before any lane reads the group. */
static void gather_group(const batch_src_t *b, uint64_t g, uint8_t *out) {
  const uint64_t i = g * GB, n = b->count - i < GB ? b->count - i : GB;
  const uint32_t *p = b->par + i * 14;
  for (uint32_t s = 0; s < b->k; s++)
    for (uint64_t j = 0; j < n; j++)
      for (int q = 0; q < 8; q++) {
        const uint32_t e = p[14 * j + 6 + q];
        if (e < b->prev_nodes) memcpy(out + ((s * GB + j) * 8 + q) * 32, b->prev[s] + (uint64_t)e * 32, 32);
      }
}

static uint32_t fill_group(void *ctx, uint64_t g, uint64_t done, uint8_t *slot) {
  const batch_src_t *b = ctx;
  gather_group(b, g, slot);
  /* DRG parents whose labels are final: cur slots before the outputs of the nodes not hashed yet, or past them */
  const uint64_t i = g * GB, n = b->count - i < GB ? b->count - i : GB, pend = b->out_slot + done * GB;
  uint8_t *drg = slot + group_exp_bytes(b->k), *mask = drg + group_drg_bytes(b->k);
  for (uint64_t j = 0; j < n; j++) {
    const uint32_t *p = b->par + (i + j) * 14;
    uint8_t m = 0;
    for (int q = 0; q < 6; q++) {
      if (p[q] >= b->cur_nodes || (p[q] >= pend && p[q] < b->out_slot + b->count)) continue;
      for (uint32_t s = 0; s < b->k; s++) memcpy(drg + ((s * GB + j) * 6 + q) * 32, b->cur[s] + (uint64_t)p[q] * 32, 32);
      m |= (uint8_t)(1u << q);
    }
    mask[j] = m;
  }
  return 1;
}

/* Points lanes (one per sector) at node first + i's parents and output slot; at the start of a run of GB nodes,
 * copies their expander labels, every sector, in one pass (see sdr_gather_expander) into half (i / GB) & 1.
 * Returns an error naming the bad parent, or NULL. */
static const char *prepare_node(batch_src_t *b, uint64_t i, sdr_lane_t *lanes) {
  const uint32_t *p = b->par + i * 14;
  const uint64_t node = b->first + i, slot = (b->out_slot + i) * 32;
  if (b->gb && i % GB == 0) {
    const uint64_t g = b->count - i < GB ? b->count - i : GB;
    for (uint64_t j = 0; j < g; j++)
      for (int q = 6; q < 14; q++)
        if (p[14 * j + q] >= b->prev_nodes) return "sdrLabelChunkBatch: expander parent outside prev";
    /* gathered ahead by the second thread, else here into this group's own half */
    const int h = (i / GB) & 1;
    if (b->fill && i / GB < sdr_fill_ready(b->fill)) {
      b->gsel[h] = sdr_fill_slot(b->fill, i / GB, NULL);
      b->gdrg[h] = b->gsel[h] + group_exp_bytes(b->k);
      b->gmask[h] = b->gdrg[h] + group_drg_bytes(b->k);
    } else {
      b->gsel[h] = b->gb + (size_t)h * group_exp_bytes(b->k), b->gmask[h] = NULL;
      gather_group(b, i / GB, b->gsel[h]);
    }
  }
  uint8_t *half = b->gb ? b->gsel[(i / GB) & 1] : NULL;
  const uint8_t *drg = half ? b->gdrg[(i / GB) & 1] : NULL;
  const unsigned mask = half && b->gmask[(i / GB) & 1] ? b->gmask[(i / GB) & 1][i % GB] : 0;
  for (uint32_t s = 0; s < b->k; s++) sdr_lane_node(&lanes[s], node), lanes[s].out = b->cur[s] + slot;
  if (node == 0) return NULL;
  for (int j = 0; j < 6; j++)
    if (p[j] >= b->cur_nodes) return "sdrLabelChunkBatch: DRG parent outside cur";
  for (int j = 6; b->exp && !half && j < 14; j++)
    if (p[j] >= b->prev_nodes) return "sdrLabelChunkBatch: expander parent outside prev";
  for (uint32_t s = 0; s < b->k; s++) {
    sdr_lane_t *ln = &lanes[s];
    for (int j = 0; j < 6; j++)
      ln->par[j] = mask >> j & 1 ? drg + ((s * GB + i % GB) * 6 + j) * 32 : b->cur[s] + (uint64_t)p[j] * 32;
    if (half)
      for (int j = 0; j < 8; j++) ln->par[6 + j] = half + ((s * GB + i % GB) * 8 + j) * 32;
    else if (b->exp)
      for (int j = 6; j < 14; j++) ln->par[j] = b->prev[s] + (uint64_t)p[j] * 32;
  }
  return NULL;
}

/* sdrLabelChunkBatch(replicaIds: Uint8Array[], layer, firstNode, count, parents: Uint32Array, curs: Uint8Array[],
 *                    outSlot, prevs: Uint8Array[] | null)
 * sdrLabelChunk for K sectors at once: the same parents (absolute node indices, 14 u32 per node) index each
 * sector's own buffers; label i of sector k goes to curs[k][(outSlot + i) · 32]. */
static napi_value js_label_chunk_batch(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 8) return sdr_throw(env, "sdrLabelChunkBatch: 8 arguments expected"), NULL;
  uint32_t k = 0, nprev = 0, layer;
  uint64_t first, count, out_slot;
  bool is_arr = false;
  napi_is_array(env, argv[0], &is_arr);
  if (!is_arr || napi_get_array_length(env, argv[0], &k) != napi_ok || k < 1 || k > MAX_BATCH)
    return sdr_throw(env, "sdrLabelChunkBatch: replicaIds must be an array of 1 to 64 ids"), NULL;
  if (napi_get_value_uint32(env, argv[1], &layer) != napi_ok || layer < 1)
    return sdr_throw(env, "sdrLabelChunkBatch: bad layer"), NULL;
  if (!sdr_get_u64(env, argv[2], &first) || !sdr_get_u64(env, argv[3], &count) || count > 0xffffffffULL)
    return sdr_throw(env, "sdrLabelChunkBatch: bad node range"), NULL;
  void *par;
  size_t par_len;
  if (!sdr_get_bytes(env, argv[4], &par, &par_len) || par_len < count * 14 * 4)
    return sdr_throw(env, "sdrLabelChunkBatch: parents too short"), NULL;
  if (!sdr_get_u64(env, argv[6], &out_slot)) return sdr_throw(env, "sdrLabelChunkBatch: bad outSlot"), NULL;
  napi_valuetype t;
  napi_typeof(env, argv[7], &t);
  const int exp = layer > 1;
  if (exp) {
    is_arr = false;
    napi_is_array(env, argv[7], &is_arr);
    if (!is_arr || napi_get_array_length(env, argv[7], &nprev) != napi_ok || nprev != k)
      return sdr_throw(env, "sdrLabelChunkBatch: layers after the first need one prev per sector"), NULL;
  }
  is_arr = false;
  uint32_t ncur = 0;
  napi_is_array(env, argv[5], &is_arr);
  if (!is_arr || napi_get_array_length(env, argv[5], &ncur) != napi_ok || ncur != k)
    return sdr_throw(env, "sdrLabelChunkBatch: one cur buffer per sector expected"), NULL;
  uint8_t *cur[MAX_BATCH];
  const uint8_t *prev[MAX_BATCH];
  uint64_t cur_nodes = UINT64_MAX, prev_nodes = UINT64_MAX;
  sdr_lane_t lanes[2][MAX_BATCH];
  for (uint32_t i = 0; i < k; i++) {
    napi_value e;
    void *d;
    size_t l;
    napi_get_element(env, argv[0], i, &e);
    if (!sdr_get_bytes(env, e, &d, &l) || l != 32)
      return sdr_throw(env, "sdrLabelChunkBatch: each replicaId must be 32 bytes"), NULL;
    sdr_lane_header(&lanes[0][i], d, layer);
    sdr_lane_header(&lanes[1][i], d, layer);
    napi_get_element(env, argv[5], i, &e);
    if (!sdr_get_bytes(env, e, &d, &l) || (out_slot + count) * 32 > l)
      return sdr_throw(env, "sdrLabelChunkBatch: output slots outside a current-layer buffer"), NULL;
    cur[i] = d;
    if (l / 32 < cur_nodes) cur_nodes = l / 32;
    if (exp) {
      napi_get_element(env, argv[7], i, &e);
      if (!sdr_get_bytes(env, e, &d, &l)) return sdr_throw(env, "sdrLabelChunkBatch: prev is not a byte array"), NULL;
      prev[i] = d;
      if (l / 32 < prev_nodes) prev_nodes = l / 32;
    }
  }
  batch_src_t src = {.k = k, .exp = exp, .first = first, .count = count, .out_slot = out_slot, .par = par,
                     .cur = cur, .prev = prev, .cur_nodes = cur_nodes, .prev_nodes = prev_nodes};
  const uint64_t pf = (uint64_t)sdr_prefetch_distance();
  const int gather = exp && sdr_gather_expander();
  /* two halves: node i + 1 is set up (and, at a run's start, gathered) while node i still reads its own half */
  src.gb = gather ? malloc((size_t)2 * k * GB * 8 * 32) : NULL;
  if (gather && !src.gb) return sdr_throw(env, "sdrLabelChunkBatch: out of memory"), NULL;
  /* groups gathered ahead by a second thread where it runs: a ring of about 1 MiB (4 to 16 groups) */
  const size_t group_bytes = group_exp_bytes(k) + group_drg_bytes(k) + GB;
  uint32_t ring = (uint32_t)((1u << 20) / group_bytes);
  ring = ring < 4 ? 4 : ring > 16 ? 16 : ring;
  const sdr_fill_job_t job = {.fill = fill_group, .ctx = &src, .units = (count + GB - 1) / GB,
                              .unit_bytes = group_bytes, .ring = ring, .refill = ring / 4, .publish = 1};
  src.fill = gather && count >= 4096 ? sdr_fill_start(&job) : NULL;
  /* each 16 sectors in AVX-512 lanes (sdr_z16.c); the rest in SHA-NI streams, with AVX-512 schedules node i + 1's
   * computed beside node i's rounds (sdr_pipe.c) */
  const uint32_t z16 = sdr_z16_enabled() ? k / 16 * 16 : 0, rest = k - z16;
  sdr_pipe_t *pipe = sdr_pipe_new((int)rest);
  const char *err = count ? prepare_node(&src, 0, lanes[0]) : NULL;
  for (uint64_t i = 0; i < count && !err; i++) {
    sdr_lane_t *now = lanes[i & 1], *next = i + 1 < count ? lanes[(i + 1) & 1] : NULL;
    if (next && (err = prepare_node(&src, i + 1, next))) break;
    /* the parents of a node a little ahead, in every sector, while this one hashes */
    if (i + pf < count) {
      const uint32_t *q = par + (i + pf) * 14;
      for (uint32_t s = 0; s < k; s++) {
        for (int j = 0; j < 6; j++)
          if (q[j] < cur_nodes) __builtin_prefetch(cur[s] + (uint64_t)q[j] * 32);
        for (int j = 6; exp && !gather && j < 14; j++)
          if (q[j] < prev_nodes) __builtin_prefetch(prev[s] + (uint64_t)q[j] * 32);
      }
    }
    if (first + i == 0) {
      for (uint32_t s = 0; s < k; s++) sdr_label_node0(now[s].header, now[s].out);
      continue;
    }
    if (z16) sdr_z16_labels(now, (int)z16, exp);
    if (pipe) sdr_pipe_hash(pipe, now + z16, next ? next + z16 : NULL, exp);
    else if (rest) sdr_hash_lanes(now + z16, (int)rest, exp);
    if (src.fill && ((i + 1) % GB == 0 || i + 1 == count)) sdr_fill_done(src.fill, (i + GB) / GB);
  }
  sdr_fill_stop(src.fill);
  sdr_pipe_free(pipe);
  free(src.gb);
  if (err) return sdr_throw(env, err), NULL;
  return NULL;
}

/* sdrLanesBackend([want: "avx512" | "avx2" | "portable"]) -> how several streams are hashed at once. `want` picks
 * the path used when SHA-NI is off (sdrShaBackend("portable")), and whether SHA-NI batches take their schedules
 * from AVX-512 ("avx512", where the CPU has it): tests compare them all. */
static napi_value js_lanes_backend(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) {
    char want[16] = {0};
    size_t n;
    napi_valuetype t;
    napi_typeof(env, argv[0], &t);
    if (t == napi_string && napi_get_value_string_utf8(env, argv[0], want, sizeof want, &n) == napi_ok) {
      avx2_checked = 0;
      avx512_checked = 0;
#ifdef SDRB_X86
      if (strcmp(want, "avx2") == 0 || strcmp(want, "avx512") == 0) avx2_checked = cpu_has_avx2();
      if (strcmp(want, "avx512") == 0) avx512_checked = cpu_has_avx512();
#endif
    }
  }
  napi_value s;
  napi_create_string_utf8(env, sdr_lanes_backend(), NAPI_AUTO_LENGTH, &s);
  return s;
}

napi_value sdr_batch_register(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "sdrLabelChunkBatch", NAPI_AUTO_LENGTH, js_label_chunk_batch, NULL, &fn);
  napi_set_named_property(env, exports, "sdrLabelChunkBatch", fn);
  napi_create_function(env, "sdrLanesBackend", NAPI_AUTO_LENGTH, js_lanes_backend, NULL, &fn);
  napi_set_named_property(env, exports, "sdrLanesBackend", fn);
  napi_create_function(env, "sdrShaniStreams", NAPI_AUTO_LENGTH, sdr_js_shani_streams, NULL, &fn);
  napi_set_named_property(env, exports, "sdrShaniStreams", fn);
  return exports;
}
