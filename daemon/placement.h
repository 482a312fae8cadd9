/*
 * Placement of multi-version and device tasks (docs/devices.md): performance models and the
 * choice of a resource, as StarPU's dmda does. Pure logic: the scheduler (sched_device.c) builds
 * the options it has capacity for and applies the choice.
 *
 * Models. Per scheduler client (session), a table keyed by the hash of a task's label holds, per
 * kind (CPU, CUDA, OpenCL), an exponential moving average (alpha = 1/4) of the task's measured
 * time there (CPU: grant to Done; device: grant to device completion) and the sample count.
 *
 * Choice, for one task among the options that have capacity:
 *   - calibration: while a kind offered has fewer than PLACEMENT_CALIBRATION samples, the task
 *     goes to such a kind, round-robin between those kinds (a cursor per model entry), so every
 *     implementation gets measured;
 *   - otherwise the earliest estimated finish, backlog + model(kind), where backlog is the work
 *     queued ahead on the resource (the CPU: 0, a free core is at hand);
 *   - ties, and the choice among options of one kind, go to the least backlog, then the fewest
 *     tasks in flight, then the first option.
 *
 * Loop thread only.
 */
#ifndef NODUS_PLACEMENT_H
#define NODUS_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

/* Kinds a model distinguishes: DeviceKind values 0 (CPU), 1 (CUDA), 2 (OpenCL). */
#define PLACEMENT_KINDS 3u
/* Samples a kind needs before its model is trusted (calibration until then). */
#define PLACEMENT_CALIBRATION 3u

/* The model of one (session, label): per kind an average time and how many samples made it. */
typedef struct placement_model {
    uint64_t label_hash; /* 0 = empty slot */
    uint64_t ema_ns[PLACEMENT_KINDS];
    uint32_t samples[PLACEMENT_KINDS]; /* saturating */
    uint32_t explore_next;             /* calibration cursor: the kind to try next */
} placement_model_t;

/* A client's models: open addressing with linear probing, keyed by label hash. */
typedef struct placement_models {
    placement_model_t *slots; /* owned; NULL until the first entry */
    size_t cap, count;        /* cap: 0 or a power of two */
} placement_models_t;

/* One resource with capacity for the task. */
typedef struct placement_option {
    uint32_t kind;       /* DeviceKind of the resource */
    uint64_t backlog_ns; /* estimated work queued ahead of the task there (0 for the CPU) */
    uint32_t load;       /* tasks in flight there (tie-breaker) */
} placement_option_t;

/* Hash of a task label (never 0), the key of its model. */
uint64_t placement_label_hash(const char *label);

/* Empties a table (allocates nothing) / frees its storage. */
void placement_models_init(placement_models_t *m);
void placement_models_free(placement_models_t *m);
/* The model of `label_hash`, or NULL if there is none. Borrowed: valid until the next get. */
placement_model_t *placement_models_find(const placement_models_t *m, uint64_t label_hash);
/* The model of `label_hash`, created empty if absent; NULL on OOM. Borrowed, as above. */
placement_model_t *placement_models_get(placement_models_t *m, uint64_t label_hash);
/* Adds one measured time of the task on `kind` to its model (created if absent). 0 or ENOMEM. */
int placement_models_sample(placement_models_t *m, uint64_t label_hash, uint32_t kind, uint64_t ns);

/* Adds one sample to an average (alpha = 1/4); `samples` counts them, saturating. */
void placement_ema_add(uint64_t *ema_ns, uint32_t *samples, uint64_t ns);

/* The model's estimate for `kind`, or `fallback` when it has no sample (m may be NULL). */
uint64_t placement_estimate(const placement_model_t *m, uint32_t kind, uint64_t fallback);

/*
 * Chooses among opts[0..n), n > 0, for a task whose model is `m` (NULL: no model, every kind
 * counts as calibrated with an estimate of 0). Returns the index of the chosen option; moves m's
 * calibration cursor when it explores.
 */
size_t placement_choose(const placement_option_t *opts, size_t n, placement_model_t *m);
/* The choice placement_choose would make, changing nothing (to look before placing). */
size_t placement_decide(const placement_option_t *opts, size_t n, const placement_model_t *m);
/* Records that a decision for m went to `kind`: moves the cursor if that explored (m may be NULL).
 */
void placement_commit(placement_model_t *m, uint32_t kind);

/* The least-loaded slot: the index of the smallest of load[0..nslots), the lowest on ties. */
uint32_t placement_slot(const uint32_t *load, uint32_t nslots);

#endif
