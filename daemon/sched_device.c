/*
 * The scheduler's devices: adding them, placing tasks that offer a device implementation,
 * device-first dispatch (what the head of a client's device-capable heap claims against its
 * CPU-only tasks), the in-flight bookkeeping from grant to device completion, and the cores a CPU
 * device holds while it has work. Policy is described in sched.h (and the choice itself in
 * placement.h).
 *
 * Device-first asks placement what it would do with the head before anything is placed
 * (placement_decide) and carries out only a device choice there; a CPU choice is made again, by
 * the same function with the same inputs, if the head comes first in order. So the calibration
 * cursor moves only with the decisions carried out.
 *
 * Data structures, per device: counters (in flight, per slot, completed), the backlog (sum of
 * the model estimates of the tasks in flight, so a device's backlog is one division), and a
 * doubly linked list of its tasks in flight (through task.dev_prev/dev_next), which charging
 * and client removal walk: it is bounded by max_in_flight. Per client: its in-flight count on
 * each device (the per-session bound) and its performance models.
 *
 * Held cores are charged lazily: each time a device's set of tasks in flight changes, the time
 * since the last change, times the cores held, is split evenly between the tasks that were in
 * flight, and added to their clients' and jobs' core-time.
 *
 * Loop thread only; pure logic with injected time.
 */
#include <stdlib.h>
#include <string.h>

#include "nodus.h"
#include "sched_internal.h"

int sched_add_device(sched_t *s, uint32_t kind, uint32_t slots, uint32_t max_in_flight,
                     uint32_t max_per_session, const uint32_t *core_indices, size_t ncores_held)
{
    if (!s || kind == SCHED_KIND_CPU || kind >= PLACEMENT_KINDS || slots == 0 ||
        slots > NODUS_MAX_DEVICE_SLOTS || max_in_flight == 0 || max_per_session == 0 ||
        (ncores_held > 0 && !core_indices) || ncores_held >= s->ncores)
        return NODUS_EINVAL;
    if (s->jobs) return NODUS_ESTATE; /* clients size their per-device arrays when added */
    if (s->ndevices >= NODUS_MAX_DEVICES) return NODUS_ELIMIT;
    for (size_t i = 0; i < ncores_held; i++) {
        if (core_indices[i] >= s->ncores) return NODUS_EINVAL;
        for (size_t k = 0; k < i; k++)
            if (core_indices[k] == core_indices[i]) return NODUS_EINVAL;
    }
    sched_device_t *devs = realloc(s->devices, (s->ndevices + 1) * sizeof *devs);
    if (!devs) return NODUS_ENOMEM;
    s->devices = devs;
    if (ncores_held > 0 && !s->plain_map) {
        s->plain_map = malloc(s->nwords * sizeof *s->plain_map);
        if (!s->plain_map) return NODUS_ENOMEM;
        memset(s->plain_map, 0, s->nwords * sizeof *s->plain_map);
        for (size_t i = 0; i < s->ncores; i++)
            bit_set(s->plain_map, i);
    }
    sched_device_t *dv = &devs[s->ndevices];
    memset(dv, 0, sizeof *dv);
    dv->slot_load = calloc(slots, sizeof *dv->slot_load);
    dv->cores = ncores_held ? malloc(ncores_held * sizeof *dv->cores) : NULL;
    if (!dv->slot_load || (ncores_held && !dv->cores)) {
        free(dv->slot_load);
        free(dv->cores);
        return NODUS_ENOMEM;
    }
    dv->kind = kind;
    dv->slots = slots;
    dv->max_in_flight = max_in_flight;
    dv->max_per_session = max_per_session;
    dv->ncores = (uint32_t)ncores_held;
    for (size_t i = 0; i < ncores_held; i++) {
        dv->cores[i] = core_indices[i];
        bit_clear(s->plain_map, core_indices[i]);
    }
    if (ncores_held) s->any_device_cores = true;
    s->kinds |= 1u << kind;
    return (int)s->ndevices++;
}

void sched_devices_free(sched_t *s)
{
    for (uint32_t d = 0; d < s->ndevices; d++) {
        free(s->devices[d].slot_load);
        free(s->devices[d].cores);
    }
    free(s->devices);
    free(s->plain_map);
    s->devices = NULL;
    s->plain_map = NULL;
    s->ndevices = 0;
}

/* ---- held cores ---- */

/* Charges the cores dv held since the last change to the tasks in flight on it, evenly. */
static void device_charge(sched_device_t *dv, uint64_t now)
{
    if (!dv->held || now <= dv->charge_since) return;
    uint64_t dt = now - dv->charge_since;
    dv->charge_since = now;
    if (dv->in_flight == 0) return;
    uint64_t share = (uint64_t)dv->ncores * dt / dv->in_flight;
    for (task_t *t = dv->inflight; t; t = t->dev_next) {
        sched_client_t *c = t->dev_client;
        c->acct.used_ns += share;
        c->job->acct.used_ns += share;
    }
}

static bool device_cores_free(const sched_t *s, const sched_device_t *dv)
{
    for (uint32_t k = 0; k < dv->ncores; k++)
        if (!bit_test(s->free_map, dv->cores[k])) return false;
    return true;
}

static void device_hold(sched_t *s, sched_device_t *dv, uint32_t d, uint64_t now)
{
    for (uint32_t k = 0; k < dv->ncores; k++) {
        size_t i = dv->cores[k];
        bit_clear(s->free_map, i);
        s->cores[i].held_by = d + 1;
    }
    s->nfree -= dv->ncores;
    dv->held = true;
    dv->charge_since = now;
}

static void device_release(sched_t *s, sched_device_t *dv)
{
    for (uint32_t k = 0; k < dv->ncores; k++) {
        size_t i = dv->cores[k];
        s->cores[i].held_by = 0;
        bit_set(s->free_map, i);
    }
    s->nfree += dv->ncores;
    dv->held = false;
}

/* t leaves dv's in-flight set (counts, slot, backlog, list); releases held cores at zero. */
static void device_unlink(sched_t *s, sched_device_t *dv, task_t *t)
{
    sched_client_t *c = t->dev_client;
    if (t->dev_prev)
        t->dev_prev->dev_next = t->dev_next;
    else
        dv->inflight = t->dev_next;
    if (t->dev_next) t->dev_next->dev_prev = t->dev_prev;
    t->dev_prev = t->dev_next = NULL;
    t->on_device = 0;
    dv->in_flight--;
    dv->slot_load[t->slot]--;
    dv->backlog_ns -= t->est_ns <= dv->backlog_ns ? t->est_ns : dv->backlog_ns;
    c->dev_in_flight[t->device]--;
    if (dv->in_flight == 0) {
        dv->backlog_ns = 0;
        if (dv->held) device_release(s, dv);
    }
}

/* ---- placement ---- */

/* Why a resource cannot take the task now; SCHED_PLACED when it can. */
static sched_place_result_t device_fit(const sched_t *s, const sched_client_t *c, uint32_t d)
{
    const sched_device_t *dv = &s->devices[d];
    if (dv->in_flight >= dv->max_in_flight || c->dev_in_flight[d] >= dv->max_per_session)
        return SCHED_NO_CAPACITY;
    if (dv->ncores > 0 && !dv->held) {
        /* cores another CPU device holds free when that device drains, not when bodies end */
        for (uint32_t k = 0; k < dv->ncores; k++)
            if (s->cores[dv->cores[k]].held_by != 0) return SCHED_NO_CAPACITY;
        /* its cores, and one more for the body */
        if (s->nfree <= dv->ncores || !device_cores_free(s, dv)) return SCHED_NO_CORES;
        return SCHED_PLACED;
    }
    return s->nfree > 0 ? SCHED_PLACED : SCHED_NO_CORES;
}

static sched_place_result_t place_on_device(sched_t *s, sched_client_t *c, task_t *t, uint32_t d,
                                            const placement_model_t *m, uint64_t now)
{
    sched_device_t *dv = &s->devices[d];
    if (dv->ncores > 0 && !dv->held)
        device_hold(s, dv, d, now);
    else
        device_charge(dv, now); /* the in-flight set changes: settle the time so far */
    t->ncores = 1;              /* a device body enqueues work: one core */
    if (sched_core_place(s, c, t, now) != 0) {
        /* cannot happen for one core (no allocation); undo the hold for symmetry */
        if (dv->held && dv->in_flight == 0) device_release(s, dv);
        return SCHED_NO_MEMORY;
    }
    t->grant_kind = dv->kind;
    t->device = d;
    t->slot = placement_slot(dv->slot_load, dv->slots);
    t->est_ns = placement_estimate(m, dv->kind, dv->ema_ns);
    t->dev_client = c;
    t->on_device = 1;
    t->dev_prev = NULL;
    t->dev_next = dv->inflight;
    if (dv->inflight) dv->inflight->dev_prev = t;
    dv->inflight = t;
    dv->in_flight++;
    dv->slot_load[t->slot]++;
    dv->backlog_ns += t->est_ns;
    c->dev_in_flight[d]++;
    return SCHED_PLACED;
}

/* The resources that can take a task, as placement options, and why the others cannot. */
typedef struct device_options {
    placement_option_t opt[1 + NODUS_MAX_DEVICES];
    uint32_t where[1 + NODUS_MAX_DEVICES]; /* device index, or UINT32_MAX for the CPU */
    size_t n;
    bool device_short; /* a device of an offered kind has room, but not the cores it needs */
    bool cpu_short;    /* the CPU implementation is wider than the free cores */
} device_options_t;

/*
 * Fills o for task t of c. With `cores_free`, busy cores count as free: the question lookahead
 * asks (what would t take if cores freed), so only in-flight bounds and cores held by another
 * device rule a resource out.
 */
static void device_options(const sched_t *s, const sched_client_t *c, const task_t *t,
                           bool cores_free, device_options_t *o)
{
    o->n = 0;
    o->device_short = o->cpu_short = false;
    if (t->impls & SCHED_IMPL_CPU) {
        if (cores_free || t->ncores <= s->nfree) {
            o->opt[o->n] = (placement_option_t){.kind = SCHED_KIND_CPU};
            o->where[o->n++] = UINT32_MAX;
        } else {
            o->cpu_short = true;
        }
    }
    for (uint32_t d = 0; d < s->ndevices; d++) {
        const sched_device_t *dv = &s->devices[d];
        if (!(t->impls & (1u << dv->kind))) continue;
        sched_place_result_t fit = device_fit(s, c, d);
        if (fit == SCHED_NO_CORES && !cores_free) o->device_short = true;
        if (fit == SCHED_NO_CAPACITY || (fit == SCHED_NO_CORES && !cores_free)) continue;
        o->opt[o->n] = (placement_option_t){
            .kind = dv->kind, .backlog_ns = dv->backlog_ns / dv->slots, .load = dv->in_flight};
        o->where[o->n++] = d;
    }
}

/* The model of t in c, created if absent (NULL on OOM: placement then has none). */
static placement_model_t *task_model(sched_client_t *c, task_t *t)
{
    if (t->label_hash == 0) t->label_hash = placement_label_hash(t->label);
    return placement_models_get(&c->models, t->label_hash);
}

/* Places t on resource `where` (a device index, or UINT32_MAX for the CPU). */
static sched_place_result_t place_at(sched_t *s, sched_client_t *c, task_t *t, uint32_t where,
                                     const placement_model_t *m, uint64_t now)
{
    if (where != UINT32_MAX) return place_on_device(s, c, t, where, m, now);
    if (sched_core_place(s, c, t, now) != 0) return SCHED_NO_MEMORY;
    t->grant_kind = SCHED_KIND_CPU;
    return SCHED_PLACED;
}

sched_place_result_t sched_device_place(sched_t *s, sched_client_t *c, task_t *t, uint64_t now)
{
    device_options_t o;
    device_options(s, c, t, false, &o);
    if (o.n == 0) return o.device_short || o.cpu_short ? SCHED_NO_CORES : SCHED_NO_CAPACITY;
    placement_model_t *m = task_model(c, t);
    size_t pick = placement_choose(o.opt, o.n, m);
    return place_at(s, c, t, o.where[pick], m, now);
}

/*
 * Device-first. Only a device choice is acted on here: a CPU choice is made again by
 * sched_device_place if the task comes first in order, so the calibration cursor moves only for
 * the decision that is carried out.
 */
sched_place_result_t sched_device_first(sched_t *s, sched_client_t *c, uint64_t now,
                                        sched_head_claim_t *claim)
{
    task_t *t = c->dev_ready.v[0];
    device_options_t o;
    device_options(s, c, t, false, &o);
    if (o.n == 0) {
        /* a device with room whose cores are busy: wait for them as a wide task would */
        *claim = o.device_short ? SCHED_HEAD_FIRST
                 : o.cpu_short  ? SCHED_HEAD_IN_ORDER
                                : SCHED_HEAD_NONE;
        return o.device_short ? SCHED_NO_CORES : SCHED_NO_CAPACITY;
    }
    placement_model_t *m = task_model(c, t);
    size_t pick = placement_decide(o.opt, o.n, m);
    if (o.where[pick] == UINT32_MAX) {
        *claim = SCHED_HEAD_IN_ORDER;
        return SCHED_NO_CAPACITY;
    }
    *claim = SCHED_HEAD_FIRST;
    placement_commit(m, o.opt[pick].kind);
    return place_on_device(s, c, t, o.where[pick], m, now);
}

sched_head_claim_t sched_device_claim(const sched_t *s, const sched_client_t *c)
{
    if (c->dev_ready.n == 0) return SCHED_HEAD_NONE;
    const task_t *t = c->dev_ready.v[0];
    device_options_t o;
    device_options(s, c, t, true, &o);
    if (o.n == 0) return SCHED_HEAD_NONE;
    uint64_t hash = t->label_hash ? t->label_hash : placement_label_hash(t->label);
    size_t pick = placement_decide(o.opt, o.n, placement_models_find(&c->models, hash));
    return o.where[pick] == UINT32_MAX ? SCHED_HEAD_IN_ORDER : SCHED_HEAD_FIRST;
}

void sched_device_cpu_finished(sched_client_t *c, task_t *t, uint64_t now)
{
    if (task_cpu_only(t)) return; /* models only serve choices */
    (void)placement_models_sample(&c->models, t->label_hash, SCHED_KIND_CPU,
                                  now > t->grant_ns ? now - t->grant_ns : 0);
}

void sched_device_body_finished(sched_client_t *c, task_t *t)
{
    t->state = TASK_DEVICE;
    c->ndevice++;
}

int sched_device_complete(sched_t *s, sched_client_t *c, task_t *t, uint64_t now_ns)
{
    if (!s || !c || !t || t->state != TASK_DEVICE || !t->on_device || t->dev_client != c ||
        t->device >= s->ndevices)
        return NODUS_EINVAL;
    sched_note_time(s, now_ns);
    sched_device_t *dv = &s->devices[t->device];
    device_charge(dv, now_ns);
    device_unlink(s, dv, t);
    c->ndevice--;
    dv->completed++;
    uint64_t ns = now_ns > t->grant_ns ? now_ns - t->grant_ns : 0;
    placement_ema_add(&dv->ema_ns, &dv->samples, ns);
    (void)placement_models_sample(&c->models, t->label_hash, dv->kind, ns);
    return 0;
}

void sched_device_client_remove(sched_t *s, sched_client_t *c, uint64_t now)
{
    for (uint32_t d = 0; d < s->ndevices; d++) {
        if (c->dev_in_flight[d] == 0) continue;
        sched_device_t *dv = &s->devices[d];
        device_charge(dv, now);
        task_t *t = dv->inflight;
        while (t) {
            task_t *next = t->dev_next;
            if (t->dev_client == c) device_unlink(s, dv, t);
            t = next;
        }
    }
    c->ndevice = 0;
}

/* ---- queries ---- */

int sched_core_held_by(const sched_t *s, size_t i)
{
    return i < s->ncores ? (int)s->cores[i].held_by - 1 : -1;
}

size_t sched_ndevices(const sched_t *s)
{
    return s->ndevices;
}

uint32_t sched_kinds(const sched_t *s)
{
    return s->kinds;
}

uint32_t sched_device_in_flight(const sched_t *s, size_t d)
{
    return d < s->ndevices ? s->devices[d].in_flight : 0;
}

uint32_t sched_device_max_in_flight(const sched_t *s, size_t d)
{
    return d < s->ndevices ? s->devices[d].max_in_flight : 0;
}

uint64_t sched_device_completed(const sched_t *s, size_t d)
{
    return d < s->ndevices ? s->devices[d].completed : 0;
}

uint32_t sched_device_slot_load(const sched_t *s, size_t d, uint32_t slot)
{
    return d < s->ndevices && slot < s->devices[d].slots ? s->devices[d].slot_load[slot] : 0;
}

int sched_device_cores_held(const sched_t *s, size_t d)
{
    return d < s->ndevices && s->devices[d].held;
}

uint32_t sched_client_device_in_flight(const sched_client_t *c, size_t d)
{
    return d < c->ndev ? c->dev_in_flight[d] : 0;
}

size_t sched_client_device(const sched_client_t *c)
{
    return c->ndevice;
}
