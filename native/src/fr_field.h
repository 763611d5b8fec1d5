/*
 * BLS12-381 scalar field (Fr) arithmetic for fr.c: Montgomery multiplication (portable CIOS and BMI2/ADX),
 * addition, subtraction, dot products and the canonical-bytes conversions. Everything here is static inline so
 * it inlines into the Poseidon permutation; only fr.c includes it (it holds the k*r table filled at load).
 */
#ifndef VENUS_FR_FIELD_H
#define VENUS_FR_FIELD_H
#include <stdint.h>
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

#endif
