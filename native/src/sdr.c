/*
 * SDR kernels (rust-fil-proofs stacked DRG): parent generation and layer labeling.
 *
 *   sdrParents(drgSeed28, feistelKeys32, nodes, legacy, start, count, out)   14 parents per node, u32
 *   sdrLabelChunk(replicaId, layer, firstNode, count, parents, cur, outSlot, prev)
 *   sdrLabelChunkWindowed(replicaId, layer, firstNode, count, parents, window, wBase, curSource, prevSegs, segNodes,
 *                         resident, prevSource)    bounded-memory labeling; sources are fds (pread) or mappings
 *   sdrMapFile(fd, length, random) -> mapping;  sdrUnmap(mapping)   (sdr_mmap.c, with sdrAllocLayer)
 *   sdrShaBackend([want]) -> "sha-ni" | "portable"   (VENUS_SDR_PORTABLE_SHA=1 starts on portable)
 *   sdrBlake2bBackend([want]) -> "avx512" | "avx2" | "scalar"   (VENUS_SDR_BLAKE2B picks at load)
 *   sdrLabelChunkWindowedBatch(...)   sdrLabelChunkWindowed for K sectors; per-sector errors returned
 *   sdrFill([on]) -> boolean   one sector's parents copied ahead by a second thread (sdr_fill.c)
 *   sdrLabelChunkBatch, sdrLanesBackend: in sdr_batch.c, which also hashes every label (sdr_hash_lanes)
 *   sdrParents, sdrBlake2bBackend: in sdr_graph.c (the parent graph); sdrShaBackend: in sdr_sha.c (SHA-256)
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

#define H256 sdr_H256
#define sha_blocks sdr_sha_blocks
typedef sdr_map_t map_t;

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

/* Where DRG parent p's label lies: in memory (no copy), or read into `scratch` (32 bytes). NULL on failure, with
 * the reason in *err (the source's own err, or a local one in the thread that copies parents ahead). */
static inline const uint8_t *drg_at(const label_src_t *s, uint32_t p, uint8_t *scratch, const char **err) {
  if (!s->windowed) {
    if (p >= s->cur_nodes) return *err = "DRG parent outside cur", NULL;
    return s->cur + (uint64_t)p * 32;
  }
  if (p >= s->w_base) {
    if (p - s->w_base >= s->cur_nodes) return *err = "DRG parent outside the window", NULL;
    return s->cur + (p - s->w_base) * 32;
  }
  if (s->cur_map) {
    if (p >= s->cur_map_nodes) return *err = "DRG parent outside the mapped layer", NULL;
    return s->cur_map + (uint64_t)p * 32;
  }
  if (!pread_label(s->cur_fd, p, scratch)) return *err = "reading an older DRG parent failed", NULL;
  return scratch;
}

static inline const uint8_t *exp_at(const label_src_t *s, uint32_t q, uint8_t *scratch, const char **err) {
  if (!s->windowed) {
    if (q >= s->prev_nodes) return *err = "expander parent outside prev", NULL;
    return s->prev + (uint64_t)q * 32;
  }
  if (q < s->resident) return s->segs[q / s->seg_nodes] + (q % s->seg_nodes) * 32;
  if (s->prev_map) {
    if (q >= s->prev_map_nodes) return *err = "expander parent outside the mapped layer", NULL;
    return s->prev_map + (uint64_t)q * 32;
  }
  if (!pread_label(s->prev_fd, q, scratch)) return *err = "reading an expander parent failed", NULL;
  return scratch;
}

static inline const uint8_t *src_drg(label_src_t *s, uint32_t p, uint8_t *scratch) {
  return drg_at(s, p, scratch, &s->err);
}

static inline const uint8_t *src_exp(label_src_t *s, uint32_t q, uint8_t *scratch) {
  return exp_at(s, q, scratch, &s->err);
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
 * (6 DRG, then 8 expander, read only after layer 1). Nodes are set up RUN at a time (parent pointers, and every
 * GATHER nodes the expander labels copied in one pass), then hashed in order as one chain (sdr_chain_hash: node
 * v's first blocks beside node v - 1's last) or one label at a time where that kernel does not apply. Parent
 * labels are hashed where they lie; only those read from a file are copied. Returns 0 and sets s->err on failure. */
enum { RUN = 32, GATHER = 128 };

/* What the thread that copies parents ahead reads through (sdr_fill.c): this chunk's source, its parents, and the
 * slots of `cur` it writes, [out_slot, out_slot + count): a DRG parent there is final only once its node is hashed.
 * A unit is one node; its slot holds its 14 parents, bit k of the mask saying parent k is there. */
typedef struct {
  const label_src_t *s;
  const uint32_t *par;
  uint64_t out_slot, count;
  int exp;
} fill_ctx_t;

static int fill_copy(const fill_ctx_t *c, int k, uint32_t q, uint64_t done, uint8_t *dst) {
  const label_src_t *s = c->s;
  const char *err = NULL;
  const uint8_t *at;
  if (k < 6) {
    /* q's slot in cur (windowed: nodes before the window are in the file, all written) */
    const int in_cur = !s->windowed || q >= s->w_base;
    const uint64_t slot = s->windowed ? (uint64_t)q - s->w_base : q;
    if (in_cur && slot >= c->out_slot + done && slot < c->out_slot + c->count) return 0;
    at = drg_at(s, q, dst, &err);
  } else {
    at = exp_at(s, q, dst, &err);
  }
  if (!at) return 0; /* the hashing thread reads it again and reports the error */
  if (at != dst) memcpy(dst, at, 32);
  return 1;
}

static uint32_t fill_node(void *ctx, uint64_t i, uint64_t done, uint8_t *slot) {
  const fill_ctx_t *c = ctx;
  const uint32_t *p = c->par + i * 14;
  uint32_t have = 0;
  for (int k = 0; k < (c->exp ? 14 : 6); k++)
    if (fill_copy(c, k, p[k], done, slot + 32 * k)) have |= 1u << k;
  return have;
}

static void fill_prefetch(void *ctx, uint64_t i) {
  const fill_ctx_t *c = ctx;
  prefetch_parents(c->s, c->exp ? 2 : 1, c->par + i * 14);
}

static int label_chunk(const uint8_t *replica_id, uint32_t layer, uint64_t first, uint32_t count,
                       const uint32_t *parents, label_src_t *s, uint64_t out_slot) {
  sdr_lane_t lanes[RUN];
  uint8_t scratch[RUN][14 * 32]; /* parent labels read from a file */
  uint8_t gbuf[GATHER][8][32];   /* 32 KiB */
  const int exp = layer > 1;
  sdr_pipe_t *chain = sdr_pipe_new(1);
  /* a second thread copies parents ahead (sdr_fill.c); the gathering below is then its job */
  fill_ctx_t fctx = {.s = s, .par = parents, .out_slot = out_slot, .count = count, .exp = exp};
  /* 1,024 nodes of 448 bytes, refilled 256 at a time, 16 nodes prefetched ahead; only for calls of 4,096 nodes
   * and up (the thread's start is not worth less) */
  const sdr_fill_job_t job = {.fill = fill_node, .prefetch = fill_prefetch, .ctx = &fctx, .units = count,
                              .unit_bytes = 14 * 32, .ring = 1024, .refill = 256, .publish = 8, .ahead = 16};
  sdr_fill_t *fill = count >= 4096 ? sdr_fill_start(&job) : NULL;
  const int gather = exp && !fill && sdr_gather_expander();
  for (int j = 0; j < RUN; j++) sdr_lane_header(&lanes[j], replica_id, layer);
  int ok = 1;
  for (uint32_t r = 0; r < count && ok; r += RUN) {
    const uint32_t n = count - r < RUN ? count - r : RUN;
    const uint32_t *p = parents + (uint64_t)r * 14;
    if (gather && (r % GATHER) == 0) {
      /* the next GATHER nodes' expander labels (previous layer: all known) copied in one pass: the reads do not
       * wait on each other or on hashing, so many cache misses are in flight at once */
      uint32_t g = count - r < GATHER ? count - r : GATHER;
      for (uint32_t j = 0; j < g && ok; j++)
        for (int k = 0; k < 8; k++) {
          const uint8_t *q = src_exp(s, p[14 * j + 6 + k], gbuf[j][k]);
          if (!q) { ok = 0; break; }
          if (q != gbuf[j][k]) memcpy(gbuf[j][k], q, 32);
        }
      if (!ok) break;
    }
    const uint64_t ready = fill ? sdr_fill_ready(fill) : 0;
    /* the next run's parents (or their filled slots) into cache while this run hashes */
    for (uint32_t j = 0; j < RUN && r + RUN + j < count; j++) {
      if (r + RUN + j < ready) {
        const uint8_t *slot = sdr_fill_slot(fill, r + RUN + j, NULL);
        for (int l = 0; l < 7; l++) __builtin_prefetch(slot + 64 * l);
      } else {
        prefetch_parents(s, gather ? 1 : layer, p + 14 * (RUN + j));
      }
    }
    for (uint32_t j = 0; j < n && ok; j++) {
      sdr_lane_t *ln = &lanes[j];
      const uint32_t *pj = p + 14 * j;
      sdr_lane_node(ln, first + r + j);
      ln->out = s->cur + (out_slot + r + j) * 32;
      if (first + r + j == 0) continue;
      uint32_t h = 0;
      const uint8_t *slot = r + j < ready ? sdr_fill_slot(fill, r + j, &h) : NULL;
      for (int k = 0; k < 6 && ok; k++)
        ok = (ln->par[k] = (h >> k & 1) ? slot + 32 * k : src_drg(s, pj[k], scratch[j] + 32 * k)) != NULL;
      if (exp && gather)
        for (int k = 6; k < 14; k++) ln->par[k] = gbuf[(r + j) % GATHER][k - 6];
      else if (exp)
        for (int k = 6; k < 14 && ok; k++)
          ok = (ln->par[k] = (h >> k & 1) ? slot + 32 * k : src_exp(s, pj[k], scratch[j] + 32 * k)) != NULL;
    }
    if (!ok) break;
    uint32_t j0 = 0;
    if (first + r == 0) sdr_label_node0(lanes[0].header, lanes[0].out), j0 = 1;
    if (n > j0) {
      if (chain) sdr_chain_hash(chain, lanes + j0, (int)(n - j0), exp);
      else
        for (uint32_t j = j0; j < n; j++) sdr_hash_lanes(&lanes[j], 1, exp);
    }
    if (fill) sdr_fill_done(fill, r + n);
  }
  sdr_fill_stop(fill);
  sdr_pipe_free(chain);
  return ok;
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

static void def(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

napi_value sdr_register(napi_env env, napi_value exports) {
  sdr_sha_select(getenv("VENUS_SDR_PORTABLE_SHA") == NULL);
  sdr_b2_select(getenv("VENUS_SDR_BLAKE2B"));
  def(env, exports, "sdrParents", sdr_js_parents);
  def(env, exports, "sdrLabelChunk", js_label_chunk);
  def(env, exports, "sdrLabelChunkWindowed", js_label_chunk_windowed);
  def(env, exports, "sdrLabelChunkWindowedBatch", js_label_chunk_windowed_batch);
  def(env, exports, "sdrMapFile", sdr_js_map_file);
  def(env, exports, "sdrUnmap", sdr_js_unmap);
  def(env, exports, "sdrAllocLayer", sdr_js_alloc_layer);
  def(env, exports, "sdrShaBackend", sdr_js_sha_backend);
  def(env, exports, "sdrFill", sdr_js_fill);
  def(env, exports, "sdrBlake2bBackend", sdr_js_b2_backend);
  return sdr_batch_register(env, exports);
}
