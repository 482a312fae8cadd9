/*
 * gpt2_cpu_test.h: helpers shared by the tests of the CPU GPT-2 ops (test_gpt2_cpu.c,
 * test_gpt2_cpu_slices.c): a seeded generator of uniform values and a tolerance assertion in
 * double. Include after <cmocka.h>.
 */
#ifndef GPT2_CPU_TEST_H
#define GPT2_CPU_TEST_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* |got - want| <= tol, in double (cmocka's assert_float_equal rounds to float first) */
#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double got_ = (got), want_ = (want), tol_ = (tol);                                         \
        if (!(fabs(got_ - want_) <= tol_))                                                         \
            fail_msg("%s = %.9g, expected %.9g within %.3g", #got, got_, want_, tol_);             \
    } while (0)

/* ---- random values ---- */

static uint64_t rng_state = 0x853c49e6748fea9bull;

static inline void rng_seed(uint64_t seed)
{
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
}

/* uniform in [-1, 1) */
static inline float rng_signed(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xffffff) / (float)0x800000 - 1.0f;
}

static inline void fill_signed(float *p, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_signed();
}

static inline float *alloc_floats(size_t n)
{
    float *p = calloc(n, sizeof(float));
    assert_non_null(p);
    return p;
}

#endif
