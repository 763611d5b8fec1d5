/*
 * BLS12-381 scalar field (Fr) and the Poseidon permutation, for PC2 (TreeC column hashes, TreeC/TreeR-last
 * octrees, CommR) and the replica encoding.
 *
 * Field elements are Montgomery form with 4 x 64-bit limbs (R = 2^256), multiplied with CIOS using
 * unsigned __int128. Outside this file every element is its canonical integer as 32 little-endian bytes, as
 * rust-fil-proofs stores nodes; inputs >= r are rejected (RangeError), never reduced.
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

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fr.c assumes a little-endian host"
#endif

typedef unsigned __int128 u128;
typedef struct {
  uint64_t v[4];
} fr_t;

#define P0 0xffffffff00000001ULL
#define P1 0x53bda402fffe5bfeULL
#define P2 0x3339d80809a1d805ULL
#define P3 0x73eda753299d7d48ULL
/* -r^-1 mod 2^64 */
#define FR_INV 0xfffffffeffffffffULL
/* R^2 mod r, to enter Montgomery form */
static const fr_t FR_R2 = {{0xc999e990f3f29c6dULL, 0x2b6cedcb87925c23ULL, 0x05d314967254398fULL, 0x0748d9d99f59ff11ULL}};
static const fr_t FR_ONE_PLAIN = {{1, 0, 0, 0}};

#define POSEIDON_MAGIC 0x4e4f444945534f50ULL /* "POSEIDON" */
#define POSEIDON_MAX_T 37

/* a < r ? (canonical) */
static inline int fr_is_canonical(const fr_t *a) {
  if (a->v[3] != P3) return a->v[3] < P3;
  if (a->v[2] != P2) return a->v[2] < P2;
  if (a->v[1] != P1) return a->v[1] < P1;
  return a->v[0] < P0;
}

/* r = t - p if t >= p, else t (branch-free: the outcome is data dependent and would mispredict). Inputs < 2p. */
static inline void fr_reduce_once(fr_t *r, uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3) {
  u128 d;
  uint64_t s0, s1, s2, s3, borrow;
  d = (u128)t0 - P0;
  s0 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t1 - P1 - borrow;
  s1 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t2 - P2 - borrow;
  s2 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)t3 - P3 - borrow;
  s3 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  const uint64_t keep = 0 - borrow; /* all ones when t < p */
  r->v[0] = (t0 & keep) | (s0 & ~keep);
  r->v[1] = (t1 & keep) | (s1 & ~keep);
  r->v[2] = (t2 & keep) | (s2 & ~keep);
  r->v[3] = (t3 & keep) | (s3 & ~keep);
}

#if defined(__x86_64__)
static const uint64_t FR_P_LIMBS[4] = {P0, P1, P2, P3};

/* a + b mod r. Operands < r < 2^255, so the 256-bit sum cannot overflow. add/adc, then sub/sbb r and keep the
   difference unless it borrowed (cmov): GCC's code for the same thing on __int128 is about three times longer. */
static inline void fr_add(fr_t *r, const fr_t *a, const fr_t *b) {
  uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3], s0, s1, s2, s3;
  __asm__("addq 0(%[b]), %[a0]\n\tadcq 8(%[b]), %[a1]\n\tadcq 16(%[b]), %[a2]\n\tadcq 24(%[b]), %[a3]\n\t"
          "movq %[a0], %[s0]\n\tsubq 0(%[p]), %[s0]\n\t"
          "movq %[a1], %[s1]\n\tsbbq 8(%[p]), %[s1]\n\t"
          "movq %[a2], %[s2]\n\tsbbq 16(%[p]), %[s2]\n\t"
          "movq %[a3], %[s3]\n\tsbbq 24(%[p]), %[s3]\n\t"
          "cmovncq %[s0], %[a0]\n\tcmovncq %[s1], %[a1]\n\tcmovncq %[s2], %[a2]\n\tcmovncq %[s3], %[a3]"
          : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [s0] "=&r"(s0), [s1] "=&r"(s1),
            [s2] "=&r"(s2), [s3] "=&r"(s3)
          : [b] "r"(b->v), [p] "r"(FR_P_LIMBS), "m"(*b), "m"(FR_P_LIMBS)
          : "cc");
  r->v[0] = a0;
  r->v[1] = a1;
  r->v[2] = a2;
  r->v[3] = a3;
}

/* a - b mod r: sub/sbb, then add (r AND the borrow mask) back. */
static inline void fr_sub(fr_t *r, const fr_t *a, const fr_t *b) {
  uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3], s0, s1, s2, s3, m;
  __asm__("subq 0(%[b]), %[a0]\n\tsbbq 8(%[b]), %[a1]\n\tsbbq 16(%[b]), %[a2]\n\tsbbq 24(%[b]), %[a3]\n\t"
          "sbbq %[m], %[m]\n\t" /* all ones when a < b */
          "movq 0(%[p]), %[s0]\n\tandq %[m], %[s0]\n\tmovq 8(%[p]), %[s1]\n\tandq %[m], %[s1]\n\t"
          "movq 16(%[p]), %[s2]\n\tandq %[m], %[s2]\n\tmovq 24(%[p]), %[s3]\n\tandq %[m], %[s3]\n\t"
          "addq %[s0], %[a0]\n\tadcq %[s1], %[a1]\n\tadcq %[s2], %[a2]\n\tadcq %[s3], %[a3]"
          : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [s0] "=&r"(s0), [s1] "=&r"(s1),
            [s2] "=&r"(s2), [s3] "=&r"(s3), [m] "=&r"(m)
          : [b] "r"(b->v), [p] "r"(FR_P_LIMBS), "m"(*b), "m"(FR_P_LIMBS)
          : "cc");
  r->v[0] = a0;
  r->v[1] = a1;
  r->v[2] = a2;
  r->v[3] = a3;
}
#else
/* Operands < r < 2^255, so the 256-bit sum cannot overflow. */
static inline void fr_add(fr_t *r, const fr_t *a, const fr_t *b) {
  u128 c;
  uint64_t t0, t1, t2, t3;
  c = (u128)a->v[0] + b->v[0];
  t0 = (uint64_t)c;
  c = (u128)a->v[1] + b->v[1] + (c >> 64);
  t1 = (uint64_t)c;
  c = (u128)a->v[2] + b->v[2] + (c >> 64);
  t2 = (uint64_t)c;
  c = (u128)a->v[3] + b->v[3] + (c >> 64);
  t3 = (uint64_t)c;
  fr_reduce_once(r, t0, t1, t2, t3);
}

static inline void fr_sub(fr_t *r, const fr_t *a, const fr_t *b) {
  u128 d;
  uint64_t t0, t1, t2, t3, borrow;
  d = (u128)a->v[0] - b->v[0];
  t0 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)a->v[1] - b->v[1] - borrow;
  t1 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)a->v[2] - b->v[2] - borrow;
  t2 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  d = (u128)a->v[3] - b->v[3] - borrow;
  t3 = (uint64_t)d;
  borrow = (uint64_t)(d >> 64) & 1;
  if (borrow) { /* add p back */
    u128 c;
    c = (u128)t0 + P0;
    t0 = (uint64_t)c;
    c = (u128)t1 + P1 + (c >> 64);
    t1 = (uint64_t)c;
    c = (u128)t2 + P2 + (c >> 64);
    t2 = (uint64_t)c;
    c = (u128)t3 + P3 + (c >> 64);
    t3 = (uint64_t)c;
  }
  r->v[0] = t0;
  r->v[1] = t1;
  r->v[2] = t2;
  r->v[3] = t3;
}

#endif

/*
 * Montgomery product a*b*R^-1 mod r, CIOS with the "no-carry" shortcut: r's top limb is below 2^63 - 1, so the
 * running total never needs a fifth word (the condition and proof are in the gnark-crypto notes on Montgomery
 * multiplication). Inputs must be < r. r may alias a or b.
 */
static inline void fr_mul(fr_t *r, const fr_t *a, const fr_t *b) {
  const uint64_t a0 = a->v[0], a1 = a->v[1], a2 = a->v[2], a3 = a->v[3];
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int i = 0; i < 4; i++) {
    const uint64_t bi = b->v[i];
    u128 c, d;
    uint64_t A, C, m;
    c = (u128)a0 * bi + t0;
    A = (uint64_t)(c >> 64);
    m = (uint64_t)c * FR_INV;
    d = (u128)m * P0 + (uint64_t)c;
    C = (uint64_t)(d >> 64);
    c = (u128)a1 * bi + t1 + A;
    A = (uint64_t)(c >> 64);
    d = (u128)m * P1 + (uint64_t)c + C;
    C = (uint64_t)(d >> 64);
    t0 = (uint64_t)d;
    c = (u128)a2 * bi + t2 + A;
    A = (uint64_t)(c >> 64);
    d = (u128)m * P2 + (uint64_t)c + C;
    C = (uint64_t)(d >> 64);
    t1 = (uint64_t)d;
    c = (u128)a3 * bi + t3 + A;
    A = (uint64_t)(c >> 64);
    d = (u128)m * P3 + (uint64_t)c + C;
    C = (uint64_t)(d >> 64);
    t2 = (uint64_t)d;
    t3 = C + A;
  }
  fr_reduce_once(r, t0, t1, t2, t3);
}

#if defined(__x86_64__)
/*
 * The same product with BMI2/ADX (mulx, and adcx/adox running two carry chains at once): GCC's code for the
 * __int128 version above keeps spilling, and this is about twice as fast. Used when cpuid reports both
 * extensions (every x86-64 server since Broadwell / Zen). Rows of CIOS, each in two steps:
 *   A: (t0..t4) += a * b[i]          B: m = t0 * INV; (t0..t4) += m * r; drop t0 (now zero)
 * The dropped register becomes the next row's top word, so rows rotate the register names.
 */
#define FR_ADX_MAC4(src, T0, T1, T2, T3, T4)                                          \
  "xorl %k[z], %k[z]\n\t"                                                          \
  "mulxq 0(" src "), %[lo], %[hi]\n\tadoxq %[lo], %[" #T0 "]\n\tadcxq %[hi], %[" #T1 "]\n\t" \
  "mulxq 8(" src "), %[lo], %[hi]\n\tadoxq %[lo], %[" #T1 "]\n\tadcxq %[hi], %[" #T2 "]\n\t" \
  "mulxq 16(" src "), %[lo], %[hi]\n\tadoxq %[lo], %[" #T2 "]\n\tadcxq %[hi], %[" #T3 "]\n\t" \
  "mulxq 24(" src "), %[lo], %[hi]\n\tadoxq %[lo], %[" #T3 "]\n\tadcxq %[hi], %[" #T4 "]\n\t" \
  "adoxq %[z], %[" #T4 "]\n\t"
#define FR_ADX_ROW(boff, T0, T1, T2, T3, T4)                 \
  "movq " #boff "(%[b]), %%rdx\n\t" FR_ADX_MAC4("%[a]", T0, T1, T2, T3, T4) \
  "movq %[" #T0 "], %%rdx\n\timulq 32(%[p]), %%rdx\n\t" FR_ADX_MAC4("%[p]", T0, T1, T2, T3, T4)

static const uint64_t FR_P_INV[5] = {P0, P1, P2, P3, FR_INV};

static inline void fr_mul_adx(fr_t *r, const fr_t *a, const fr_t *b) {
  uint64_t t0, t1, t2, t3, t4, lo, hi, z;
  __asm__("xorl %k[t0], %k[t0]\n\txorl %k[t1], %k[t1]\n\txorl %k[t2], %k[t2]\n\t"
          "xorl %k[t3], %k[t3]\n\txorl %k[t4], %k[t4]\n\t"                     //
          FR_ADX_ROW(0, t0, t1, t2, t3, t4)                                         //
          FR_ADX_ROW(8, t1, t2, t3, t4, t0)                                         //
          FR_ADX_ROW(16, t2, t3, t4, t0, t1)                                        //
          FR_ADX_ROW(24, t3, t4, t0, t1, t2)
          /* result (t4, t0, t1, t2) < 2r: subtract r, keep the difference unless it borrowed */
          "movq %[t4], %[lo]\n\tsubq 0(%[p]), %[lo]\n\t"
          "movq %[t0], %[hi]\n\tsbbq 8(%[p]), %[hi]\n\t"
          "movq %[t1], %[z]\n\tsbbq 16(%[p]), %[z]\n\t"
          "movq %[t2], %[t3]\n\tsbbq 24(%[p]), %[t3]\n\t"
          "cmovncq %[lo], %[t4]\n\tcmovncq %[hi], %[t0]\n\tcmovncq %[z], %[t1]\n\tcmovncq %[t3], %[t2]"
          : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [lo] "=&r"(lo),
            [hi] "=&r"(hi), [z] "=&r"(z)
          : [a] "r"(a->v), [b] "r"(b->v), [p] "r"(FR_P_INV), "m"(*a), "m"(*b), "m"(FR_P_INV)
          : "rdx", "cc");
  (void)lo;
  (void)hi;
  (void)z;
  (void)t3;
  r->v[0] = t4;
  r->v[1] = t0;
  r->v[2] = t1;
  r->v[3] = t2;
}

/*
 * Sums of products with one reduction (dense matrix rows, the sparse rounds' first row): each product is
 * added unreduced to a 9-limb accumulator (t products of values < r stay below t*r^2 < 2^516), then a single
 * Montgomery reduction and a short final reduction replace t reductions and t modular additions.
 */
typedef struct {
  uint64_t v[9];
} fr_acc_t;

/* acc += a * b (512-bit schoolbook product: mulx rows with adcx/adox, then an add chain into acc) */
static inline void fr_acc_mul_adx(fr_acc_t *acc, const fr_t *a, const fr_t *b) {
  uint64_t t0, t1, t2, t3, t4, t5, t6, t7, lo, hi, z;
  __asm__("xorl %k[t0], %k[t0]\n\txorl %k[t1], %k[t1]\n\txorl %k[t2], %k[t2]\n\txorl %k[t3], %k[t3]\n\t"
          "xorl %k[t4], %k[t4]\n\txorl %k[t5], %k[t5]\n\txorl %k[t6], %k[t6]\n\txorl %k[t7], %k[t7]\n\t"
          "movq 0(%[b]), %%rdx\n\t" FR_ADX_MAC4("%[a]", t0, t1, t2, t3, t4)  //
          "movq 8(%[b]), %%rdx\n\t" FR_ADX_MAC4("%[a]", t1, t2, t3, t4, t5)  //
          "movq 16(%[b]), %%rdx\n\t" FR_ADX_MAC4("%[a]", t2, t3, t4, t5, t6) //
          "movq 24(%[b]), %%rdx\n\t" FR_ADX_MAC4("%[a]", t3, t4, t5, t6, t7)
          : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5),
            [t6] "=&r"(t6), [t7] "=&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z)
          : [a] "r"(a->v), [b] "r"(b->v), "m"(*a), "m"(*b)
          : "rdx", "cc");
  (void)lo;
  (void)hi;
  (void)z;
  __asm__("addq %[t0], 0(%[acc])\n\tadcq %[t1], 8(%[acc])\n\tadcq %[t2], 16(%[acc])\n\t"
          "adcq %[t3], 24(%[acc])\n\tadcq %[t4], 32(%[acc])\n\tadcq %[t5], 40(%[acc])\n\t"
          "adcq %[t6], 48(%[acc])\n\tadcq %[t7], 56(%[acc])\n\tadcq $0, 64(%[acc])"
          : "+m"(*acc)
          : [acc] "r"(acc->v), [t0] "r"(t0), [t1] "r"(t1), [t2] "r"(t2), [t3] "r"(t3), [t4] "r"(t4), [t5] "r"(t5),
            [t6] "r"(t6), [t7] "r"(t7)
          : "cc");
}

/* Carries of both chains (CF, OF) from limb T into the limbs above it */
#define FR_ADX_RIPPLE(T) "adcxq %[z], %[" #T "]\n\tadoxq %[z], %[" #T "]\n\t"

/* Montgomery reduction of the accumulator: returns acc * R^-1 as 5 limbs (< (t*r/R + 1) r, at most 18 r). */
static inline void fr_acc_redc_adx(uint64_t out[5], const fr_acc_t *acc) {
  uint64_t c0 = acc->v[0], c1 = acc->v[1], c2 = acc->v[2], c3 = acc->v[3], c4 = acc->v[4], c5 = acc->v[5],
           c6 = acc->v[6], c7 = acc->v[7], c8 = acc->v[8], lo, hi, z;
  __asm__("movq %[c0], %%rdx\n\timulq 32(%[p]), %%rdx\n\t" FR_ADX_MAC4("%[p]", c0, c1, c2, c3, c4)
              FR_ADX_RIPPLE(c5) FR_ADX_RIPPLE(c6) FR_ADX_RIPPLE(c7) FR_ADX_RIPPLE(c8)     //
          "movq %[c1], %%rdx\n\timulq 32(%[p]), %%rdx\n\t" FR_ADX_MAC4("%[p]", c1, c2, c3, c4, c5)
              FR_ADX_RIPPLE(c6) FR_ADX_RIPPLE(c7) FR_ADX_RIPPLE(c8)                       //
          "movq %[c2], %%rdx\n\timulq 32(%[p]), %%rdx\n\t" FR_ADX_MAC4("%[p]", c2, c3, c4, c5, c6)
              FR_ADX_RIPPLE(c7) FR_ADX_RIPPLE(c8)                                         //
          "movq %[c3], %%rdx\n\timulq 32(%[p]), %%rdx\n\t" FR_ADX_MAC4("%[p]", c3, c4, c5, c6, c7)
              FR_ADX_RIPPLE(c8)
          : [c0] "+&r"(c0), [c1] "+&r"(c1), [c2] "+&r"(c2), [c3] "+&r"(c3), [c4] "+&r"(c4), [c5] "+&r"(c5),
            [c6] "+&r"(c6), [c7] "+&r"(c7), [c8] "+&r"(c8), [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z)
          : [p] "r"(FR_P_INV), "m"(FR_P_INV)
          : "rdx", "cc");
  (void)lo;
  (void)hi;
  (void)z;
  out[0] = c4;
  out[1] = c5;
  out[2] = c6;
  out[3] = c7;
  out[4] = c8;
}

#include <cpuid.h>
static int cpu_has_adx(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & (1u << 8)) && (b & (1u << 19)); /* BMI2, ADX */
}
#else
static int cpu_has_adx(void) { return 0; }
#define fr_mul_adx fr_mul
#endif

/* k*r for k < 64, as 5 limbs: the final reduction of a sum of products (filled when the module loads) */
static uint64_t FR_KP[64][5];
__attribute__((constructor)) static void fr_init_kp(void) {
  const uint64_t p[4] = {P0, P1, P2, P3};
  for (int k = 0; k < 64; k++) {
    u128 c = 0;
    for (int i = 0; i < 4; i++) {
      c += (u128)p[i] * (uint64_t)k;
      FR_KP[k][i] = (uint64_t)c;
      c >>= 64;
    }
    FR_KP[k][4] = (uint64_t)c;
  }
}

/* v (5 limbs, < 64 r) mod r: subtract floor(v / 2^255) * r twice (each leaves < 2^255 + q(2^255 - r)), then
   once more r if needed. floor(v / 2^255) <= v / r because r < 2^255, so nothing goes negative. */
static inline void fr_reduce_wide(fr_t *r, uint64_t v[5]) {
  for (int round = 0; round < 2; round++) {
    const uint64_t q = (v[4] << 1) | (v[3] >> 63);
    const uint64_t *kp = FR_KP[q & 63];
    u128 d;
    uint64_t borrow = 0;
    for (int i = 0; i < 5; i++) {
      d = (u128)v[i] - kp[i] - borrow;
      v[i] = (uint64_t)d;
      borrow = (uint64_t)(d >> 64) & 1;
    }
  }
  fr_reduce_once(r, v[0], v[1], v[2], v[3]);
}

/* sum_j m[j] * s[j] mod r, for n <= POSEIDON_MAX_T terms */
typedef void (*fr_dot_fn)(fr_t *r, const fr_t *m, const fr_t *s, int n);

static inline void fr_dot_generic(fr_t *r, const fr_t *m, const fr_t *s, int n) {
  fr_t acc, p;
  fr_mul(&acc, &m[0], &s[0]);
  for (int j = 1; j < n; j++) {
    fr_mul(&p, &m[j], &s[j]);
    fr_add(&acc, &acc, &p);
  }
  *r = acc;
}

#if defined(__x86_64__)
static inline void fr_dot_adx(fr_t *r, const fr_t *m, const fr_t *s, int n) {
  fr_acc_t acc = {{0}};
  uint64_t v[5];
  for (int j = 0; j < n; j++) fr_acc_mul_adx(&acc, &m[j], &s[j]);
  fr_acc_redc_adx(v, &acc);
  fr_reduce_wide(r, v);
}
#else
#define fr_dot_adx fr_dot_generic
#endif

typedef void (*fr_mul_fn)(fr_t *r, const fr_t *a, const fr_t *b);
#define FR_INLINE static inline __attribute__((always_inline))

/* Canonical bytes -> Montgomery; returns 0 when the value is >= r. */
FR_INLINE int fr_load_with(fr_mul_fn mul, fr_t *r, const uint8_t *bytes) {
  fr_t a;
  memcpy(a.v, bytes, 32);
  if (!fr_is_canonical(&a)) return 0;
  mul(r, &a, &FR_R2);
  return 1;
}

/* Montgomery -> canonical bytes */
FR_INLINE void fr_store_with(fr_mul_fn mul, uint8_t *bytes, const fr_t *a) {
  fr_t c;
  mul(&c, a, &FR_ONE_PLAIN);
  memcpy(bytes, c.v, 32);
}

FR_INLINE void fr_pow5_with(fr_mul_fn mul, fr_t *x) {
  fr_t x2, x4;
  mul(&x2, x, x);
  mul(&x4, &x2, &x2);
  mul(x, &x4, x);
}

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
