/* Shared between the SDR kernels: sdr_sha.c (SHA-256 backends), sdr_graph.c (parents), sdr_mmap.c (file mappings,
 * huge-page layers), sdr.c (single-sector labeling, N-API helpers) and sdr_batch.c (label hashing over several
 * independent streams, batch labeling). */
#ifndef VENUS_SDR_H
#define VENUS_SDR_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One label to hash: the 64-byte header block (replica id, layer, node), pointers to the distinct parent labels
 * (6 on layer 1, 14 after), and where the 32-byte label goes. Nodes > 0 only: node 0 hashes the header alone. */
typedef struct {
  uint8_t header[64];
  const uint8_t *par[14];
  uint8_t *out;
} sdr_lane_t;

/* The second half of every label's last block: 0x80, zeros, the message length 1248 bytes = 0x2700 bits. */
extern const uint8_t sdr_label_pad[32];

/* Block j of a label's message (0 the header, 1..7 or 1..3 the distinct parent pairs, then the last block: one
 * parent and the padding): its two 32-byte halves. */
static inline void sdr_label_block(const sdr_lane_t *L, int exp, int j, const uint8_t **a, const uint8_t **b) {
  const int nb = exp ? 7 : 3;
  if (j == 0) *a = L->header, *b = L->header + 32;
  else if (j <= nb) *a = L->par[2 * (j - 1)], *b = L->par[2 * (j - 1) + 1];
  else *a = L->par[exp ? 8 : 0], *b = sdr_label_pad;
}

/* Hashes `n` independent labels; `exp` = layer > 1 (14 parents). SHA-NI interleaves 2 streams (4 when AVX-512
 * computes a batch's schedules beforehand; VENUS_SDR_LANES=1..4) when selected; else AVX2 8 lanes when the CPU
 * has it; else portable C one stream at a time. */
void sdr_hash_lanes(sdr_lane_t *lanes, int n, int exp);
/* SHA-NI streams hashed together (VENUS_SDR_LANES, else 4 with AVX-512 schedules, 2 without), and whether
 * batches take their schedules from AVX-512. */
int sdr_lanes_group(void);
int sdr_batch_avx512(void);

/* n labels of one node in AVX-512 lanes, 32 at a time then 16 (n <= 16 or a multiple of 16; sdr_z16.c); only where sdr_z16_enabled() (AVX-512, not turned off
 * by VENUS_SDR_Z16=0). */
void sdr_z16_labels(sdr_lane_t *lanes, int n, int exp);
int sdr_z16_enabled(void);

/* Batch labeling with the next node's schedules computed beside this node's rounds (sdr_pipe.c). NULL from
 * sdr_pipe_new where that path does not apply (fewer than 2 sectors, no SHA-NI or no AVX-512): hash with
 * sdr_hash_lanes then. sdr_pipe_hash hashes cur's k labels and schedules next's (NULL: none follows). */
typedef struct sdr_pipe sdr_pipe_t;
sdr_pipe_t *sdr_pipe_new(int k);
void sdr_pipe_free(sdr_pipe_t *pipe);
void sdr_pipe_hash(sdr_pipe_t *pipe, sdr_lane_t *cur, const sdr_lane_t *next, int exp);
/* n consecutive nodes of one sector (pipe from sdr_pipe_new(1)), in order: node v's first blocks beside v - 1's last. */
void sdr_chain_hash(sdr_pipe_t *pipe, sdr_lane_t *lanes, int n, int exp);
/* sdrShaniStreams(rounds): sha256rnds2's cost in one chain and in 4 interleaved chains (sdr_pipe.c) */
napi_value sdr_js_shani_streams(napi_env env, napi_callback_info info);

/* Parents copied ahead by a second thread (sdr_fill.c; sdr_fill_start is NULL where it does not run), in units (a
 * node, a group of nodes of a batch): fill(ctx, unit, done, slot) puts a unit's parents into its ring slot of
 * unit_bytes, with units [0, done) finished by the hashing thread, and returns what it put there (a bit mask the
 * caller reads back with sdr_fill_slot); prefetch(ctx, unit) (optional) starts loading a unit `ahead` of the one
 * being filled. The thread refills when `refill` of `ring` slots are free and publishes every `publish` units.
 * sdr_fill_ready: units [0, n) are in the ring; sdr_fill_done: the hashing thread is done with units [0, done). */
typedef struct sdr_fill sdr_fill_t;
typedef struct {
  uint32_t (*fill)(void *ctx, uint64_t unit, uint64_t done, uint8_t *slot);
  void (*prefetch)(void *ctx, uint64_t unit);
  void *ctx;
  uint64_t units;
  size_t unit_bytes;
  uint32_t ring, refill, publish, ahead;
} sdr_fill_job_t;
sdr_fill_t *sdr_fill_start(const sdr_fill_job_t *job);
uint64_t sdr_fill_ready(sdr_fill_t *fill);
uint8_t *sdr_fill_slot(sdr_fill_t *fill, uint64_t unit, uint32_t *have);
void sdr_fill_done(sdr_fill_t *fill, uint64_t done);
void sdr_fill_stop(sdr_fill_t *fill);
napi_value sdr_js_fill(napi_env env, napi_callback_info info);

/* Sets the header's layer (bytes 32..35) and zeroes the tail, from a 32-byte replica id. */
void sdr_lane_header(sdr_lane_t *lane, const uint8_t *replica_id, uint32_t layer);
static inline void sdr_lane_node(sdr_lane_t *lane, uint64_t node) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* one 8-byte store: the kernel loads the header 16 bytes at a time, which 8 byte stores cannot forward to */
  const uint64_t be = __builtin_bswap64(node);
  memcpy(lane->header + 36, &be, 8);
#else
  for (int b = 0; b < 8; b++) lane->header[36 + b] = (uint8_t)(node >> (56 - 8 * b));
#endif
}

/* How many nodes ahead the kernels prefetch parent labels (VENUS_SDR_PREFETCH, 1..64; default below). */
int sdr_prefetch_distance(void);

/* Whether the kernels copy expander parents ahead in batches (default; VENUS_SDR_GATHER=0 turns it off). */
int sdr_gather_expander(void);

/* From sdr_sha.c: the SHA-256 block function in use (portable or SHA-NI), its choice, and sdrShaBackend. */
extern void (*sdr_sha_blocks)(uint32_t st[8], const uint8_t *p, size_t n);
void sdr_sha_select(int want_shani);
napi_value sdr_js_sha_backend(napi_env env, napi_callback_info info);
int sdr_sha_shani_selected(void);
void sdr_sha256_portable(uint32_t st[8], const uint8_t *p, size_t n);
extern const uint32_t sdr_H256[8];

/* From sdr_graph.c: the BLAKE2b backend choice for the Feistel permutation, sdrParents and sdrBlake2bBackend. */
void sdr_b2_select(const char *want);
napi_value sdr_js_parents(napi_env env, napi_callback_info info);
napi_value sdr_js_b2_backend(napi_env env, napi_callback_info info);

/* From sdr_mmap.c: a read-only file mapping (sdrMapFile's external, read by the windowed kernels), sdrMapFile,
 * sdrUnmap and sdrAllocLayer. */
typedef struct {
  uint8_t *base;
  size_t len;
} sdr_map_t;
napi_value sdr_js_map_file(napi_env env, napi_callback_info info);
napi_value sdr_js_unmap(napi_env env, napi_callback_info info);
napi_value sdr_js_alloc_layer(napi_env env, napi_callback_info info);

/* From sdr.c */
/* trunc254(SHA-256(header)) for node 0 (a 64-byte message) */
void sdr_label_node0(const uint8_t header[64], uint8_t *out);
void sdr_throw(napi_env env, const char *msg);
int sdr_get_bytes(napi_env env, napi_value v, void **data, size_t *len);
int sdr_get_u64(napi_env env, napi_value v, uint64_t *out);

/* From sdr_batch.c: the lane backend name ("sha-ni x4, avx512 sched", "sha-ni x2", "avx2 x8", "portable") and
 * the N-API registration. */
const char *sdr_lanes_backend(void);
napi_value sdr_batch_register(napi_env env, napi_value exports);

#endif
