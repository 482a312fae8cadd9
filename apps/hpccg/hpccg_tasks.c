/*
 * hpccg_tasks.c: CG as a task graph. Vectors x, r, Ap and p (extended by the halo planes) are
 * split in `nb` row blocks; iteration k (the reference's loop) submits, per block i:
 *
 *   k >= 2:  dot_rr(k,i)  in r_i                          out rr[k][i]
 *            reduce_rr(k) in rr[k][*], rtrans[k-1]        out rtrans[k], beta[k], active[k+1]
 *            p(k,i)       in r_i, beta[k]                 inout p_i     (k = 1: p_i = r_i)
 *   [MPI]    halo(k)      in p's first/last plane          out the halo planes
 *            spmv(k,i)    in p rows of block i +- a plane  out Ap_i
 *            dot_pAp(k,i) in p_i, Ap_i                     out pAp[k][i]
 *            reduce_pAp(k) in pAp[k][*], rtrans[k]         out alpha[k]
 *            x(k,i)       in p_i, alpha[k]                 inout x_i
 *            r(k,i)       in Ap_i, alpha[k]                inout r_i
 *
 * and every task reads active[k]. The main thread submits all iterations at once and waits only
 * at the end: the only joins are the scalar reductions, and an SpMV block waits only for the p
 * blocks (and halo) it reads. The reference stops when the residual is not above the tolerance;
 * here reduce_rr computes active[k+1] and the bodies of a stopped iteration return at once, which
 * gives the same iterations without the main thread waiting on each residual. Scalars and
 * partial sums have one slot per iteration, so no iteration waits for the next one's readers.
 *
 * Partial sums are summed in block order by the reduction task, so a run is reproducible and
 * with one block it sums exactly as the sequential reference. Kernel times (the reference's
 * DDOT/WAXPBY/SPARSEMV) are the wall-clock durations of the kernel's bodies (device bodies: until
 * the device work completed), summed and divided by the blocks that can run at once
 * (min(blocks, daemon cores)); the total is end-to-end wall clock.
 *
 * A daemon restart (libnodus reconnects and resubmits what had not started) changes nothing: no
 * body depends on when or where it runs, and the sums above do not depend on the schedule, so the
 * result is bit-identical (tests/hpccg/test_hpccg_restart.sh).
 */
#include "hpccg_tasks.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpccg_comm.h"
#include "hpccg_device.h"
#include "hpccg_kernels.h"
#include "hpccg_mem.h"
#ifdef NODUS_HPCCG_OPENCL
#include "hpccg_opencl.h"
#endif
#ifdef NODUS_HPCCG_CUDA
#include "hpccg_cuda.h"
#endif

typedef struct solver solver_t;

typedef struct reduce_task { /* arguments of reduce_rr(k) / reduce_pAp(k) */
    solver_t *s;
    int k;
} reduce_task_t;

struct solver {
    nodus_t *n;
    const hpccg_problem_t *pb;
    const hpccg_opts_t *opts;
    int nb;
    size_t *bstart, *blen;
    double *x, *r, *p_ext, *p, *Ap; /* p = p_ext + plane */
    double *rr, *pAp;               /* partial sums: [(max_iter+1) * nb] */
    double *scratch;                /* nb * HPCCG_DOT_SCRATCH */
    double *rtrans, *alpha, *beta, *hist;
    char *active; /* active[k]: iteration k runs */
    hpccg_ktask_t *ktasks;
    size_t nktasks, used_ktasks;
    reduce_task_t *rtasks;
    nodus_task_fn cpu_fn;
    nodus_task_attr_t *attr[HPCCG_K_COUNT], *reduce_attr;
    atomic_ullong ns[HPCCG_T_COUNT];
    atomic_ullong bodies[3]; /* kernel bodies run, per nodus_device_kind_t */
};

static solver_t *account_solver; /* the running solver (one per process) */

static int kind_class(int kind)
{
    return kind == HPCCG_K_SPMV ? HPCCG_T_SPMV
                                : (kind == HPCCG_K_DOT ? HPCCG_T_DDOT : HPCCG_T_WAXPBY);
}

void hpccg_tasks_account(const hpccg_ktask_t *t, int impl, double seconds)
{
    if (!account_solver) return;
    if (impl >= 0 && impl < 3) atomic_fetch_add(&account_solver->bodies[impl], 1);
    if (seconds > 0)
        atomic_fetch_add(&account_solver->ns[kind_class(t->kind)],
                         (unsigned long long)(seconds * 1e9));
}

static void cpu_body(void *arg)
{
    hpccg_ktask_t *t = arg;
    if (!*t->active) return;
    double t0 = hpccg_now(), a, b;
    switch (t->kind) {
    case HPCCG_K_WAXPBY:
        hpccg_ktask_coeffs(t, &a, &b);
        hpccg_kernel_waxpby(t->n, a, t->x, b, t->y, t->w);
        break;
    case HPCCG_K_DOT:
        *t->out = hpccg_kernel_dot(t->n, t->x, t->y);
        break;
    case HPCCG_K_SPMV:
        hpccg_kernel_spmv(t->pb, t->x, t->w, t->start, t->n);
        break;
    }
    hpccg_tasks_account(t, NODUS_DEV_CPU, hpccg_now() - t0);
}

static int rt(int k) /* the rtrans slot iteration k uses: iteration 1 reuses the initial one */
{
    return k == 1 ? 0 : k;
}

static double sum_partials(const solver_t *s, const double *part)
{
    double sum = 0.0;
    for (int i = 0; i < s->nb; i++)
        sum += part[i];
    return hpccg_comm_sum(sum);
}

static void reduce_rr_body(void *arg)
{
    reduce_task_t *rt_ = arg;
    solver_t *s = rt_->s;
    int k = rt_->k, max_iter = s->opts->max_iter;
    if (!s->active[k]) return;
    double t0 = hpccg_now();
    double rtrans = sum_partials(s, s->rr + (size_t)k * s->nb), normr = sqrt(rtrans);
    double tol = s->opts->tolerance;
    s->rtrans[k] = rtrans;
    s->hist[k] = normr;
    if (k == 0) { /* iteration 1 runs on the initial residual */
        s->active[1] = 1 < max_iter && normr > tol;
        s->hist[1] = normr;
        s->active[2] = s->active[1] && 2 < max_iter && normr > tol;
    } else {
        s->beta[k] = rtrans / s->rtrans[rt(k - 1)];
        s->active[k + 1] = k + 1 < max_iter && normr > tol;
    }
    atomic_fetch_add(&s->ns[HPCCG_T_DDOT], (unsigned long long)((hpccg_now() - t0) * 1e9));
}

static void reduce_pAp_body(void *arg)
{
    reduce_task_t *rt_ = arg;
    solver_t *s = rt_->s;
    int k = rt_->k;
    if (!s->active[k]) return;
    double t0 = hpccg_now();
    s->alpha[k] = s->rtrans[rt(k)] / sum_partials(s, s->pAp + (size_t)k * s->nb);
    atomic_fetch_add(&s->ns[HPCCG_T_DDOT], (unsigned long long)((hpccg_now() - t0) * 1e9));
}

static void halo_body(void *arg)
{
    reduce_task_t *ht = arg;
    solver_t *s = ht->s;
    if (!s->active[ht->k]) return;
    double t0 = hpccg_now();
    hpccg_comm_halo(s->pb, s->p_ext);
    atomic_fetch_add(&s->ns[HPCCG_T_HALO], (unsigned long long)((hpccg_now() - t0) * 1e9));
}

/* ---- submission ---- */

#define ACC(ptr, count, mode) ((nodus_access_t){(ptr), (count) * sizeof *(ptr), (mode)})

static hpccg_ktask_t *ktask(solver_t *s, int kind, int k, int i)
{
    hpccg_ktask_t *t = &s->ktasks[s->used_ktasks++];
    *t = (hpccg_ktask_t){
        .kind = kind, .active = &s->active[k], .start = s->bstart[i], .n = s->blen[i], .pb = s->pb};
    return t;
}

static int submit_kernel(solver_t *s, hpccg_ktask_t *t, nodus_access_t *acc, size_t nacc)
{
    return nodus_submit(s->n, s->cpu_fn, t, acc, nacc, s->attr[t->kind]);
}

/* w_i = a*x_i + b*y_i, coefficients possibly from a scalar slot (read: `coef`). */
static int submit_waxpby(solver_t *s, int k, int i, double *w, const double *x, double a,
                         const double *y, double b, const double *coef_a, const double *coef_b)
{
    hpccg_ktask_t *t = ktask(s, HPCCG_K_WAXPBY, k, i);
    size_t st = s->bstart[i], n = s->blen[i];
    t->w = w + st, t->x = x + st, t->y = y + st, t->a = a, t->b = b;
    t->a_ptr = coef_a, t->b_ptr = coef_b;
    nodus_access_t acc[5];
    size_t na = 0;
    acc[na++] = ACC(&s->active[k], 1, NODUS_IN);
    int w_is_x = w == x, w_is_y = w == y;
    if (!w_is_x) acc[na++] = ACC(x + st, n, NODUS_IN);
    if (!w_is_y && y != x) acc[na++] = ACC(y + st, n, NODUS_IN);
    acc[na++] = ACC(w + st, n, (w_is_x || w_is_y) ? NODUS_INOUT : NODUS_OUT);
    const double *coef = coef_a ? coef_a : coef_b;
    if (coef) acc[na++] = ACC(coef, 1, NODUS_IN);
    return submit_kernel(s, t, acc, na);
}

static int submit_dot(solver_t *s, int k, int i, const double *x, const double *y, double *out)
{
    hpccg_ktask_t *t = ktask(s, HPCCG_K_DOT, k, i);
    size_t st = s->bstart[i], n = s->blen[i];
    t->x = x + st, t->y = y + st, t->out = out;
    t->scratch = s->scratch + (size_t)i * HPCCG_DOT_SCRATCH;
    nodus_access_t acc[5];
    size_t na = 0;
    acc[na++] = ACC(&s->active[k], 1, NODUS_IN);
    acc[na++] = ACC(x + st, n, NODUS_IN);
    if (y != x) acc[na++] = ACC(y + st, n, NODUS_IN);
    acc[na++] = ACC(out, 1, NODUS_OUT);
    acc[na++] = ACC(t->scratch, HPCCG_DOT_SCRATCH, NODUS_OUT);
    return submit_kernel(s, t, acc, na);
}

static int submit_spmv(solver_t *s, int k, int i)
{
    hpccg_ktask_t *t = ktask(s, HPCCG_K_SPMV, k, i);
    size_t st = s->bstart[i], n = s->blen[i];
    t->x = s->p_ext, t->w = s->Ap;
    nodus_access_t acc[3] = {ACC(&s->active[k], 1, NODUS_IN),
                             /* rows st-plane .. st+n+plane of p, in extended indices */
                             ACC(s->p_ext + st, n + 2 * s->pb->plane, NODUS_IN),
                             ACC(s->Ap + st, n, NODUS_OUT)};
    return submit_kernel(s, t, acc, 3);
}

static int submit_reduce(solver_t *s, nodus_task_fn fn, int k, nodus_access_t *acc, size_t na)
{
    reduce_task_t *rtask = &s->rtasks[2 * k + (fn == reduce_pAp_body)];
    *rtask = (reduce_task_t){s, k};
    return nodus_submit(s->n, fn, rtask, acc, na, s->reduce_attr);
}

static int submit_halo(solver_t *s, int k)
{
    if (s->pb->size == 1) return 0;
    reduce_task_t *h = &s->rtasks[2 * (s->opts->max_iter + 1) + k];
    *h = (reduce_task_t){s, k};
    size_t pl = s->pb->plane, nrow = s->pb->nrow;
    nodus_access_t acc[5] = {ACC(&s->active[k], 1, NODUS_IN), ACC(s->p, pl, NODUS_IN),
                             ACC(s->p + nrow - pl, pl, NODUS_IN), ACC(s->p_ext, pl, NODUS_OUT),
                             ACC(s->p + nrow, pl, NODUS_OUT)};
    return nodus_submit(s->n, halo_body, h, acc, 5, s->reduce_attr);
}

/* reduce_rr(k) after the dot_rr(k, *) tasks. */
static int submit_rr(solver_t *s, int k)
{
    int rc = 0;
    double *part = s->rr + (size_t)k * s->nb;
    for (int i = 0; i < s->nb && rc == 0; i++)
        rc = submit_dot(s, k, i, s->r, s->r, &part[i]);
    nodus_access_t acc[7];
    size_t na = 0;
    acc[na++] = ACC(part, (size_t)s->nb, NODUS_IN);
    acc[na++] = ACC(&s->active[k], 1, NODUS_IN);
    acc[na++] = ACC(&s->rtrans[k], 1, NODUS_OUT);
    if (k == 0) {
        acc[na++] = ACC(&s->active[1], 2, NODUS_OUT);
    } else {
        acc[na++] = ACC(&s->rtrans[rt(k - 1)], 1, NODUS_IN);
        acc[na++] = ACC(&s->beta[k], 1, NODUS_OUT);
        acc[na++] = ACC(&s->active[k + 1], 1, NODUS_OUT);
    }
    return rc ? rc : submit_reduce(s, reduce_rr_body, k, acc, na);
}

/* halo, Ap = A p, then alpha's reduction (k >= 1) or r = b - Ap (k = 0). */
static int submit_spmv_step(solver_t *s, int k)
{
    int rc = submit_halo(s, k);
    for (int i = 0; i < s->nb && rc == 0; i++)
        rc = submit_spmv(s, k, i);
    return rc;
}

static int submit_iteration(solver_t *s, int k)
{
    int rc = 0, nb = s->nb;
    if (k == 1) {
        for (int i = 0; i < nb && rc == 0; i++)
            rc = submit_waxpby(s, k, i, s->p, s->r, 1.0, s->r, 0.0, NULL, NULL);
    } else {
        rc = submit_rr(s, k);
        for (int i = 0; i < nb && rc == 0; i++)
            rc = submit_waxpby(s, k, i, s->p, s->r, 1.0, s->p, 1.0, NULL, &s->beta[k]);
    }
    if (rc == 0) rc = submit_spmv_step(s, k);
    double *part = s->pAp + (size_t)k * nb;
    for (int i = 0; i < nb && rc == 0; i++)
        rc = submit_dot(s, k, i, s->p, s->Ap, &part[i]);
    nodus_access_t acc[4] = {ACC(part, (size_t)nb, NODUS_IN), ACC(&s->active[k], 1, NODUS_IN),
                             ACC(&s->rtrans[rt(k)], 1, NODUS_IN), ACC(&s->alpha[k], 1, NODUS_OUT)};
    if (rc == 0) rc = submit_reduce(s, reduce_pAp_body, k, acc, 4);
    for (int i = 0; i < nb && rc == 0; i++)
        rc = submit_waxpby(s, k, i, s->x, s->x, 1.0, s->p, 1.0, NULL, &s->alpha[k]);
    for (int i = 0; i < nb && rc == 0; i++)
        rc = submit_waxpby(s, k, i, s->r, s->r, 1.0, s->Ap, -1.0, NULL, &s->alpha[k]);
    return rc;
}

/* ---- set-up ---- */

static void solver_free(solver_t *s)
{
    void *mem[] = {s->x, s->r, s->p_ext, s->Ap, s->rr, s->pAp, s->scratch};
    for (size_t i = 0; i < sizeof mem / sizeof mem[0]; i++)
        hpccg_mem_free(mem[i]);
    free(s->rtrans), free(s->alpha), free(s->beta), free(s->active);
    free(s->ktasks), free(s->rtasks), free(s->bstart), free(s->blen);
    for (int k = 0; k < HPCCG_K_COUNT; k++)
        if (s->attr[k]) nodus_task_attr_destroy(s->attr[k]);
    if (s->reduce_attr) nodus_task_attr_destroy(s->reduce_attr);
}

static int solver_init(solver_t *s, unsigned impls)
{
    const hpccg_problem_t *pb = s->pb;
    int nb = s->opts->ntasks, m = s->opts->max_iter;
    if (nb < 1 || (size_t)nb > pb->nrow) nb = nb < 1 ? 1 : (int)pb->nrow;
    s->nb = nb;
    s->bstart = calloc((size_t)nb, sizeof *s->bstart);
    s->blen = calloc((size_t)nb, sizeof *s->blen);
    if (!s->bstart || !s->blen) return -1;
    for (int i = 0; i < nb; i++) { /* blocks differ by at most one row */
        s->bstart[i] = pb->nrow * (size_t)i / (size_t)nb;
        s->blen[i] = pb->nrow * (size_t)(i + 1) / (size_t)nb - s->bstart[i];
    }
    size_t slots = (size_t)(m + 1) * nb;
    s->x = hpccg_mem_alloc(pb->nrow * sizeof(double));
    s->r = hpccg_mem_alloc(pb->nrow * sizeof(double));
    s->Ap = hpccg_mem_alloc(pb->nrow * sizeof(double));
    s->p_ext = hpccg_mem_alloc(pb->ext * sizeof(double));
    s->rr = hpccg_mem_alloc(slots * sizeof(double));
    s->pAp = hpccg_mem_alloc(slots * sizeof(double));
    s->scratch = hpccg_mem_alloc((size_t)nb * HPCCG_DOT_SCRATCH * sizeof(double));
    s->rtrans = calloc((size_t)m + 2, sizeof(double));
    s->alpha = calloc((size_t)m + 2, sizeof(double));
    s->beta = calloc((size_t)m + 2, sizeof(double));
    s->active = calloc((size_t)m + 2, 1);
    s->nktasks = (size_t)(m + 1) * 6 * nb;
    s->ktasks = calloc(s->nktasks, sizeof *s->ktasks);
    s->rtasks = calloc(3 * ((size_t)m + 2), sizeof *s->rtasks);
    if (!s->x || !s->r || !s->Ap || !s->p_ext || !s->rr || !s->pAp || !s->scratch || !s->rtrans ||
        !s->alpha || !s->beta || !s->active || !s->ktasks || !s->rtasks)
        return -1;
    s->p = s->p_ext + pb->plane;
    s->active[0] = 1;

    static const char *labels[] = {"hpccg.waxpby", "hpccg.dot", "hpccg.spmv"};
    s->cpu_fn = (impls & HPCCG_IMPL_CPU) ? cpu_body : NULL;
    for (int k = 0; k < HPCCG_K_COUNT; k++) {
        int rc = nodus_task_attr_create(&s->attr[k]);
        if (rc == 0) rc = nodus_task_attr_set_label(s->attr[k], labels[k]);
        /* after a daemon restart, device work that could not be confirmed may run again where
         * that is harmless: dot products and SpMV recompute their outputs from inputs they do
         * not write; WAXPBY updates x, r and p in place, so it may not */
        if (rc == 0 && k != HPCCG_K_WAXPBY) rc = nodus_task_attr_set_idempotent(s->attr[k], 1);
#ifdef NODUS_HPCCG_OPENCL
        if (rc == 0 && (impls & HPCCG_IMPL_OPENCL))
            rc = nodus_task_attr_set_impl(s->attr[k], NODUS_DEV_OPENCL, hpccg_opencl_body);
#endif
#ifdef NODUS_HPCCG_CUDA
        if (rc == 0 && (impls & HPCCG_IMPL_CUDA))
            rc = nodus_task_attr_set_impl(s->attr[k], NODUS_DEV_CUDA, hpccg_cuda_body);
#endif
        if (rc < 0) return rc;
    }
    int rc = nodus_task_attr_create(&s->reduce_attr);
    if (rc == 0) rc = nodus_task_attr_set_label(s->reduce_attr, "hpccg.reduce");
    if (rc < 0) return rc;

#ifdef NODUS_HPCCG_OPENCL
    if (impls & HPCCG_IMPL_OPENCL) {
        hpccg_region_t regions[] = {
            {pb->row_ptr, (pb->nrow + 1) * sizeof(int)},
            {pb->cols, 27 * pb->nrow * sizeof(int)},
            {pb->vals, 27 * pb->nrow * sizeof(double)},
            {pb->b, pb->nrow * sizeof(double)},
            {s->x, pb->nrow * sizeof(double)},
            {s->r, pb->nrow * sizeof(double)},
            {s->Ap, pb->nrow * sizeof(double)},
            {s->p_ext, pb->ext * sizeof(double)},
            {s->rr, slots * sizeof(double)},
            {s->pAp, slots * sizeof(double)},
            {s->scratch, (size_t)nb * HPCCG_DOT_SCRATCH * sizeof(double)},
        };
        rc = hpccg_opencl_setup(s->n, regions, (int)(sizeof regions / sizeof regions[0]));
        if (rc < 0) return rc;
    }
#endif
#ifdef NODUS_HPCCG_CUDA
    if (impls & HPCCG_IMPL_CUDA) {
        if (hpccg_cuda_setup(pb, nb, s->bstart, s->blen, s->p_ext, s->Ap, s->opts->cusparse) < 0)
            return -1;
    }
#endif
    return 0;
}

int hpccg_tasks_solve(nodus_t *n, const hpccg_problem_t *pb, const hpccg_opts_t *opts,
                      unsigned impls, hpccg_result_t *res)
{
    static solver_t solver;
    solver_t *s = &solver;
    memset(s, 0, sizeof *s);
    s->n = n, s->pb = pb, s->opts = opts;
    int m = opts->max_iter;
    s->hist = res->history = calloc((size_t)m + 2, sizeof(double));
    res->max_iter = m;
    int rc = s->hist ? solver_init(s, impls) : -1;
    account_solver = s;

    double t_begin = hpccg_now();
    /* k = 0: p = x, Ap = A p, r = b - Ap, rtrans = r.r */
    for (int i = 0; i < s->nb && rc == 0; i++)
        rc = submit_waxpby(s, 0, i, s->p, s->x, 1.0, s->x, 0.0, NULL, NULL);
    if (rc == 0) rc = submit_spmv_step(s, 0);
    for (int i = 0; i < s->nb && rc == 0; i++)
        rc = submit_waxpby(s, 0, i, s->r, pb->b, 1.0, s->Ap, -1.0, NULL, NULL);
    if (rc == 0) rc = submit_rr(s, 0);
    for (int k = 1; k < m && rc == 0; k++)
        rc = submit_iteration(s, k);
    int wrc = nodus_taskwait(n);
    if (rc == 0) rc = wrc;
    res->t[HPCCG_T_TOTAL] = hpccg_now() - t_begin;

    int ncores = nodus_num_cores(n);
    double lanes = s->nb < ncores ? s->nb : (ncores > 0 ? ncores : 1);
    for (int c = HPCCG_T_DDOT; c < HPCCG_T_COUNT; c++)
        res->t[c] = (double)atomic_load(&s->ns[c]) / 1e9 / (c == HPCCG_T_HALO ? 1 : lanes);
    for (int i = 0; i < 3; i++)
        res->bodies[i] = (long long)atomic_load(&s->bodies[i]);
    res->niters = 0;
    for (int k = 1; k < m && s->active[k]; k++)
        res->niters = k;
    res->normr0 = s->hist[0];
    res->normr = s->hist[res->niters];
#ifdef NODUS_HPCCG_OPENCL
    if ((impls & HPCCG_IMPL_OPENCL) && hpccg_opencl_teardown() < 0 && rc == 0) rc = -1;
#endif
#ifdef NODUS_HPCCG_CUDA
    if ((impls & HPCCG_IMPL_CUDA) && hpccg_cuda_teardown() < 0 && rc == 0) rc = -1;
#endif
    account_solver = NULL;
    solver_free(s);
    if (rc < 0 && rc != -1) fprintf(stderr, "hpccg: tasks: %s\n", nodus_strerror(rc));
    return rc;
}
