/*
 * The trace recorder: a ring of fixed-size event records that the daemon fills while a trace is
 * recording (nodusctl trace start, or trace.enabled), and trace_json.c turns into a Chrome /
 * Perfetto trace on nodusctl trace stop.
 *
 * Events: a task granted a core (one record per core; a lookahead grant is recorded when it is
 * queued, trace_json works out when it started), its body done on that core, its device work
 * completed, a dependency edge (a predecessor completed with this successor waiting on it), and
 * a session closed (its granted tasks left the cores without a Done). When the ring is full the
 * oldest records are overwritten. Strings (labels, job and client names) are interned once per
 * trace, and sessions are listed in a table of their own, so a record is 40 bytes and recording
 * one is a copy: no allocation in the common case, no I/O.
 *
 * The daemon records only while d->trace_ring is not NULL: that test is the whole cost of the
 * hooks when no trace is recording. Loop thread only; no libuv (unit tests link it alone).
 */
#ifndef NODUS_TRACE_RING_H
#define NODUS_TRACE_RING_H

#include <stddef.h>
#include <stdint.h>

typedef enum trace_kind {
    TRACE_GRANT = 1, /* task granted a core: where = core index; device, slot, label */
    TRACE_DONE,      /* its body returned (Done): where = core index */
    TRACE_DEVICE,    /* its device work completed: where = device index, slot */
    TRACE_EDGE,      /* dependency released: task = predecessor, other = successor */
    TRACE_CLOSE,     /* session closed: its tasks on cores are gone (task = 0) */
} trace_kind_t;

typedef struct trace_rec {
    uint64_t ts_ns;   /* uv_hrtime() */
    uint64_t task;    /* the session's task id */
    uint64_t other;   /* TRACE_EDGE: the successor's id */
    uint32_t session; /* index into the ring's session table (trace_ring_session) */
    uint32_t where;   /* core index (GRANT, DONE) or device index (DEVICE) */
    uint32_t label;   /* GRANT: interned label (trace_ring_intern) */
    uint16_t device;  /* GRANT: 0 for a CPU grant, else device index + 1 */
    uint8_t slot;     /* GRANT, DEVICE: stream / queue slot on the device */
    uint8_t kind;     /* trace_kind_t */
} trace_rec_t;

/* A session that has events in the trace. */
typedef struct trace_session {
    uint64_t id;
    uint32_t uid, pid;
    uint32_t job, client; /* interned */
} trace_session_t;

typedef struct trace_ring {
    trace_rec_t *recs; /* owned, `capacity` records */
    size_t capacity;
    size_t head;               /* next record written */
    size_t count;              /* records held (<= capacity) */
    uint64_t overwritten;      /* records lost to wrap-around */
    uint64_t start_ns;         /* when recording started: time 0 of the trace */
    uint32_t gen;              /* differs between rings: sessions cache their index per ring */
    trace_session_t *sessions; /* owned */
    size_t nsessions, sessions_cap;
    char *pool; /* interned strings, back to back, NUL-terminated (owned) */
    size_t pool_len, pool_cap;
    uint32_t *offsets; /* string index -> offset in pool; index 0 is "" */
    size_t nstrings, strings_cap;
    uint32_t *slots; /* open-addressing hash: string index + 1, 0 = empty */
    size_t nslots;
} trace_ring_t;

/* Strings interned per trace at most; later new labels are recorded as "". */
#define TRACE_MAX_STRINGS 65536u

/*
 * Creates a ring of `capacity` records (clamped to [NODUS_MIN_TRACE_EVENTS,
 * NODUS_MAX_TRACE_EVENTS]) whose time 0 is start_ns. NULL on OOM.
 */
trace_ring_t *trace_ring_create(size_t capacity, uint64_t start_ns);
/* Frees the ring; NULL is ignored. */
void trace_ring_free(trace_ring_t *r);

/* Appends a record, overwriting the oldest when full. */
static inline void trace_ring_add(trace_ring_t *r, const trace_rec_t *rec)
{
    r->recs[r->head] = *rec;
    if (++r->head == r->capacity) r->head = 0;
    if (r->count < r->capacity)
        r->count++;
    else
        r->overwritten++;
}

/* The i-th oldest record held, i < count. */
static inline const trace_rec_t *trace_ring_at(const trace_ring_t *r, size_t i)
{
    size_t first = r->count < r->capacity ? 0 : r->head;
    size_t k = first + i;
    return &r->recs[k >= r->capacity ? k - r->capacity : k];
}

/* Index of string s (NULL = ""), interning it if new; 0 ("") when the table is full or on OOM. */
uint32_t trace_ring_intern(trace_ring_t *r, const char *s);
/* The interned string with index i ("" if out of range); borrowed from the ring. */
const char *trace_ring_string(const trace_ring_t *r, uint32_t i);
/*
 * Adds a session to the table and returns its index; the strings are interned. UINT32_MAX on OOM
 * (the caller then records nothing for it).
 */
uint32_t trace_ring_session(trace_ring_t *r, uint64_t id, uint32_t uid, uint32_t pid,
                            const char *job, const char *client);

#endif
