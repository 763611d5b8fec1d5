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
 * more (sched_getaffinity: a PC1 processor pinned to one core gets none); VENUS_SDR_FILL=0 turns it off.
 *
 * The thread knows units, not labels: a unit is one node of one sector (sdr.c) or a group of nodes of every
 * sector of a batch (sdr_batch.c), filled into a ring slot by the caller's callback.
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

struct sdr_fill {
  _Alignas(64) _Atomic uint64_t filled; /* units [0, filled) have their slots */
  _Alignas(64) _Atomic uint64_t done;   /* the hashing thread is done with units [0, done) */
  _Atomic int stop;
  sdr_fill_job_t job;
  uint8_t *ring;
  uint32_t *have; /* per slot: what the fill callback returned */
  pthread_t th;
};

static void nap(void) {
  struct timespec t = {0, 20000};
  nanosleep(&t, NULL);
}

static void *producer(void *arg) {
  sdr_fill_t *F = arg;
  const sdr_fill_job_t *J = &F->job;
  uint64_t i = 0;
  while (i < J->units && !atomic_load_explicit(&F->stop, memory_order_relaxed)) {
    uint64_t done = atomic_load_explicit(&F->done, memory_order_acquire);
    /* slot i % ring is free once unit i - ring is done; refill in runs so the thread mostly sleeps */
    uint64_t end = done + J->ring;
    if (end > J->units) end = J->units;
    if (end <= i || (end - i < J->refill && end < J->units)) {
      nap();
      continue;
    }
    for (; i < end; i++) {
      if (J->prefetch && i + J->ahead < J->units) J->prefetch(J->ctx, i + J->ahead);
      F->have[i % J->ring] = J->fill(J->ctx, i, done, F->ring + (i % J->ring) * J->unit_bytes);
      if ((i + 1) % J->publish == 0 || i + 1 == end) atomic_store_explicit(&F->filled, i + 1, memory_order_release);
      done = atomic_load_explicit(&F->done, memory_order_acquire);
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

sdr_fill_t *sdr_fill_start(const sdr_fill_job_t *job) {
  if (!fill_wanted() || cpus_allowed() < 2 || job->units == 0 || job->ring == 0) return NULL;
  sdr_fill_t *F = aligned_alloc(64, (sizeof(sdr_fill_t) + 63) / 64 * 64);
  if (!F) return NULL;
  memset(F, 0, sizeof *F);
  F->job = *job;
  if (!F->job.publish) F->job.publish = 1;
  F->ring = aligned_alloc(64, ((size_t)job->ring * job->unit_bytes + 63) / 64 * 64);
  F->have = calloc(job->ring, sizeof *F->have);
  if (!F->ring || !F->have) return free(F->ring), free(F->have), free(F), NULL;
  atomic_init(&F->filled, 0);
  atomic_init(&F->done, 0);
  atomic_init(&F->stop, 0);
  if (pthread_create(&F->th, NULL, producer, F) != 0) return free(F->ring), free(F->have), free(F), NULL;
  return F;
}

uint64_t sdr_fill_ready(sdr_fill_t *F) { return atomic_load_explicit(&F->filled, memory_order_acquire); }

uint8_t *sdr_fill_slot(sdr_fill_t *F, uint64_t i, uint32_t *have) {
  if (have) *have = F->have[i % F->job.ring];
  return F->ring + (i % F->job.ring) * F->job.unit_bytes;
}

void sdr_fill_done(sdr_fill_t *F, uint64_t done) { atomic_store_explicit(&F->done, done, memory_order_release); }

void sdr_fill_stop(sdr_fill_t *F) {
  if (!F) return;
  atomic_store_explicit(&F->stop, 1, memory_order_relaxed);
  pthread_join(F->th, NULL);
  free(F->ring);
  free(F->have);
  free(F);
}

static int fill_can_run(void) { return fill_wanted() && cpus_allowed() >= 2; }

#else
static int fill_can_run(void) { return 0; }
sdr_fill_t *sdr_fill_start(const sdr_fill_job_t *job) { return (void)job, NULL; }
uint64_t sdr_fill_ready(sdr_fill_t *F) { return (void)F, 0; }
uint8_t *sdr_fill_slot(sdr_fill_t *F, uint64_t i, uint32_t *have) {
  if (have) *have = 0;
  return (void)F, (void)i, NULL;
}
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
