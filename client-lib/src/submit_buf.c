/*
 * submit_buf.c: the lifetime of a submission buffer (tasks, accesses and labels packed for one
 * Submit message). Apart from submit.c so that unit tests can link it without a session.
 */
#include "submit_buf.h"

#include <stdlib.h>
#include <string.h>

void submit_buf_init(submit_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void submit_buf_free(submit_buf_t *b)
{
    free(b->tasks);
    free(b->accesses);
    free(b->labels);
    memset(b, 0, sizeof *b);
}

void submit_buf_clear(submit_buf_t *b)
{
    b->ntasks = 0;
    b->naccesses = 0;
    b->labels_len = 0;
}

/* Makes room for one more task; on failure the buffer is unchanged (capacity aside). */
