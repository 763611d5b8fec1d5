/*
 * One sector's parent labels copied ahead of its labeling by a second thread (rust-fil-proofs' multicore SDR
 * "producers"; docs/pc1.md). The hashing thread waits on sha256rnds2's latency; every parent it reads from a
 * layer in DRAM or a far cache adds a miss to that chain. Here another thread copies each node's parents into
 * a ring of 448-byte slots a few hundred nodes ahead: the 8 expander parents (previous layer, all known) and
 * the DRG parents whose labels are already final; the hashing thread reads the rest (recent labels, in its
 * own cache) where they lie. Both memory plans: in the windowed one the copies come from the window, the layer
 * files' mappings or pread, as the hashing thread's would (sdr.c reads them for both threads).
 *
 * The hashing thread never waits for this one: a node whose slot is not filled yet is read as before, so a
 * busy or missing second core costs nothing but the copies. Only where the process may run on two CPUs or
 * more (sched_getaffinity: a PC1 processor pinned to one core gets none), for chunks of 4096 nodes and up;
 * VENUS_SDR_FILL=0 turns it off.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdr.h"

static int fill_on = -1;

static int fill_wanted(void) {
  if (fill_on < 0) {
    const char *v = getenv("VENUS_SDR_FILL");
    fill_on = !(v && v[0] == '0');
  }
  return fill_on;
}

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

enum { RING = 1024, REFILL = 256, PUBLISH = 8, PREFETCH = 16, MIN_NODES = 4096 };

struct sdr_fill {
  _Alignas(64) _Atomic uint64_t filled; /* nodes [0, filled) of the chunk have their slots */
  _Alignas(64) _Atomic uint64_t done;   /* the hashing thread has written nodes [0, done) */
  _Atomic int stop;
  sdr_fill_src_t src;
  uint64_t count;
  const uint32_t *par;
  int exp;
  uint8_t (*ring)[14][32];
  uint16_t have[RING]; /* bit k: parent k is in the slot */
  pthread_t th;
};

static void nap(void) {
  struct timespec t = {0, 20000};
  nanosleep(&t, NULL);
}

static void *producer(void *arg) {
  sdr_fill_t *F = arg;
  const uint64_t count = F->count;
  uint64_t i = 0;
  while (i < count && !atomic_load_explicit(&F->stop, memory_order_relaxed)) {
    uint64_t done = atomic_load_explicit(&F->done, memory_order_acquire);
    /* slot i % RING is free once node i - RING is hashed; refill in runs so the thread mostly sleeps */
    uint64_t end = done + RING;
    if (end > count) end = count;
    if (end <= i || (end - i < REFILL && end < count)) {
      nap();
      continue;
    }
    for (; i < end; i++) {
      if (i + PREFETCH < count) F->src.prefetch(F->src.ctx, F->par + (i + PREFETCH) * 14, F->exp);
      const uint32_t *p = F->par + i * 14;
      uint8_t(*slot)[32] = F->ring[i % RING];
      uint16_t h = 0;
      for (int k = 0; k < (F->exp ? 14 : 6); k++)
        if (F->src.copy(F->src.ctx, k, p[k], done, slot[k])) h |= 1u << k;
      F->have[i % RING] = h;
      if ((i + 1) % PUBLISH == 0 || i + 1 == end) atomic_store_explicit(&F->filled, i + 1, memory_order_release);
      if ((i & 63) == 63) done = atomic_load_explicit(&F->done, memory_order_acquire);
    }
  }
  return NULL;
}

static int cpus_allowed(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

sdr_fill_t *sdr_fill_start(const sdr_fill_src_t *src, const uint32_t *par, uint64_t count, int exp) {
  if (!fill_wanted() || count < MIN_NODES || cpus_allowed() < 2) return NULL;
  sdr_fill_t *F = aligned_alloc(64, (sizeof(sdr_fill_t) + 63) / 64 * 64);
  if (!F) return NULL;
  memset(F, 0, sizeof *F);
  F->ring = aligned_alloc(64, (size_t)RING * 14 * 32);
  if (!F->ring) return free(F), NULL;
  F->src = *src, F->par = par, F->count = count, F->exp = exp;
  atomic_init(&F->filled, 0);
  atomic_init(&F->done, 0);
  atomic_init(&F->stop, 0);
  if (pthread_create(&F->th, NULL, producer, F) != 0) return free(F->ring), free(F), NULL;
  return F;
}

uint64_t sdr_fill_ready(sdr_fill_t *F) { return atomic_load_explicit(&F->filled, memory_order_acquire); }

const uint8_t *sdr_fill_slot(sdr_fill_t *F, uint64_t i, unsigned *have) {
  *have = F->have[i % RING];
  return F->ring[i % RING][0];
}

void sdr_fill_done(sdr_fill_t *F, uint64_t done) { atomic_store_explicit(&F->done, done, memory_order_release); }

void sdr_fill_stop(sdr_fill_t *F) {
  if (!F) return;
  atomic_store_explicit(&F->stop, 1, memory_order_relaxed);
  pthread_join(F->th, NULL);
  free(F->ring);
  free(F);
}

static int fill_can_run(void) { return fill_wanted() && cpus_allowed() >= 2; }

#else
static int fill_can_run(void) { return 0; }
sdr_fill_t *sdr_fill_start(const sdr_fill_src_t *src, const uint32_t *par, uint64_t count, int exp) {
  return (void)src, (void)par, (void)count, (void)exp, NULL;
}
uint64_t sdr_fill_ready(sdr_fill_t *F) { return (void)F, 0; }
const uint8_t *sdr_fill_slot(sdr_fill_t *F, uint64_t i, unsigned *have) { return (void)F, (void)i, *have = 0, NULL; }
void sdr_fill_done(sdr_fill_t *F, uint64_t done) { (void)F, (void)done; }
void sdr_fill_stop(sdr_fill_t *F) { (void)F; }
#endif

/* sdrFill([on]) -> whether one sector's labeling copies its parents ahead in a second thread: `on` (a boolean)
 * turns it on or off for this process (tests compare both); the answer is false where it cannot run (one CPU
 * allowed, not Linux). */
napi_value sdr_js_fill(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc > 1) return sdr_throw(env, "sdrFill: at most one argument"), NULL;
  if (argc == 1) {
    bool on;
    if (napi_get_value_bool(env, argv[0], &on) != napi_ok) return sdr_throw(env, "sdrFill: on must be a boolean"), NULL;
    fill_wanted();
    fill_on = on;
  }
  napi_get_boolean(env, fill_can_run(), &out);
  return out;
}
