/*
 * Grant trace: a stdio stream with a large buffer, so a line costs a formatted copy and no
 * system call until the buffer fills or a session closes.
 */
#include "trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define TRACE_BUFFER (1u << 20)

struct trace {
    FILE *f;
    char *buf;
};

trace_t *trace_open(const char *path)
{
    trace_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->f = fopen(path, "ae");
    t->buf = malloc(TRACE_BUFFER);
    if (!t->f || !t->buf) {
        if (t->f) fclose(t->f);
        free(t->buf);
        free(t);
        return NULL;
    }
    setvbuf(t->f, t->buf, _IOFBF, TRACE_BUFFER);
    return t;
}

void trace_close(trace_t *t)
{
    if (!t) return;
    fclose(t->f);
    free(t->buf);
    free(t);
}

void trace_flush(trace_t *t)
{
    fflush(t->f);
}

static void line(trace_t *t, char kind, uint64_t now_ns, uint64_t session, uint64_t task,
                 uint32_t cpu)
{
    fprintf(t->f, "%c %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu32 "\n", kind, now_ns, session,
            task, cpu);
}

void trace_grant(trace_t *t, uint64_t now_ns, uint64_t session, uint64_t task, uint32_t cpu)
{
    line(t, 'G', now_ns, session, task, cpu);
}

void trace_done(trace_t *t, uint64_t now_ns, uint64_t session, uint64_t task, uint32_t cpu)
{
    line(t, 'D', now_ns, session, task, cpu);
}

void trace_device(trace_t *t, uint64_t now_ns, uint64_t session, uint64_t task, uint32_t device)
{
    line(t, 'V', now_ns, session, task, device);
}
