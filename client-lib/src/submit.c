/*
 * Task submission (see submit.h).
 *
 * nodus_submit() does its work under the session lock in one go: the daemon requires ids in
 * order (each one the last plus one), so taking the next id and appending the task to the
 * submission buffer must be one step. The buffer keeps its storage between batches, so the hot
 * path allocates nothing in steady state; the comm thread swaps it out whole.
 */
#include "array.h"
#include "submit.h"

#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "nodus_limits.h"
#include "worker.h"

struct nodus_task_attr {
    int32_t priority;
    uint32_t ncores;
    /* bodies by nodus_device_kind_t; [CPU] is used when nodus_submit()'s fn is NULL */
    nodus_task_fn impl[DEVICE_KINDS];
    size_t label_len;
    char label[NODUS_MAX_NAME + 1];
    bool idempotent; /* may run again when its outcome is lost in a daemon restart */
};

static const nodus_task_attr_t default_attr = {.priority = 0, .ncores = 1};

/* ---- attributes ---- */

NODUS_EXPORT int nodus_task_attr_create(nodus_task_attr_t **out)
{
    if (!out) return NODUS_EINVAL;
    *out = malloc(sizeof **out);
    if (!*out) return NODUS_ENOMEM;
    **out = default_attr;
    return 0;
}

NODUS_EXPORT void nodus_task_attr_destroy(nodus_task_attr_t *attr)
{
    free(attr);
}

NODUS_EXPORT int nodus_task_attr_set_priority(nodus_task_attr_t *attr, int priority)
{
    if (!attr) return NODUS_EINVAL;
    attr->priority = priority;
    return 0;
}

NODUS_EXPORT int nodus_task_attr_set_cores(nodus_task_attr_t *attr, unsigned ncores)
{
    /* the daemon's core count is known only at submit time, which checks the upper bound */
    if (!attr || ncores == 0 || ncores > NODUS_MAX_CORES) return NODUS_EINVAL;
    attr->ncores = ncores;
    return 0;
}

NODUS_EXPORT int nodus_task_attr_set_label(nodus_task_attr_t *attr, const char *label)
{
    if (!attr) return NODUS_EINVAL;
    attr->label_len = name_copy(attr->label, label ? label : "");
    return 0;
}

NODUS_EXPORT int nodus_task_attr_set_idempotent(nodus_task_attr_t *attr, int idempotent)
{
    if (!attr) return NODUS_EINVAL;
    attr->idempotent = idempotent != 0;
    return 0;
}

NODUS_EXPORT int nodus_task_attr_set_impl(nodus_task_attr_t *attr, nodus_device_kind_t kind,
                                          nodus_task_fn fn)
{
    if (!attr || (unsigned)kind >= DEVICE_KINDS) return NODUS_EINVAL;
    attr->impl[kind] = fn;
    return 0;
}

/* ---- submission buffer ---- */

static int buf_reserve(submit_buf_t *b, size_t naccesses, size_t label_bytes)
{
    if (b->naccesses + naccesses > UINT32_MAX || b->labels_len + label_bytes > UINT32_MAX)
        return NODUS_ELIMIT;
    void *p = b->tasks;
    int rc = array_reserve(&p, &b->tasks_cap, b->ntasks + 1, sizeof *b->tasks);
    b->tasks = p;
    if (rc < 0) return rc;
    p = b->accesses;
    rc = array_reserve(&p, &b->accesses_cap, b->naccesses + naccesses, sizeof *b->accesses);
    b->accesses = p;
    if (rc < 0) return rc;
    p = b->labels;
    rc = array_reserve(&p, &b->labels_cap, b->labels_len + label_bytes, 1);
    b->labels = p;
    return rc;
}

static void buf_append(submit_buf_t *b, uint64_t id, const nodus_access_t *accesses,
                       size_t naccesses, const nodus_task_attr_t *attr, uint32_t impls)
{
    static const Nodus__V1__Access access_init = NODUS__V1__ACCESS__INIT;
    pending_task_t *t = &b->tasks[b->ntasks++];
    t->id = id;
    t->impls = impls;
    t->priority = attr->priority;
    t->ncores = attr->ncores;
    t->first_access = (uint32_t)b->naccesses;
    t->naccesses = (uint32_t)naccesses;
    t->label_off = UINT32_MAX;
    Nodus__V1__Access *a = b->accesses + b->naccesses;
    for (size_t i = 0; i < naccesses; i++) {
        a[i] = access_init;
        a[i].addr = (uint64_t)(uintptr_t)accesses[i].addr;
        a[i].len = (uint64_t)accesses[i].len;
        a[i].mode = (Nodus__V1__AccessMode)accesses[i].mode;
    }
    b->naccesses += naccesses;
    if (attr->label_len) {
        t->label_off = (uint32_t)b->labels_len;
        memcpy(b->labels + b->labels_len, attr->label, attr->label_len + 1);
        b->labels_len += attr->label_len + 1;
    }
}

/* ---- nodus_submit ---- */

/*
 * The task's bodies by kind, and the TaskSpec.impls mask of those the daemon can place: a kind
 * with no device of that kind in the Welcome is dropped (a multi-version task then simply runs
 * where it can). Returns the mask; 0 means the task cannot run anywhere.
 */
static uint32_t task_impls(const nodus_t *n, nodus_task_fn fn, const nodus_task_attr_t *attr,
                           nodus_task_fn fns[DEVICE_KINDS])
{
    fns[NODUS_DEV_CPU] = fn ? fn : attr->impl[NODUS_DEV_CPU];
    uint32_t impls = fns[NODUS_DEV_CPU] ? 1u << NODUS_DEV_CPU : 0;
    for (unsigned k = NODUS_DEV_CPU + 1; k < DEVICE_KINDS; k++) {
        fns[k] = NULL;
        if (!attr->impl[k]) continue;
        for (size_t d = 0; d < n->ndevices; d++) {
            if ((unsigned)n->devices[d].kind == k) {
                fns[k] = attr->impl[k];
                impls |= 1u << k;
                break;
            }
        }
    }
    return impls;
}

static int accesses_valid(const nodus_access_t *accesses, size_t naccesses)
{
    if (naccesses > NODUS_MAX_ACCESSES_PER_TASK || (naccesses && !accesses)) return 0;
    for (size_t i = 0; i < naccesses; i++) {
        const nodus_access_t *a = &accesses[i];
        uint64_t addr = (uint64_t)(uintptr_t)a->addr;
        if (a->len == 0 || addr + (uint64_t)a->len < addr) return 0;
        if (a->mode != NODUS_IN && a->mode != NODUS_OUT && a->mode != NODUS_INOUT) return 0;
    }
    return 1;
}

NODUS_EXPORT int nodus_submit(nodus_t *n, nodus_task_fn fn, void *arg,
                              const nodus_access_t *accesses, size_t naccesses,
                              const nodus_task_attr_t *attr)
{
    if (!n || !accesses_valid(accesses, naccesses)) return NODUS_EINVAL;
    if (!attr) attr = &default_attr;
    if (attr->ncores > n->ncpus) return NODUS_EINVAL;
    nodus_task_fn fns[DEVICE_KINDS];
    uint32_t impls = task_impls(n, fn, attr, fns);
    if (impls == 0) {
        /* no body at all, or only bodies for kinds of device the daemon does not have */
        for (unsigned k = 0; k < DEVICE_KINDS; k++)
            if (attr->impl[k]) return NODUS_ENOTSUP;
        return NODUS_EINVAL;
    }
    int rc = session_error(n);
    if (rc < 0) return rc;
    /* a body that blocked here could hold the very cores its session needs to drain */
    bool may_block = !worker_in_task_of(n);

    pthread_mutex_lock(&n->lock);
    while (may_block && n->outstanding >= n->max_outstanding && session_error(n) == 0) {
        n->space_waiters++;
        pthread_cond_wait(&n->space_cv, &n->lock);
        n->space_waiters--;
    }
    rc = session_error(n);
    if (rc == 0)
        rc = buf_reserve(&n->pending, naccesses, attr->label_len ? attr->label_len + 1 : 0);
    uint64_t id = n->next_id;
    if (rc == 0) rc = table_insert(&n->table, id, fns, arg, attr->ncores, attr->idempotent);
    if (rc == 0) {
        buf_append(&n->pending, id, accesses, naccesses, attr, impls);
        n->next_id++;
        n->outstanding++;
    }
    pthread_mutex_unlock(&n->lock);
    if (rc == 0) comm_wake(n);
    return rc;
}
