/*
 * The trace ring: records, the session table and the string table (FNV-1a hash, open
 * addressing, grown at half full). See trace_ring.h.
 */
#include "array.h"
#include "trace_ring.h"

#include <stdlib.h>
#include <string.h>

#include "nodus_limits.h"

/* Ring generations: a session caches its index for one ring, recognised by its gen. */
static uint32_t trace_ring_next_gen = 1;

trace_ring_t *trace_ring_create(size_t capacity, uint64_t start_ns)
{
    if (capacity < NODUS_MIN_TRACE_EVENTS) capacity = NODUS_MIN_TRACE_EVENTS;
    if (capacity > NODUS_MAX_TRACE_EVENTS) capacity = NODUS_MAX_TRACE_EVENTS;
    trace_ring_t *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    /* malloc, not calloc: pages are touched only as the ring fills */
    r->recs = malloc(capacity * sizeof *r->recs);
    r->nslots = 256;
    r->slots = calloc(r->nslots, sizeof *r->slots);
    if (!r->recs || !r->slots || array_reserve((void **)&r->pool, &r->pool_cap, 1, 1) < 0 ||
        array_reserve((void **)&r->offsets, &r->strings_cap, 1, sizeof *r->offsets) < 0) {
        trace_ring_free(r);
        return NULL;
    }
    r->capacity = capacity;
    r->start_ns = start_ns;
    r->gen = trace_ring_next_gen++;
    if (trace_ring_next_gen == 0) trace_ring_next_gen = 1; /* 0 means "no ring" to sessions */
    r->pool[0] = '\0';
    r->pool_len = 1;
    r->offsets[0] = 0;
    r->nstrings = 1;
    return r;
}

void trace_ring_free(trace_ring_t *r)
{
    if (!r) return;
    free(r->recs);
    free(r->sessions);
    free(r->pool);
    free(r->offsets);
    free(r->slots);
    free(r);
}

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Doubles the hash table and re-inserts every string. */
static int rehash(trace_ring_t *r)
{
    size_t n = r->nslots * 2;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t i = 1; i < r->nstrings; i++) {
        const char *s = r->pool + r->offsets[i];
        size_t k = hash_str(s, strlen(s)) & (n - 1);
        while (slots[k])
            k = (k + 1) & (n - 1);
        slots[k] = i + 1;
    }
    free(r->slots);
    r->slots = slots;
    r->nslots = n;
    return 0;
}

uint32_t trace_ring_intern(trace_ring_t *r, const char *s)
{
    if (!s || !s[0]) return 0;
    size_t n = strnlen(s, NODUS_MAX_NAME);
    uint32_t h = hash_str(s, n);
    size_t k = h & (r->nslots - 1);
    for (; r->slots[k]; k = (k + 1) & (r->nslots - 1)) {
        const char *have = r->pool + r->offsets[r->slots[k] - 1];
        if (strncmp(have, s, n) == 0 && have[n] == '\0') return r->slots[k] - 1;
    }
    if (r->nstrings >= TRACE_MAX_STRINGS) return 0;
    /* at most half full, so a probe always ends on an empty slot */
    if ((r->nstrings + 1) * 2 > r->nslots) {
        if (rehash(r) < 0) return 0;
        for (k = h & (r->nslots - 1); r->slots[k]; k = (k + 1) & (r->nslots - 1))
            ;
    }
    if (array_reserve((void **)&r->pool, &r->pool_cap, r->pool_len + n + 1, 1) < 0 ||
        array_reserve((void **)&r->offsets, &r->strings_cap, r->nstrings + 1, sizeof *r->offsets) <
            0)
        return 0;
    uint32_t idx = (uint32_t)r->nstrings++;
    r->offsets[idx] = (uint32_t)r->pool_len;
    memcpy(r->pool + r->pool_len, s, n);
    r->pool[r->pool_len + n] = '\0';
    r->pool_len += n + 1;
    r->slots[k] = idx + 1;
    return idx;
}

const char *trace_ring_string(const trace_ring_t *r, uint32_t i)
{
    return i < r->nstrings ? r->pool + r->offsets[i] : "";
}

uint32_t trace_ring_session(trace_ring_t *r, uint64_t id, uint32_t uid, uint32_t pid,
                            const char *job, const char *client)
{
    if (array_reserve((void **)&r->sessions, &r->sessions_cap, r->nsessions + 1,
                      sizeof *r->sessions) < 0)
        return UINT32_MAX;
    trace_session_t *ts = &r->sessions[r->nsessions];
    ts->id = id;
    ts->uid = uid;
    ts->pid = pid;
    ts->job = trace_ring_intern(r, job);
    ts->client = trace_ring_intern(r, client);
    return (uint32_t)r->nsessions++;
}
