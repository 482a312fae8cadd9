/*
 * The dependency engine (contract in deps.h): sequential task flow over byte ranges.
 *
 * State is a red-black tree of disjoint half-open address segments [start, end) keyed by start.
 * Each segment records the last task that wrote it and the tasks that read it since. A new task's
 * accesses are first merged into disjoint pieces with one mode per byte; deps_add then works in
 * two phases so that a failed allocation leaves the engine consistent:
 *
 *   prepare: split segments at piece boundaries, fill gaps with empty segments, reserve a reader
 *            slot in each segment a piece reads, collect the distinct predecessors (deduplicated
 *            with the per-engine serial stored in task->mark) and reserve a successor slot in
 *            each. None of this changes the dependency relation: a split yields two segments in
 *            the same state, an empty segment is the same as no segment, and pruning drops only
 *            completed tasks. Failing half-way is therefore harmless.
 *   commit:  link the edges and update the segments; nothing here allocates.
 *
 * Afterwards adjacent segments left in the same state are merged, so the tree follows the live
 * data layout rather than the history of accesses. Completed tasks are dropped lazily, when a
 * segment that holds them is touched again.
 */
#include "deps.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uv/tree.h>

#include "nodus.h"

/* Reader arrays up to this long are compared when deciding whether neighbours merge; longer ones
 * stay apart so the merge check costs O(1) per segment. */
#define DEPS_MERGE_MAX_READERS 8u
/* A reader array with more slots than this is freed when a writer replaces its readers, so one
 * burst of readers does not pin memory for the rest of the session. */
#define DEPS_KEEP_READER_CAP 16u

typedef struct deps_seg {
    RB_ENTRY(deps_seg) node;
    uint64_t start, end; /* [start, end), disjoint from every other segment */
    task_t *writer;      /* last writer (reference held) or NULL */
    task_t **readers;    /* readers since that writer, in program order (references held) */
    uint32_t nreaders, readers_cap;
} deps_seg_t;

/* One byte range of the task being added, with the union of the modes that cover it. */
typedef struct deps_piece {
    uint64_t start, end;
    unsigned mode;
} deps_piece_t;

/* A range boundary for the sweep that merges one task's overlapping accesses. */
typedef struct deps_event {
    uint64_t pos;
    int32_t in, out; /* +1 where an access starts, -1 where it ends */
} deps_event_t;

RB_HEAD(deps_tree, deps_seg);

struct deps {
    struct deps_tree tree;
    size_t nsegs;
    uint64_t serial; /* one per deps_add; task->mark == serial means "already linked" */
    deps_ready_fn on_ready;
    void *ctx;

    /* scratch for deps_add, kept between calls so the common case does not allocate */
    deps_event_t *events;
    size_t events_cap;
    deps_piece_t *pieces;
    size_t pieces_cap;
    task_t **preds;
    size_t preds_cap, npreds;
};

static int deps_seg_cmp(const deps_seg_t *a, const deps_seg_t *b)
{
    return a->start < b->start ? -1 : a->start > b->start;
}

RB_GENERATE_STATIC(deps_tree, deps_seg, node, deps_seg_cmp)

/*
 * Grows a scratch array so `need` elements fit. Returns the (possibly moved) array, or NULL with
 * `arr` and `*cap` untouched.
 */
static void *deps_scratch_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return arr;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return NULL;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem) return NULL;
    void *p = realloc(arr, ncap * elem);
    if (p) *cap = ncap;
    return p;
}

/* Makes room for one more successor of `p`. */
static int deps_succ_reserve(task_t *p)
{
    if (p->nsucc < p->succ_cap) return 0;
    if (p->succ_cap > UINT32_MAX / 2) return NODUS_ENOMEM;
    uint32_t ncap = p->succ_cap ? p->succ_cap * 2 : 4;
    task_t **s = realloc(p->succ, (size_t)ncap * sizeof *s);
    if (!s) return NODUS_ENOMEM;
    p->succ = s;
    p->succ_cap = ncap;
    return 0;
}

static deps_seg_t *deps_seg_new(uint64_t start, uint64_t end)
{
    deps_seg_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->start = start;
    s->end = end;
    return s;
}

static void deps_seg_drop_readers(deps_seg_t *s)
{
    for (uint32_t i = 0; i < s->nreaders; i++)
        task_unref(s->readers[i]);
    s->nreaders = 0;
}

static void deps_seg_free(deps_seg_t *s)
{
    deps_seg_drop_readers(s);
    free(s->readers);
    if (s->writer) task_unref(s->writer);
    free(s);
}

/* Drops completed readers: they can never be predecessors again. Order is kept. */
static void deps_seg_prune(deps_seg_t *s)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < s->nreaders; i++) {
        task_t *r = s->readers[i];
        if (r->state == TASK_DONE)
            task_unref(r);
        else
            s->readers[kept++] = r;
    }
    s->nreaders = kept;
}

/* A completed writer orders nothing any more; forgetting it lets neighbours merge. */
static void deps_seg_forget_done_writer(deps_seg_t *s)
{
    if (s->writer && s->writer->state == TASK_DONE) {
        task_unref(s->writer);
        s->writer = NULL;
    }
}

/*
 * Makes room for one more reader. Completed readers are pruned only when the array is full and
 * the array doubles only when at least half of it is still live, so each append costs O(1)
 * amortised and a range read by a long run of completed tasks keeps only a few references.
 */
static int deps_seg_reserve_reader(deps_seg_t *s)
{
    if (s->nreaders < s->readers_cap) return 0;
    deps_seg_prune(s);
    if (s->nreaders < s->readers_cap && s->nreaders <= s->readers_cap / 2) return 0;
    if (s->readers_cap > UINT32_MAX / 2) return NODUS_ENOMEM;
    uint32_t ncap = s->readers_cap ? s->readers_cap * 2 : 4;
    task_t **r = realloc(s->readers, (size_t)ncap * sizeof *r);
    if (!r) return NODUS_ENOMEM;
    s->readers = r;
    s->readers_cap = ncap;
    return 0;
}

static void deps_seg_insert(deps_t *d, deps_seg_t *s)
{
    RB_INSERT(deps_tree, &d->tree, s);
    d->nsegs++;
}

static void deps_seg_remove(deps_t *d, deps_seg_t *s)
{
    RB_REMOVE(deps_tree, &d->tree, s);
    d->nsegs--;
    deps_seg_free(s);
}

/* The first segment whose start is >= addr, or NULL. */
static deps_seg_t *deps_seg_from(deps_t *d, uint64_t addr)
{
    deps_seg_t key = {.start = addr};
    return RB_NFIND(deps_tree, &d->tree, &key);
}

/* Ensures no segment straddles `x` by splitting the one that does into two equal halves. */
static int deps_split_at(deps_t *d, uint64_t x)
{
    deps_seg_t *s = deps_seg_from(d, x);
    if (s && s->start == x) return 0;
    s = s ? RB_PREV(deps_tree, &d->tree, s) : RB_MAX(deps_tree, &d->tree);
    if (!s || s->end <= x) return 0;

    deps_seg_prune(s); /* copy only live readers */
    deps_seg_t *n = deps_seg_new(x, s->end);
    if (!n) return NODUS_ENOMEM;
    if (s->nreaders > 0) {
        n->readers = malloc((size_t)s->nreaders * sizeof *n->readers);
        if (!n->readers) {
            free(n);
            return NODUS_ENOMEM;
        }
        n->readers_cap = s->nreaders;
        n->nreaders = s->nreaders;
        memcpy(n->readers, s->readers, (size_t)s->nreaders * sizeof *n->readers);
        for (uint32_t i = 0; i < n->nreaders; i++)
            task_ref(n->readers[i]);
    }
    n->writer = s->writer;
    if (n->writer) task_ref(n->writer);
    s->end = x;
    deps_seg_insert(d, n);
    return 0;
}

/* Records `p` as a predecessor of the task being added, once, if it has not completed. */
static int deps_collect(deps_t *d, task_t *p)
{
    if (!p || p->state == TASK_DONE || p->mark == d->serial) return 0;
    if (d->npreds >= UINT32_MAX)
        return NODUS_ENOMEM; /* npreds is 32-bit; cannot happen with real memory sizes */
    task_t **preds = deps_scratch_grow(d->preds, &d->preds_cap, d->npreds + 1, sizeof *preds);
    if (!preds) return NODUS_ENOMEM;
    d->preds = preds;
    int rc = deps_succ_reserve(p);
    if (rc != 0) return rc;
    p->mark = d->serial;
    d->preds[d->npreds++] = p;
    return 0;
}

/* Predecessors a piece finds in one segment: readers conflict only with a write. */
static int deps_collect_seg(deps_t *d, deps_seg_t *s, unsigned mode)
{
    int rc = deps_collect(d, s->writer);
    if (rc != 0 || !(mode & DEPS_OUT)) return rc;
    for (uint32_t i = 0; i < s->nreaders && rc == 0; i++)
        rc = deps_collect(d, s->readers[i]);
    return rc;
}

static int deps_prepare_piece(deps_t *d, const deps_piece_t *pc)
{
    int rc = deps_split_at(d, pc->start);
    if (rc == 0) rc = deps_split_at(d, pc->end);
    if (rc != 0) return rc;

    /* After the splits every segment that starts in [start, end) also ends by `end`. */
    uint64_t pos = pc->start;
    deps_seg_t *s = deps_seg_from(d, pos);
    while (pos < pc->end) {
        deps_seg_t *cur = s;
        if (!s || s->start > pos) {
            cur = deps_seg_new(pos, s && s->start < pc->end ? s->start : pc->end);
            if (!cur) return NODUS_ENOMEM;
            deps_seg_insert(d, cur);
        } else {
            s = RB_NEXT(deps_tree, &d->tree, s);
        }
        deps_seg_forget_done_writer(cur);
        rc = deps_collect_seg(d, cur, pc->mode);
        if (rc == 0 && !(pc->mode & DEPS_OUT)) rc = deps_seg_reserve_reader(cur);
        if (rc != 0) return rc;
        pos = cur->end;
    }
    return 0;
}

/* Applies a piece to the segments that tile it. Cannot fail: prepare reserved everything. */
static void deps_commit_piece(deps_t *d, task_t *t, const deps_piece_t *pc)
{
    for (deps_seg_t *s = deps_seg_from(d, pc->start); s && s->start < pc->end;
         s = RB_NEXT(deps_tree, &d->tree, s)) {
        task_ref(t);
        if (!(pc->mode & DEPS_OUT)) {
            s->readers[s->nreaders++] = t;
            continue;
        }
        /* A writer supersedes everything before it: later tasks need only order after it. */
        deps_seg_drop_readers(s);
        if (s->readers_cap > DEPS_KEEP_READER_CAP) {
            free(s->readers);
            s->readers = NULL;
            s->readers_cap = 0;
        }
        if (s->writer) task_unref(s->writer);
        s->writer = t;
    }
}

static task_t *deps_live_writer(const deps_seg_t *s)
{
    return s->writer && s->writer->state != TASK_DONE ? s->writer : NULL;
}

/* A segment that orders nothing is the same as no segment. */
static bool deps_seg_empty(const deps_seg_t *s)
{
    return s->nreaders == 0 && !deps_live_writer(s);
}

/* Whether two touching segments would give every future task the same predecessors. */
static bool deps_seg_same_state(const deps_seg_t *a, const deps_seg_t *b, uint32_t max_readers)
{
    if (a->end != b->start || deps_live_writer(a) != deps_live_writer(b) ||
        a->nreaders != b->nreaders)
        return false;
    if (a->nreaders == 0) return true;
    return a->nreaders <= max_readers &&
           memcmp(a->readers, b->readers, (size_t)a->nreaders * sizeof *a->readers) == 0;
}

/*
 * Drops empty segments in [start, end) and merges equal neighbours in and around it. Reader
 * arrays longer than `max_readers` are not compared, which bounds the cost on the hot path.
 */
static void deps_merge_around(deps_t *d, uint64_t start, uint64_t end, uint32_t max_readers)
{
    deps_seg_t *s = deps_seg_from(d, start);
    deps_seg_t *prev = s ? RB_PREV(deps_tree, &d->tree, s) : RB_MAX(deps_tree, &d->tree);
    if (prev && prev->end >= start) s = prev;
    while (s && s->start < end) {
        deps_seg_t *next = RB_NEXT(deps_tree, &d->tree, s);
        if (deps_seg_empty(s)) {
            deps_seg_remove(d, s);
            s = next;
        } else if (next && deps_seg_same_state(s, next, max_readers)) {
            s->end = next->end;
            deps_seg_remove(d, next);
        } else {
            s = next;
        }
    }
}

static int deps_event_cmp(const void *a, const void *b)
{
    uint64_t x = ((const deps_event_t *)a)->pos, y = ((const deps_event_t *)b)->pos;
    return x < y ? -1 : x > y;
}

static void deps_emit_piece(deps_t *d, size_t *npieces, uint64_t start, uint64_t end, unsigned mode)
{
    deps_piece_t *last = *npieces ? &d->pieces[*npieces - 1] : NULL;
    if (last && last->end == start && last->mode == mode) {
        last->end = end;
        return;
    }
    d->pieces[(*npieces)++] = (deps_piece_t){.start = start, .end = end, .mode = mode};
}

/*
 * Turns a task's accesses into sorted, disjoint pieces, each byte carrying the union of the
 * modes that cover it (IN + OUT = INOUT), so a task never meets itself in the tree.
 */
static int deps_make_pieces(deps_t *d, const deps_access_t *acc, size_t nacc, size_t *npieces)
{
    *npieces = 0;
    if (nacc == 0) return 0;
    if (nacc > SIZE_MAX / 2) return NODUS_ENOMEM;
    deps_piece_t *pieces = deps_scratch_grow(d->pieces, &d->pieces_cap, 2 * nacc, sizeof *pieces);
    if (!pieces) return NODUS_ENOMEM;
    d->pieces = pieces;
    if (nacc == 1) {
        deps_emit_piece(d, npieces, acc[0].addr, acc[0].addr + acc[0].len, acc[0].mode);
        return 0;
    }
    deps_event_t *ev = deps_scratch_grow(d->events, &d->events_cap, 2 * nacc, sizeof *ev);
    if (!ev) return NODUS_ENOMEM;
    d->events = ev;

    for (size_t i = 0; i < nacc; i++) {
        int32_t in = (acc[i].mode & DEPS_IN) ? 1 : 0, out = (acc[i].mode & DEPS_OUT) ? 1 : 0;
        ev[2 * i] = (deps_event_t){.pos = acc[i].addr, .in = in, .out = out};
        ev[2 * i + 1] = (deps_event_t){.pos = acc[i].addr + acc[i].len, .in = -in, .out = -out};
    }
    qsort(ev, 2 * nacc, sizeof *ev, deps_event_cmp);

    /* Sweep the boundaries, counting how many accesses of each kind cover the current byte. */
    int64_t nin = 0, nout = 0;
    uint64_t prev = ev[0].pos;
    for (size_t i = 0; i < 2 * nacc;) {
        uint64_t pos = ev[i].pos;
        if ((nin > 0 || nout > 0) && prev < pos)
            deps_emit_piece(d, npieces, prev, pos,
                            (nin > 0 ? DEPS_IN : 0u) | (nout > 0 ? DEPS_OUT : 0u));
        for (; i < 2 * nacc && ev[i].pos == pos; i++) {
            nin += ev[i].in;
            nout += ev[i].out;
        }
        prev = pos;
    }
    return 0;
}

static int deps_validate(const task_t *t, const deps_access_t *acc, size_t nacc)
{
    if (!t || t->state != TASK_WAITING || t->npreds != 0 || (nacc > 0 && !acc)) return NODUS_EINVAL;
    for (size_t i = 0; i < nacc; i++) {
        if (acc[i].len == 0 || acc[i].len > UINT64_MAX - acc[i].addr) return NODUS_EINVAL;
        if (acc[i].mode != DEPS_IN && acc[i].mode != DEPS_OUT && acc[i].mode != DEPS_INOUT)
            return NODUS_EINVAL;
    }
    return 0;
}

deps_t *deps_create(deps_ready_fn on_ready, void *ctx)
{
    deps_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    RB_INIT(&d->tree);
    d->on_ready = on_ready;
    d->ctx = ctx;
    return d;
}

void deps_destroy(deps_t *d)
{
    if (!d) return;
    deps_seg_t *s;
    while ((s = RB_MIN(deps_tree, &d->tree)) != NULL)
        deps_seg_remove(d, s);
    free(d->events);
    free(d->pieces);
    free(d->preds);
    free(d);
}

int deps_add(deps_t *d, task_t *t, const deps_access_t *acc, size_t nacc)
{
    if (!d) return NODUS_EINVAL;
    int rc = deps_validate(t, acc, nacc);
    if (rc != 0) return rc;

    size_t npieces;
    rc = deps_make_pieces(d, acc, nacc, &npieces);
    if (rc != 0) return rc;

    d->serial++;
    d->npreds = 0;
    t->mark = d->serial; /* a task never waits for itself */
    size_t prepared = 0;
    while (prepared < npieces && rc == 0)
        rc = deps_prepare_piece(d, &d->pieces[prepared++]);
    if (rc != 0) {
        /* Undo the splits and gap segments so a failure does not leave the tree larger. */
        for (size_t i = 0; i < prepared; i++)
            deps_merge_around(d, d->pieces[i].start, d->pieces[i].end, UINT32_MAX);
        return rc;
    }

    for (size_t i = 0; i < d->npreds; i++) {
        task_t *p = d->preds[i];
        p->succ[p->nsucc++] = t;
        t->npreds++;
    }
    for (size_t i = 0; i < npieces; i++)
        deps_commit_piece(d, t, &d->pieces[i]);
    for (size_t i = 0; i < npieces; i++)
        deps_merge_around(d, d->pieces[i].start, d->pieces[i].end, DEPS_MERGE_MAX_READERS);

    if (t->npreds == 0) {
        t->state = TASK_READY;
        if (d->on_ready) d->on_ready(t, d->ctx);
    }
    return 0;
}

void deps_complete(deps_t *d, task_t *t)
{
    /* A waiting task still has predecessors that point at it; completing it would leave them
     * with a successor that may be freed. The session rejects this first; stay safe anyway. */
    if (!d || !t || (t->state != TASK_READY && t->state != TASK_RUNNING && t->state != TASK_DEVICE))
        return;
    t->state = TASK_DONE;

    /* Detach first so the array is not touched after successors are handed out. */
    task_t **succ = t->succ;
    uint32_t nsucc = t->nsucc;
    t->succ = NULL;
    t->nsucc = 0;
    t->succ_cap = 0;
    for (uint32_t i = 0; i < nsucc; i++) {
        task_t *s = succ[i];
        if (s->npreds > 0) s->npreds--;
        if (s->npreds == 0 && s->state == TASK_WAITING) {
            s->state = TASK_READY;
            if (d->on_ready) d->on_ready(s, d->ctx);
        }
    }
    free(succ);
}

size_t deps_segments(const deps_t *d)
{
    return d ? d->nsegs : 0;
}
