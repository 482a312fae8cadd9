/*
 * Kept batches and the id map (see replay.h).
 *
 * A kept batch is the very submit_buf the comm thread packed (no copy, no allocation per task):
 * instead of clearing it, comm hands it over here and takes recycled storage back. Batches are
 * held in ascending id ranges, so a completion finds its batch by binary search; a batch whose
 * tasks have all completed returns its storage to a small spare list.
 */
#include "array.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#include "submit.h"

#define SPARE_MAX 8 /* recycled buffers kept for reuse; more are freed */

typedef struct replay_batch {
    submit_buf_t buf;
    uint64_t first, last; /* client ids of its first and last task */
    size_t live;          /* its tasks not yet completed */
} replay_batch_t;

struct replay {
    replay_batch_t *batches; /* ascending, disjoint id ranges; owned */
    size_t nbatches, batches_cap;
    submit_buf_t spare[SPARE_MAX];
    size_t nspare;
    uint64_t *replayed; /* daemon id k + 1 is client id replayed[k] (ascending); owned */
    size_t nreplayed, replayed_cap;
    uint64_t first_fresh; /* client id that daemon id nreplayed + 1 stands for */
};

int replay_open(nodus_t *n)
{
    struct replay *r = calloc(1, sizeof *r);
    if (!r) return NODUS_ENOMEM;
    r->first_fresh = 1; /* before any reconnect the two numberings agree */
    n->replay = r;
    return 0;
}

void replay_close(nodus_t *n)
{
    struct replay *r = n->replay;
    if (!r) return;
    for (size_t i = 0; i < r->nbatches; i++)
        submit_buf_free(&r->batches[i].buf);
    for (size_t i = 0; i < r->nspare; i++)
        submit_buf_free(&r->spare[i]);
    free(r->batches);
    free(r->replayed);
    free(r);
    n->replay = NULL;
}

/* Gives a batch's storage back (to the spare list, or to the allocator). */
static void recycle(struct replay *r, submit_buf_t *b)
{
    if (r->nspare < SPARE_MAX) {
        submit_buf_clear(b);
        r->spare[r->nspare++] = *b;
    } else {
        submit_buf_free(b);
    }
}

int replay_keep(struct replay *r, submit_buf_t *sent)
{
    if (sent->ntasks == 0) return 0;
    void *arr = r->batches;
    int rc = array_reserve(&arr, &r->batches_cap, r->nbatches + 1, sizeof *r->batches);
    r->batches = arr;
    if (rc < 0) return rc;
    replay_batch_t *k = &r->batches[r->nbatches++];
    k->buf = *sent;
    k->first = sent->tasks[0].id;
    k->last = sent->tasks[sent->ntasks - 1].id;
    k->live = sent->ntasks;
    if (r->nspare)
        *sent = r->spare[--r->nspare];
    else
        submit_buf_init(sent);
    return 0;
}

void replay_release(struct replay *r, uint64_t id)
{
    size_t lo = 0, hi = r->nbatches;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->batches[mid].last < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->nbatches || r->batches[lo].first > id) return; /* not packed: nothing kept */
    replay_batch_t *k = &r->batches[lo];
    if (--k->live > 0) return;
    recycle(r, &k->buf);
    memmove(k, k + 1, (r->nbatches - lo - 1) * sizeof *k);
    r->nbatches--;
}

uint64_t replay_wire_of(const struct replay *r, uint64_t id)
{
    if (id >= r->first_fresh) return id - r->first_fresh + r->nreplayed + 1;
    size_t lo = 0, hi = r->nreplayed;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->replayed[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nreplayed && r->replayed[lo] == id ? lo + 1 : 0;
}

uint64_t replay_local_of(const struct replay *r, uint64_t wire)
{
    if (wire == 0) return 0;
    if (wire <= r->nreplayed) return r->replayed[wire - 1];
    return wire - r->nreplayed - 1 + r->first_fresh;
}

/* Appends task `t` of `from` (its accesses and label) to `to`. */
static int copy_task(submit_buf_t *to, const submit_buf_t *from, const pending_task_t *t)
{
    size_t label = t->label_off == UINT32_MAX ? 0 : strlen(from->labels + t->label_off) + 1;
    if (to->naccesses + t->naccesses > UINT32_MAX || to->labels_len + label > UINT32_MAX)
        return NODUS_ELIMIT;
    void *p = to->tasks;
    int rc = array_reserve(&p, &to->tasks_cap, to->ntasks + 1, sizeof *to->tasks);
    to->tasks = p;
    if (rc < 0) return rc;
    p = to->accesses;
    rc = array_reserve(&p, &to->accesses_cap, to->naccesses + t->naccesses, sizeof *to->accesses);
    to->accesses = p;
    if (rc < 0) return rc;
    p = to->labels;
    rc = array_reserve(&p, &to->labels_cap, to->labels_len + label, 1);
    to->labels = p;
    if (rc < 0) return rc;
    pending_task_t *c = &to->tasks[to->ntasks++];
    *c = *t;
    c->first_access = (uint32_t)to->naccesses;
    if (t->naccesses) /* a task may have none (and then both pools may be empty) */
        memcpy(to->accesses + to->naccesses, from->accesses + t->first_access,
               t->naccesses * sizeof *to->accesses);
    to->naccesses += t->naccesses;
    if (label) {
        c->label_off = (uint32_t)to->labels_len;
        memcpy(to->labels + to->labels_len, from->labels + t->label_off, label);
        to->labels_len += label;
    }
    return 0;
}

int replay_rebuild(nodus_t *n, submit_buf_t *out, uint64_t first_fresh)
{
    struct replay *r = n->replay;
    int rc = 0;
    r->nreplayed = 0;
    pthread_mutex_lock(&n->lock);
    for (size_t i = 0; i < r->nbatches && rc == 0; i++) {
        const submit_buf_t *b = &r->batches[i].buf;
        for (size_t j = 0; j < b->ntasks && rc == 0; j++) {
            const task_entry_t *e = table_lookup(&n->table, b->tasks[j].id);
            if (!e || e->state != TASK_ENTRY_SUBMITTED) continue; /* completed locally */
            void *arr = r->replayed;
            rc = array_reserve(&arr, &r->replayed_cap, r->nreplayed + 1, sizeof *r->replayed);
            r->replayed = arr;
            if (rc == 0) rc = copy_task(out, b, &b->tasks[j]);
            if (rc == 0) r->replayed[r->nreplayed++] = b->tasks[j].id;
        }
    }
    pthread_mutex_unlock(&n->lock);
    for (size_t i = 0; i < r->nbatches; i++)
        recycle(r, &r->batches[i].buf);
    r->nbatches = 0;
    r->first_fresh = first_fresh;
    return rc;
}

void replay_foreach_locked(nodus_t *n, void (*fn)(nodus_t *n, task_entry_t *e, uint64_t id, void *),
                           void *data)
{
    struct replay *r = n->replay;
    for (size_t i = 0; i < r->nbatches; i++) {
        const submit_buf_t *b = &r->batches[i].buf;
        for (size_t j = 0; j < b->ntasks; j++) {
            task_entry_t *e = table_lookup(&n->table, b->tasks[j].id);
            if (e) fn(n, e, b->tasks[j].id, data);
        }
    }
}
