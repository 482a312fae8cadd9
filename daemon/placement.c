/*
 * Performance models and the placement choice for multi-version and device tasks; the policy is
 * described in placement.h. The model table is small (one entry per label a session uses), so a
 * plain open-addressing table with linear probing and no deletion is enough: entries live as long
 * as their session.
 */
#include "placement.h"

#include <stdbool.h>
#include <stdlib.h>

#include "nodus.h"

/* Cap on one sample, so 3 * average + sample cannot overflow (one hour). */
#define PLACEMENT_SAMPLE_MAX (UINT64_C(3600) * 1000000000u)
/* Sample counts saturate here (only "fewer than PLACEMENT_CALIBRATION" matters). */
#define PLACEMENT_SAMPLES_MAX 1000000u

uint64_t placement_label_hash(const char *label)
{
    /* FNV-1a, 64-bit */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)(label ? label : ""); *p; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    return h ? h : 1;
}

void placement_models_init(placement_models_t *m)
{
    m->slots = NULL;
    m->cap = m->count = 0;
}

void placement_models_free(placement_models_t *m)
{
    free(m->slots);
    placement_models_init(m);
}

static size_t slot_of(uint64_t hash, size_t cap)
{
    /* the hash is already mixed; fold the high bits in for small tables */
    return (size_t)(hash ^ (hash >> 32)) & (cap - 1);
}

placement_model_t *placement_models_find(const placement_models_t *m, uint64_t label_hash)
{
    if (m->cap == 0 || label_hash == 0) return NULL;
    for (size_t i = slot_of(label_hash, m->cap);; i = (i + 1) & (m->cap - 1)) {
        placement_model_t *e = &m->slots[i];
        if (e->label_hash == label_hash) return e;
        if (e->label_hash == 0) return NULL;
    }
}

static int models_grow(placement_models_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    placement_model_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return NODUS_ENOMEM;
    for (size_t k = 0; k < m->cap; k++) {
        const placement_model_t *e = &m->slots[k];
        if (e->label_hash == 0) continue;
        size_t i = slot_of(e->label_hash, cap);
        while (slots[i].label_hash != 0)
            i = (i + 1) & (cap - 1);
        slots[i] = *e;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

placement_model_t *placement_models_get(placement_models_t *m, uint64_t label_hash)
{
    if (label_hash == 0) label_hash = 1;
    placement_model_t *e = placement_models_find(m, label_hash);
    if (e) return e;
    /* load factor at most 1/2 */
    if ((m->count + 1) * 2 > m->cap && models_grow(m) < 0) return NULL;
    size_t i = slot_of(label_hash, m->cap);
    while (m->slots[i].label_hash != 0)
        i = (i + 1) & (m->cap - 1);
    e = &m->slots[i];
    e->label_hash = label_hash;
    m->count++;
    return e;
}

void placement_ema_add(uint64_t *ema_ns, uint32_t *samples, uint64_t ns)
{
    if (ns > PLACEMENT_SAMPLE_MAX) ns = PLACEMENT_SAMPLE_MAX;
    *ema_ns = *samples == 0 ? ns : (*ema_ns * 3 + ns) / 4;
    if (*samples < PLACEMENT_SAMPLES_MAX) (*samples)++;
}

int placement_models_sample(placement_models_t *m, uint64_t label_hash, uint32_t kind, uint64_t ns)
{
    if (kind >= PLACEMENT_KINDS) return NODUS_EINVAL;
    placement_model_t *e = placement_models_get(m, label_hash);
    if (!e) return NODUS_ENOMEM;
    placement_ema_add(&e->ema_ns[kind], &e->samples[kind], ns);
    return 0;
}

uint64_t placement_estimate(const placement_model_t *m, uint32_t kind, uint64_t fallback)
{
    if (!m || kind >= PLACEMENT_KINDS || m->samples[kind] == 0) return fallback;
    return m->ema_ns[kind];
}

/* Is a better than b among options of equal estimated finish? */
static bool option_before(const placement_option_t *a, const placement_option_t *b)
{
    if (a->backlog_ns != b->backlog_ns) return a->backlog_ns < b->backlog_ns;
    return a->load < b->load;
}

static bool calibrating(const placement_model_t *m, uint32_t kind)
{
    return m && kind < PLACEMENT_KINDS && m->samples[kind] < PLACEMENT_CALIBRATION;
}

size_t placement_decide(const placement_option_t *opts, size_t n, const placement_model_t *m)
{
    /* calibration: the next kind still being measured, cyclically from the cursor */
    uint32_t explore = PLACEMENT_KINDS;
    for (uint32_t step = 0; m && step < PLACEMENT_KINDS && explore == PLACEMENT_KINDS; step++) {
        uint32_t kind = (m->explore_next + step) % PLACEMENT_KINDS;
        if (!calibrating(m, kind)) continue;
        for (size_t i = 0; i < n; i++)
            if (opts[i].kind == kind) explore = kind;
    }
    size_t best = n;
    uint64_t best_finish = 0;
    for (size_t i = 0; i < n; i++) {
        const placement_option_t *o = &opts[i];
        if (explore != PLACEMENT_KINDS && o->kind != explore) continue;
        uint64_t model = explore != PLACEMENT_KINDS ? 0 : placement_estimate(m, o->kind, 0);
        uint64_t finish = o->backlog_ns + model;
        if (finish < o->backlog_ns) finish = UINT64_MAX; /* saturate */
        if (best == n || finish < best_finish ||
            (finish == best_finish && option_before(o, &opts[best]))) {
            best = i;
            best_finish = finish;
        }
    }
    return best < n ? best : 0;
}

void placement_commit(placement_model_t *m, uint32_t kind)
{
    /* the decision explored iff the kind it chose is still being calibrated */
    if (calibrating(m, kind)) m->explore_next = (kind + 1) % PLACEMENT_KINDS;
}

size_t placement_choose(const placement_option_t *opts, size_t n, placement_model_t *m)
{
    size_t pick = placement_decide(opts, n, m);
    placement_commit(m, opts[pick].kind);
    return pick;
}

uint32_t placement_slot(const uint32_t *load, uint32_t nslots)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < nslots; i++)
        if (load[i] < load[best]) best = i;
    return best;
}
