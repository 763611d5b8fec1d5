/*
 * Memory for SDR labeling outside the V8 heap: read-only mappings of layer files (sdrMapFile, sdrUnmap), served
 * by the page cache without a copy in this process, and layer buffers in huge pages (sdrAllocLayer).
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

#include "sdr.h"

typedef sdr_map_t map_t;
#define throw_err sdr_throw
#define get_u64 sdr_get_u64

/* ---- read-only file mappings: the page cache serves labels without a copy in this process ---- */

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
napi_value sdr_js_map_file(napi_env env, napi_callback_info info) {
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
napi_value sdr_js_alloc_layer(napi_env env, napi_callback_info info) {
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
napi_value sdr_js_unmap(napi_env env, napi_callback_info info) {
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
