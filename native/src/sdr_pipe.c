/*
 * Batch labels with the next node's message schedules computed beside this node's rounds.
 *
 * With 4 SHA-NI streams the SHA unit is busy with rounds, and the AVX-512 units idle; measured on an AMD Zen 5,
 * 4 streams' block rounds and a 16-lane AVX-512 block run side by side in the time of the AVX-512 block alone,
 * but only when their instructions are interleaved finely: a whole 16-block schedule (~1,000 instructions)
 * placed between two blocks of rounds mostly waits its turn. So the schedules of node v+1's blocks are cut into
 * steps (load and transpose 16 blocks, expand one word, add K and transpose back a quarter) and one step runs
 * after every second round group of node v's blocks. Blocks that read node v's labels (parent 0 always, any
 * other parent that is node v) cannot be scheduled before node v ends: those are scheduled in line with
 * sha256msg1/2 just before their rounds.
 *
 * One sector (sdr_chain_hash) runs the same pipeline over consecutive nodes: node v + 1's schedules beside node
 * v's rounds, except the blocks that read node v (its parent 0 always).
 */
#include <stdlib.h>
#include <string.h>

#include "sdr.h"
#include "sdr_ni.h"

#if defined(__x86_64__) || defined(__i386__)

#define ZNI __attribute__((target("sha,sse4.1,ssse3,avx512f,avx512bw")))

enum { PIPE_MAX = 64, GROUPS = PIPE_MAX * NI_BLOCKS / 16 + 1, STEPS = 53 };

/* 16 blocks' schedules being computed: w[t] holds word t of every block (lane i = block i). */
typedef struct {
  __m512i w[64];
  const uint8_t *a[16], *b[16];
  uint32_t *out[16];
  int n;
} zgroup_t;

struct sdr_pipe {
  zgroup_t g[GROUPS]; /* first: 64-byte aligned */
  int ng, cg, pc;     /* groups queued, the group and step being worked on */
  int k;
  ni_wk_t sch[2][PIPE_MAX][NI_BLOCKS];
  uint32_t ready[2][PIPE_MAX]; /* bit j: block j's schedule is in sch */
  int side;                    /* sch[side]: the schedules of the node hashed next */
  const sdr_lane_t *next;      /* the lanes whose schedules sch[side] holds, and their node */
  uint64_t next_node;
};

static uint64_t lane_node(const sdr_lane_t *L) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | L->header[36 + i];
  return v;
}

/* Queues the blocks of `next` that do not read `cur`'s labels (cur NULL: all of them). */
static void queue_blocks(sdr_pipe_t *P, const sdr_lane_t *cur, const sdr_lane_t *next, int k, int exp, int side) {
  const int blocks = exp ? 9 : 5;
  P->ng = 0, P->cg = 0, P->pc = 0;
  zgroup_t *G = NULL;
  for (int l = 0; l < k; l++) {
    P->ready[side][l] = 0;
    for (int j = 0; j < blocks; j++) {
      const uint8_t *a, *b;
      sdr_label_block(&next[l], exp, j, &a, &b);
      if (cur && (a == cur[l].out || b == cur[l].out)) continue;
      if (!G || G->n == 16) G = &P->g[P->ng++], G->n = 0;
      G->a[G->n] = a, G->b[G->n] = b, G->out[G->n++] = P->sch[side][l][j];
      P->ready[side][l] |= 1u << j;
    }
  }
}

AVX512 __attribute__((noinline)) static void step_load(zgroup_t *G) { z_load16(G->a, G->b, G->n, G->w); }

AVX512 __attribute__((noinline)) static void step_out(zgroup_t *G, int q) {
  __m512i r[16];
  for (int j = 0; j < 16; j++) r[j] = _mm512_add_epi32(G->w[16 * q + j], _mm512_set1_epi32((int)sdr_K256[16 * q + j]));
  z_transpose(r);
  for (int i = 0; i < G->n; i++) _mm512_storeu_si512((void *)(G->out[i] + 16 * q), r[i]);
}

/* One step of the queued schedules: step 0 loads a group, 1..48 expand W[16..63], 49..52 write it out. */
AVX512 INL void step(sdr_pipe_t *P) {
  if (P->cg >= P->ng) return;
  zgroup_t *G = &P->g[P->cg];
  const int pc = P->pc;
  if (pc == 0) step_load(G);
  else if (pc <= 48) G->w[15 + pc] = z_expand(G->w, 15 + pc);
  else step_out(G, pc - 49);
  if (++P->pc == STEPS) P->pc = 0, P->cg++;
}

AVX512 static void finish(sdr_pipe_t *P) {
  while (P->cg < P->ng) step(P);
}

/* The step ni_rounds runs after every second round group. */
AVX512 INL void step_hook(void *P) { step((sdr_pipe_t *)P); }

/* A label's 20 blocks in message order (0 the header, then the distinct parent pairs, then the last block). */
static const uint8_t SEQ_EXP[20] = {0, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 8};
static const uint8_t SEQ_L1[20] = {0, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 4};

/* n <= 4 labels, blocks in message order; a block not in `ready` is scheduled here before its first rounds. */
ZNI INL void label_n(sdr_lane_t *L, const int n, const int exp, ni_wk_t *sch, const uint32_t *ready, sdr_pipe_t *P) {
  const uint8_t *seq = exp ? SEQ_EXP : SEQ_L1;
  __m128i s0[4], s1[4];
  const uint32_t *w[4];
  uint32_t done[4];
  for (int l = 0; l < n; l++) s0[l] = NI_IV0, s1[l] = NI_IV1, done[l] = ready[l];
  for (int p = 0; p < 20; p++) {
    const int j = seq[p];
    for (int l = 0; l < n; l++) {
      uint32_t *wk = (uint32_t *)sch[l * NI_BLOCKS + j];
      if (!(done[l] & (1u << j))) {
        const uint8_t *a, *b;
        sdr_label_block(&L[l], exp, j, &a, &b);
        ni_sched(a, b, wk);
        done[l] |= 1u << j;
      }
      w[l] = wk;
    }
    ni_rounds(n, s0, s1, w, step_hook, P);
  }
  for (int l = 0; l < n; l++) ni_put_label(s0[l], s1[l], L[l].out);
}

#define PIPE_VARIANT(N)                                                                                            \
  ZNI static void label_x##N(sdr_lane_t *L, int exp, ni_wk_t *sch, const uint32_t *ready, sdr_pipe_t *P) {        \
    if (exp) label_n(L, N, 1, sch, ready, P);                                                                      \
    else label_n(L, N, 0, sch, ready, P);                                                                          \
  }
PIPE_VARIANT(1)
PIPE_VARIANT(2)
PIPE_VARIANT(3)
PIPE_VARIANT(4)

/* ------------------------------------------------------------ one sector: labels in a chain */
/* Node v's label needs node v - 1's (its parent 0, and any other parent that is v - 1), so one sector's labels are
 * a chain. But node v's first blocks (its header, then parent pairs up to the first that holds v - 1) do not: they
 * are hashed as a second stream beside node v - 1's last blocks, where the SHA unit has room (one chain keeps it
 * half busy). Node v's other blocks that do not read v - 1 get their schedules from AVX-512 steps beside node
 * v - 1's rounds, as in the batch pipeline above. */
enum { OVERLAP_MAX = 3 };

/* The schedule of block j of L (side s), computed here with sha256msg1/2 unless the steps did it. */
ZNI INL const uint32_t *chain_wk(sdr_pipe_t *P, const sdr_lane_t *L, int s, int j, int exp) {
  uint32_t *wk = P->sch[s][0][j];
  if (!(P->ready[s][0] & (1u << j))) {
    const uint8_t *a, *b;
    sdr_label_block(L, exp, j, &a, &b);
    ni_sched(a, b, wk);
    P->ready[s][0] |= 1u << j;
  }
  return wk;
}

ZNI INL void chain_n(sdr_pipe_t *P, sdr_lane_t *L, int n, const int exp) {
  const uint8_t *seq = exp ? SEQ_EXP : SEQ_L1;
  int side = 0;
  queue_blocks(P, NULL, L, 1, exp, side);
  finish(P);
  __m128i s0[2], s1[2];
  const uint32_t *w[2];
  s0[0] = NI_IV0, s1[0] = NI_IV1;
  int pos = 0; /* blocks of L[v] hashed */
  for (int v = 0; v < n; v++) {
    const sdr_lane_t *nx = v + 1 < n ? &L[v + 1] : NULL;
    P->ng = P->cg = P->pc = 0;
    int m = 0;
    if (nx) {
      queue_blocks(P, &L[v], nx, 1, exp, side ^ 1);
      while (m < OVERLAP_MAX && (P->ready[side ^ 1][0] & (1u << seq[m]))) m++;
    }
    for (int p = pos; p < 20 - m; p++) {
      w[0] = chain_wk(P, &L[v], side, seq[p], exp);
      ni_rounds(1, s0, s1, w, step_hook, P);
    }
    finish(P);
    s0[1] = NI_IV0, s1[1] = NI_IV1;
    for (int t = 0; t < m; t++) {
      w[0] = chain_wk(P, &L[v], side, seq[20 - m + t], exp);
      w[1] = P->sch[side ^ 1][0][seq[t]];
      ni_rounds(2, s0, s1, w, NULL, NULL);
    }
    ni_put_label(s0[0], s1[0], L[v].out);
    s0[0] = m ? s0[1] : NI_IV0, s1[0] = m ? s1[1] : NI_IV1;
    pos = m;
    side ^= 1;
  }
}

ZNI static void chain_exp(sdr_pipe_t *P, sdr_lane_t *L, int n) { chain_n(P, L, n, 1); }
ZNI static void chain_l1(sdr_pipe_t *P, sdr_lane_t *L, int n) { chain_n(P, L, n, 0); }

void sdr_chain_hash(sdr_pipe_t *P, sdr_lane_t *L, int n, int exp) {
  if (exp) chain_exp(P, L, n);
  else chain_l1(P, L, n);
}

static int pipe_on = -1;

sdr_pipe_t *sdr_pipe_new(int k) {
  if (pipe_on < 0) {
    const char *v = getenv("VENUS_SDR_PIPE");
    pipe_on = !(v && v[0] == '0');
  }
  if (!pipe_on || k < 1 || k > PIPE_MAX || !sdr_sha_shani_selected() || !sdr_batch_avx512()) return NULL;
  sdr_pipe_t *P = aligned_alloc(64, (sizeof(sdr_pipe_t) + 63) / 64 * 64);
  if (!P) return NULL;
  P->k = k, P->ng = P->cg = P->pc = 0, P->side = 0, P->next = NULL, P->next_node = 0;
  return P;
}

void sdr_pipe_free(sdr_pipe_t *P) { free(P); }

void sdr_pipe_hash(sdr_pipe_t *P, sdr_lane_t *cur, const sdr_lane_t *next, int exp) {
  const int k = P->k, side = P->side;
  /* cur's schedules: computed beside the node before when it named these lanes as next, else here at once */
  if (P->next != cur || P->next_node != lane_node(cur)) {
    queue_blocks(P, NULL, cur, k, exp, side);
    finish(P);
  }
  P->ng = P->cg = P->pc = 0;
  if (next) queue_blocks(P, cur, next, k, exp, side ^ 1);
  const int g = sdr_lanes_group();
  for (int i = 0; i < k;) {
    const int n = k - i < g ? k - i : g;
    ni_wk_t *sch = P->sch[side][i];
    const uint32_t *ready = &P->ready[side][i];
    if (n == 4) label_x4(cur + i, exp, sch, ready, P);
    else if (n == 3) label_x3(cur + i, exp, sch, ready, P);
    else if (n == 2) label_x2(cur + i, exp, sch, ready, P);
    else label_x1(cur + i, exp, sch, ready, P);
    i += n;
  }
  finish(P);
  P->next = next, P->next_node = next ? lane_node(next) : 0, P->side = side ^ 1;
}

#else
sdr_pipe_t *sdr_pipe_new(int k) { return (void)k, NULL; }
void sdr_pipe_free(sdr_pipe_t *P) { (void)P; }
void sdr_pipe_hash(sdr_pipe_t *P, sdr_lane_t *cur, const sdr_lane_t *next, int exp) {
  (void)P, (void)cur, (void)next, (void)exp;
}
void sdr_chain_hash(sdr_pipe_t *P, sdr_lane_t *L, int n, int exp) { (void)P, (void)L, (void)n, (void)exp; }
#endif

/* sdrShaniStreams(rounds) -> [ns per sha256rnds2 in one chain, ns per sha256rnds2 with 4 chains interleaved], or
 * null without SHA-NI. What interleaving can gain on this core at most: 4 streams cannot hash faster than the
 * SHA unit's throughput, one stream than its latency (the batch's ceiling, beside the OpenSSL baseline). */
#if defined(__x86_64__) || defined(__i386__)
#include <time.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

SHANI __attribute__((noinline)) static double chains(int four, long rounds, uint32_t *sink) {
  const __m128i k = _mm_set_epi32(0x71374491, 0x428a2f98, 0x3956c25b, 0xe9b5dba5);
  /* distinct chains (equal ones could be folded into one by the compiler) */
  __m128i a0 = _mm_set1_epi32((int)*sink), b0 = _mm_set1_epi32(2), a1 = _mm_set1_epi32(3), b1 = _mm_set1_epi32(4);
  __m128i a2 = _mm_set1_epi32(5), b2 = _mm_set1_epi32(6), a3 = _mm_set1_epi32(7), b3 = _mm_set1_epi32(8);
  const double t0 = now_ns();
  if (!four)
    for (long i = 0; i < rounds; i += 2) b0 = _mm_sha256rnds2_epu32(b0, a0, k), a0 = _mm_sha256rnds2_epu32(a0, b0, k);
  else
    for (long i = 0; i < rounds; i += 2) {
      b0 = _mm_sha256rnds2_epu32(b0, a0, k), b1 = _mm_sha256rnds2_epu32(b1, a1, k);
      b2 = _mm_sha256rnds2_epu32(b2, a2, k), b3 = _mm_sha256rnds2_epu32(b3, a3, k);
      a0 = _mm_sha256rnds2_epu32(a0, b0, k), a1 = _mm_sha256rnds2_epu32(a1, b1, k);
      a2 = _mm_sha256rnds2_epu32(a2, b2, k), a3 = _mm_sha256rnds2_epu32(a3, b3, k);
    }
  const double t = now_ns() - t0;
  *sink += (uint32_t)_mm_cvtsi128_si32(_mm_add_epi32(_mm_add_epi32(a0, a1), _mm_add_epi32(a2, a3)));
  return t / (four ? 4.0 * rounds : (double)rounds);
}
#endif

napi_value sdr_js_shani_streams(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double want = 0;
  if (argc != 1 || napi_get_value_double(env, argv[0], &want) != napi_ok || !(want >= 2 && want <= 1e9))
    return sdr_throw(env, "sdrShaniStreams: rounds must be a number from 2 to 1e9"), NULL;
#if defined(__x86_64__) || defined(__i386__)
  if (sdr_sha_shani_selected()) {
    uint32_t sink = 0;
    const long rounds = (long)want & ~1L;
    double one = chains(0, rounds, &sink), four = chains(1, rounds, &sink);
    /* the best of three: another process can take the core for part of a try */
    for (int r = 0; r < 2; r++) {
      const double o = chains(0, rounds, &sink), f = chains(1, rounds, &sink);
      if (o < one) one = o;
      if (f < four) four = f;
    }
    napi_value v;
    napi_create_array_with_length(env, 2, &out);
    napi_create_double(env, one + (sink == 0xdeadbeef), &v);
    napi_set_element(env, out, 0, v);
    napi_create_double(env, four, &v);
    napi_set_element(env, out, 1, v);
    return out;
  }
#endif
  napi_get_null(env, &out);
  return out;
}
