/*
 * BLS12-381 scalar field (Fr) and the Poseidon permutation, for PC2 (TreeC column hashes, TreeC/TreeR-last
 * octrees, CommR) and the replica encoding.
 *
 * Field elements are Montgomery form with 4 x 64-bit limbs (R = 2^256), multiplied with CIOS using
 * unsigned __int128 (fr_field.h). Outside these files every element is its canonical integer as 32
 * little-endian bytes, as rust-fil-proofs stores nodes; inputs >= r are rejected (RangeError), never reduced.
 *
 * Poseidon is neptune's pre-processed form (the TypeScript `optimizedPermute` in
 * src/proofs/poseidon/permutation.ts is the reference). Its constants are not stored here: TypeScript derives
 * them and passes them with every call as a "blob" in Montgomery form. With no global mutable state the addon
 * can run in several worker threads at once.
 *
 * Blob layout (little-endian u64 words): header [t, RF, RP, MAGIC], then 4-word elements:
 *   domain tag (1), compressed round constants (RF*t + RP), MDS (t*t, row-major, new[i] = sum_j M[i][j] s[j]),
 *   pre-sparse matrix (t*t), RP sparse matrices (row 0: t entries, then column 0 below the diagonal: t-1).
 *
 * Exports (all synchronous, batch-sized so the call overhead vanishes):
 *   frPoseidonHash(blob, input, out)       out[k] = H(input[k*arity .. k*arity+arity))  (arity = t - 1)
 *   frPoseidonColumns(blob, layers[], out) out[k] = H(layers[0][k], ..., layers[arity-1][k])
 *   frEncode(key, data, out)               out[k] = key[k] + data[k]   (out may alias data or key)
 *   frDecode(replica, key, out)            out[k] = replica[k] - key[k]
 *   frMulBench(n)                          n dependent Montgomery multiplications (rate baseline)
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fr_field.h"

#define POSEIDON_MAGIC 0x4e4f444945534f50ULL /* "POSEIDON" */
#define POSEIDON_MAX_T 37

/* ---- Poseidon ---- */

typedef struct {
  int t, rf, rp;
  const fr_t *tag, *rc, *mds, *pre, *sparse;
  void *owned; /* aligned copy of the blob when the caller's buffer was not 8-byte aligned */
} poseidon_t;

/* new = M * s for a dense t x t matrix */
FR_INLINE void dense_mul_with(fr_dot_fn dot, fr_t *s, const fr_t *m, int t) {
  fr_t out[POSEIDON_MAX_T];
  for (int i = 0; i < t; i++) dot(&out[i], m + (size_t)i * t, s, t);
  memcpy(s, out, sizeof(fr_t) * (size_t)t);
}

/* Pre-processed permutation (TypeScript reference: optimizedPermute in src/proofs/poseidon/permutation.ts). */
FR_INLINE void poseidon_permute_with(fr_mul_fn mul, fr_dot_fn dot, const poseidon_t *c, fr_t *s) {
  const int t = c->t, half = c->rf / 2, rp = c->rp;
  const fr_t *k = c->rc;
  for (int i = 0; i < t; i++) fr_add(&s[i], &s[i], k++);
  for (int r = 0; r < half; r++) {
    for (int i = 0; i < t; i++) {
      fr_pow5_with(mul, &s[i]);
      fr_add(&s[i], &s[i], k++);
    }
    dense_mul_with(dot, s, r == half - 1 ? c->pre : c->mds, t);
  }
  const fr_t *sp = c->sparse;
  for (int p = 0; p < rp; p++, sp += 2 * t - 1) {
    /* lane 0: S-box and its single constant; then the sparse matrix [row; col | I] */
    fr_t x0 = s[0], acc, q;
    fr_pow5_with(mul, &x0);
    fr_add(&x0, &x0, k++);
    s[0] = x0;
    dot(&acc, sp, s, t);
    const fr_t *col = sp + t;
    for (int i = 1; i < t; i++) {
      mul(&q, &col[i - 1], &x0);
      fr_add(&s[i], &s[i], &q);
    }
    s[0] = acc;
  }
  for (int r = 0; r < half; r++) {
    const int last = r == half - 1;
    for (int i = 0; i < t; i++) {
      fr_pow5_with(mul, &s[i]);
      if (!last) fr_add(&s[i], &s[i], k++);
    }
    dense_mul_with(dot, s, c->mds, t);
  }
}

/*
 * One hash: state = [tag, inputs...] (inputs[i] = canonical bytes at in[i]), permute, out = state[1].
 * Returns -1, or the index of the first input that is not canonical. Instantiated once per multiplier.
 */
#define FR_DEFINE_HASH(name, mul, dot)                                                             \
  static __attribute__((noinline)) int name(const poseidon_t *c, const uint8_t *const *in, uint8_t *out) { \
    fr_t s[POSEIDON_MAX_T];                                                                        \
    s[0] = *c->tag;                                                                                \
    for (int i = 0; i < c->t - 1; i++)                                                             \
      if (!fr_load_with(mul, &s[i + 1], in[i])) return i;                                          \
    poseidon_permute_with(mul, dot, c, s);                                                         \
    fr_store_with(mul, out, &s[1]);                                                                \
    return -1;                                                                                     \
  }
FR_DEFINE_HASH(poseidon_one_generic, fr_mul, fr_dot_generic)
FR_DEFINE_HASH(poseidon_one_adx, fr_mul_adx, fr_dot_adx)

typedef int (*poseidon_one_fn)(const poseidon_t *c, const uint8_t *const *in, uint8_t *out);

/* Set once when the module loads; VENUS_FR_GENERIC=1 forces the portable multiplier. */
static int use_adx = 0;
__attribute__((constructor)) static void fr_detect_cpu(void) {
  const char *force = getenv("VENUS_FR_GENERIC");
  use_adx = cpu_has_adx() && !(force && *force && *force != '0');
}

static poseidon_one_fn pick_impl(int impl) {
  /* impl: 0 = fastest available, 1 = portable C, 2 = BMI2/ADX (falls back when the CPU lacks it) */
  if (impl == 1) return poseidon_one_generic;
  if (impl == 2) return cpu_has_adx() ? poseidon_one_adx : poseidon_one_generic;
  return use_adx ? poseidon_one_adx : poseidon_one_generic;
}

/* ---- N-API plumbing ---- */

#define NAPI_OK(call)                                         \
  do {                                                        \
    if ((call) != napi_ok) {                                  \
      napi_throw_error(env, NULL, "N-API call failed: " #call); \
      return NULL;                                            \
    }                                                         \
  } while (0)

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  napi_typedarray_type type;
  size_t length, offset;
  void *ptr;
  napi_value ab;
  bool is_ta = false;
  char msg[128];
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    snprintf(msg, sizeof msg, "%s must be a Uint8Array", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    snprintf(msg, sizeof msg, "%s must be a Uint8Array", what);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  *data = (uint8_t *)ptr;
  *len = length;
  return 1;
}

static int parse_blob(napi_env env, napi_value v, poseidon_t *c) {
  uint8_t *data;
  size_t len;
  c->owned = NULL;
  if (!get_bytes(env, v, &data, &len, "Poseidon constants")) return 0;
  if (len < 32) goto bad;
  uint64_t hdr[4];
  memcpy(hdr, data, 32);
  if (hdr[3] != POSEIDON_MAGIC || hdr[0] < 2 || hdr[0] > POSEIDON_MAX_T || hdr[1] == 0 || hdr[1] % 2 || hdr[1] > 64 ||
      hdr[2] > 256)
    goto bad;
  const size_t t = hdr[0], rf = hdr[1], rp = hdr[2];
  const size_t elems = 1 + (rf * t + rp) + 2 * t * t + rp * (2 * t - 1);
  if (len != 32 + 32 * elems) goto bad;
  const fr_t *base;
  if (((uintptr_t)data & 7) == 0) {
    base = (const fr_t *)(data + 32);
  } else {
    c->owned = malloc(32 * elems);
    if (!c->owned) {
      napi_throw_error(env, NULL, "out of memory");
      return 0;
    }
    memcpy(c->owned, data + 32, 32 * elems);
    base = (const fr_t *)c->owned;
  }
  c->t = (int)t;
  c->rf = (int)rf;
  c->rp = (int)rp;
  c->tag = base;
  c->rc = base + 1;
  c->mds = c->rc + rf * t + rp;
  c->pre = c->mds + t * t;
  c->sparse = c->pre + t * t;
  return 1;
bad:
  napi_throw_type_error(env, NULL, "bad Poseidon constants blob");
  return 0;
}

static void throw_not_canonical(napi_env env, const char *what, size_t index) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s element %zu is not a canonical field element (value >= r)", what, index);
  napi_throw_range_error(env, "ERR_FR_NOT_CANONICAL", msg);
}

/* Optional trailing argument selecting the multiplier (see pick_impl); tests compare the two. */
static int get_impl(napi_env env, napi_value *argv, size_t argc, size_t at) {
  int32_t impl = 0;
  if (argc > at) {
    napi_valuetype vt;
    if (napi_typeof(env, argv[at], &vt) == napi_ok && vt == napi_number) napi_get_value_int32(env, argv[at], &impl);
  }
  return impl;
}

/* frPoseidonHash(blob, input, out[, impl]) */
static napi_value js_poseidon_hash(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "frPoseidonHash(blob, input, out)");
    return NULL;
  }
  poseidon_t c;
  uint8_t *in, *out;
  size_t in_len, out_len;
  if (!parse_blob(env, argv[0], &c)) return NULL;
  if (!get_bytes(env, argv[1], &in, &in_len, "input") || !get_bytes(env, argv[2], &out, &out_len, "out")) {
    free(c.owned);
    return NULL;
  }
  const size_t arity = (size_t)c.t - 1, count = out_len / 32;
  if (out_len % 32 || in_len != count * arity * 32) {
    free(c.owned);
    napi_throw_range_error(env, NULL, "frPoseidonHash: input must hold arity*32 bytes per 32-byte output");
    return NULL;
  }
  const poseidon_one_fn one = pick_impl(get_impl(env, argv, argc, 3));
  const uint8_t *ptrs[POSEIDON_MAX_T];
  for (size_t k = 0; k < count; k++) {
    const uint8_t *src = in + k * arity * 32;
    for (size_t i = 0; i < arity; i++) ptrs[i] = src + i * 32;
    const int bad = one(&c, ptrs, out + k * 32);
    if (bad >= 0) {
      free(c.owned);
      throw_not_canonical(env, "input", k * arity + (size_t)bad);
      return NULL;
    }
  }
  free(c.owned);
  return NULL;
}

/* frPoseidonColumns(blob, layers[], out[, impl]) */
static napi_value js_poseidon_columns(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "frPoseidonColumns(blob, layers, out)");
    return NULL;
  }
  bool is_array = false;
  NAPI_OK(napi_is_array(env, argv[1], &is_array));
  if (!is_array) {
    napi_throw_type_error(env, NULL, "layers must be an array of Uint8Array");
    return NULL;
  }
  poseidon_t c;
  if (!parse_blob(env, argv[0], &c)) return NULL;
  uint8_t *out;
  size_t out_len;
  uint32_t n_layers;
  const uint8_t *layer[POSEIDON_MAX_T];
  if (!get_bytes(env, argv[2], &out, &out_len, "out")) goto fail;
  if (napi_get_array_length(env, argv[1], &n_layers) != napi_ok || n_layers != (uint32_t)c.t - 1) {
    napi_throw_range_error(env, NULL, "frPoseidonColumns: need one layer per input of the hash (arity)");
    goto fail;
  }
  const size_t count = out_len / 32;
  if (out_len % 32) {
    napi_throw_range_error(env, NULL, "frPoseidonColumns: out must be a multiple of 32 bytes");
    goto fail;
  }
  for (uint32_t i = 0; i < n_layers; i++) {
    napi_value el;
    uint8_t *d;
    size_t l;
    if (napi_get_element(env, argv[1], i, &el) != napi_ok) goto fail;
    if (!get_bytes(env, el, &d, &l, "layer")) goto fail;
    if (l != count * 32) {
      napi_throw_range_error(env, NULL, "frPoseidonColumns: every layer must have as many elements as out");
      goto fail;
    }
    layer[i] = d;
  }
  const poseidon_one_fn one = pick_impl(get_impl(env, argv, argc, 3));
  const uint8_t *ptrs[POSEIDON_MAX_T];
  for (size_t k = 0; k < count; k++) {
    for (uint32_t i = 0; i < n_layers; i++) ptrs[i] = layer[i] + k * 32;
    const int bad = one(&c, ptrs, out + k * 32);
    if (bad >= 0) {
      char what[32];
      snprintf(what, sizeof what, "layer %d", bad + 1);
      throw_not_canonical(env, what, k);
      goto fail;
    }
  }
  free(c.owned);
  return NULL;
fail:
  free(c.owned);
  return NULL;
}

/* out = a + b (encode) or a - b (decode), element-wise on canonical bytes */
static napi_value add_sub(napi_env env, napi_callback_info info, int subtract) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) {
    napi_throw_type_error(env, NULL, subtract ? "frDecode(replica, key, out)" : "frEncode(key, data, out)");
    return NULL;
  }
  uint8_t *a, *b, *out;
  size_t la, lb, lo;
  if (!get_bytes(env, argv[0], &a, &la, subtract ? "replica" : "key") ||
      !get_bytes(env, argv[1], &b, &lb, subtract ? "key" : "data") || !get_bytes(env, argv[2], &out, &lo, "out"))
    return NULL;
  if (la != lb || la != lo || la % 32) {
    napi_throw_range_error(env, NULL, "field add/sub: operands must have the same length, a multiple of 32 bytes");
    return NULL;
  }
  const size_t n = la / 32;
  for (size_t k = 0; k < n; k++) {
    fr_t x, y, z;
    memcpy(x.v, a + 32 * k, 32);
    memcpy(y.v, b + 32 * k, 32);
    if (!fr_is_canonical(&x)) {
      throw_not_canonical(env, subtract ? "replica" : "key", k);
      return NULL;
    }
    if (!fr_is_canonical(&y)) {
      throw_not_canonical(env, subtract ? "key" : "data", k);
      return NULL;
    }
    /* plain (non-Montgomery) add/sub are the same operations on canonical values */
    if (subtract)
      fr_sub(&z, &x, &y);
    else
      fr_add(&z, &x, &y);
    memcpy(out + 32 * k, z.v, 32);
  }
  return NULL;
}

static napi_value js_encode(napi_env env, napi_callback_info info) { return add_sub(env, info, 0); }
static napi_value js_decode(napi_env env, napi_callback_info info) { return add_sub(env, info, 1); }

/* frMulBench(n): n dependent Montgomery multiplications; returns the low 32 bits of the result so the loop
   cannot be optimised away. The caller times it. */
static napi_value js_mul_bench(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ret;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double nd = 0;
  if (argc < 1 || napi_get_value_double(env, argv[0], &nd) != napi_ok || nd < 0) {
    napi_throw_type_error(env, NULL, "frMulBench(n)");
    return NULL;
  }
  const uint64_t n = (uint64_t)nd;
  fr_t x = {{0x0123456789abcdefULL, 0x1122334455667788ULL, 0x99aabbccddeeff00ULL, 0x0fedcba987654321ULL}};
  const fr_t y = {{0xdeadbeefcafebabeULL, 0x0badf00d12345678ULL, 0x1357924680aceb0dULL, 0x2468ace013579bdfULL}};
  const int impl = get_impl(env, argv, argc, 1);
  if (impl == 1 || (impl == 0 && !use_adx) || !cpu_has_adx())
    for (uint64_t i = 0; i < n; i++) fr_mul(&x, &x, &y);
  else
    for (uint64_t i = 0; i < n; i++) fr_mul_adx(&x, &x, &y);
  NAPI_OK(napi_create_uint32(env, (uint32_t)x.v[0], &ret));
  return ret;
}

/* frKernelInfo() -> { adx: boolean } : whether the BMI2/ADX multiplier is in use */
static napi_value js_kernel_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, b;
  NAPI_OK(napi_create_object(env, &obj));
  NAPI_OK(napi_get_boolean(env, use_adx != 0, &b));
  NAPI_OK(napi_set_named_property(env, obj, "adx", b));
  return obj;
}

napi_value fr_register(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"frPoseidonHash", NULL, js_poseidon_hash, NULL, NULL, NULL, napi_default, NULL},
      {"frPoseidonColumns", NULL, js_poseidon_columns, NULL, NULL, NULL, napi_default, NULL},
      {"frEncode", NULL, js_encode, NULL, NULL, NULL, napi_default, NULL},
      {"frDecode", NULL, js_decode, NULL, NULL, NULL, napi_default, NULL},
      {"frMulBench", NULL, js_mul_bench, NULL, NULL, NULL, napi_default, NULL},
      {"frKernelInfo", NULL, js_kernel_info, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
