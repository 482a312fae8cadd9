/*
 * Task allocation and reference counting.
 */
#include "task.h"

#include <stdlib.h>

/* Tasks allocated and not yet freed (loop thread only, like every task). */
static uint64_t task_live;

uint64_t task_live_count(void)
{
    return task_live;
}

task_t *task_create(uint64_t id, struct session *session)
{
    task_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->id = id;
    t->session = session;
    t->ncores = 1;
    t->refs = 1;
    t->cores = &t->core0;
    task_live++;
    return t;
}

void task_ref(task_t *t)
{
    t->refs++;
}

void task_unref(task_t *t)
{
    if (--t->refs > 0) return;
    free(t->succ);
    if (t->cores != &t->core0) free(t->cores);
    free(t);
    task_live--;
}
