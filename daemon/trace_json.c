/*
 * Trace export (see trace_json.h). Two steps: trace_export_create() walks the ring once, oldest
 * record first, pairing each Done with its grant through a FIFO per core (the order a core runs
 * its grants in) and each device completion with its task's Done through a hash map of tasks,
 * and resolves the dependency edges to pairs of slices; trace_export_next() then prints slices
 * and flows as JSON, a buffer at a time, from a small state machine.
 */
#include "array.h"
#include "trace_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodus_limits.h"

/* Room kept for one item (an event, or a flow's two events): up to three strings of at most
 * NODUS_MAX_NAME bytes escaped to 6 bytes each (1143), numbers and fixed text. */
#define ITEM_MAX 2048u

enum { PID_CORES = 1, PID_DEVICES = 2 };
enum { UNFINISHED_NO = 0, UNFINISHED_AT_STOP, UNFINISHED_SESSION_CLOSED };

typedef struct slice {
    uint64_t start, end, task;
    uint32_t session, label, tid;
    uint8_t pid, unfinished;
} slice_t;

typedef struct flow {
    size_t from, to; /* slice indices */
} flow_t;

/* A grant waiting on its core for its Done. */
typedef struct pending {
    uint64_t ts, task;
    uint32_t session, label;
    uint16_t device;
    uint8_t slot;
} pending_t;

typedef struct core_fifo {
    pending_t *q;
    size_t len, cap;
    uint64_t last_end; /* end of the last slice on the core */
} core_fifo_t;

/* What the export knows of one task: its first body slice and the slice that completed it. */
typedef struct task_entry {
    uint64_t task;
    uint32_t session, used;
    size_t body, final;
    uint64_t body_end;
    uint16_t device;
    uint8_t slot;
} task_entry_t;

typedef struct edge {
    uint32_t session;
    uint64_t pred, succ;
} edge_t;

enum phase {
    PHASE_HEADER,
    PHASE_CORE_THREADS,
    PHASE_DEVICE_PROCESS,
    PHASE_DEVICE_THREADS,
    PHASE_SLICES,
    PHASE_FLOWS,
    PHASE_FOOTER,
    PHASE_DONE,
};

struct trace_export {
    trace_ring_t *ring; /* owned: strings and sessions */
    uint32_t *cpus;     /* owned copy */
    size_t ncores;
    char (*dev_names)[NODUS_MAX_NAME + 1];
    size_t ndevices;
    slice_t *slices;
    size_t nslices, slices_cap, ncore_slices, ndev_slices;
    flow_t *flows;
    size_t nflows, flows_cap;
    uint8_t *core_used; /* per core index: has slices */
    uint64_t *dev_used; /* per device: bit per slot with slices */
    uint64_t stop_ns;
    enum phase phase;
    size_t pos; /* position within the phase */
    int first;  /* no event written yet (no comma before the next) */
};

/* Working state of trace_export_create, freed when it returns. */
typedef struct build {
    core_fifo_t *fifos;
    uint64_t *slot_end; /* ndevices x NODUS_MAX_DEVICE_SLOTS: end of the last device slice */
    task_entry_t *tasks;
    size_t tasks_cap; /* power of 2 */
    edge_t *edges;
    size_t nedges, edges_cap;
} build_t;

/* ---- JSON text ---- */

size_t trace_json_string(char *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = 0;
    out[n++] = '"';
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            n += (size_t)sprintf(out + n, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            p++;
        } else if (c < 0x80) {
            out[n++] = (char)c;
            p++;
        } else {
            /* a whole, shortest-form UTF-8 sequence is copied; anything else becomes U+FFFD */
            size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            uint32_t cp = len == 4 ? c & 7 : len == 3 ? c & 15 : c & 31;
            size_t k = 1;
            for (; len && k < len && (p[k] & 0xc0) == 0x80; k++)
                cp = cp << 6 | (p[k] & 0x3f);
            int ok = len && k == len &&
                     !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) &&
                     !(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
            if (ok) {
                memcpy(out + n, p, len);
                n += len;
                p += len;
            } else {
                memcpy(out + n, "\\ufffd", 6);
                n += 6;
                p++;
            }
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return n;
}

/* "12.345": nanoseconds since the start of the trace, as microseconds. */
static void fmt_us(char *buf, size_t len, uint64_t ns)
{
    snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, ns / 1000u, ns % 1000u);
}

/* ---- building ---- */

static uint64_t mix(uint32_t session, uint64_t task)
{
    uint64_t h = task * UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)session << 32 | session);
    h ^= h >> 29;
    return h * UINT64_C(0xbf58476d1ce4e5b9);
}

/* The map entry of (session, task), created if absent. */
static task_entry_t *task_get(build_t *b, uint32_t session, uint64_t task, int create)
{
    size_t k = mix(session, task) & (b->tasks_cap - 1);
    for (; b->tasks[k].used; k = (k + 1) & (b->tasks_cap - 1))
        if (b->tasks[k].task == task && b->tasks[k].session == session) return &b->tasks[k];
    if (!create) return NULL;
    task_entry_t *e = &b->tasks[k];
    *e = (task_entry_t){
        .task = task, .session = session, .used = 1, .body = SIZE_MAX, .final = SIZE_MAX};
    return e;
}

static int add_slice(trace_export_t *e, const slice_t *sl)
{
    if (array_reserve((void **)&e->slices, &e->slices_cap, e->nslices + 1, sizeof *e->slices) < 0)
        return -1;
    e->slices[e->nslices++] = *sl;
    if (sl->pid == PID_CORES)
        e->ncore_slices++;
    else
        e->ndev_slices++;
    return 0;
}

/* Ends the grant p on core `core` at `end` as a slice; its start waits for the core. */
static int core_slice(trace_export_t *e, build_t *b, size_t core, const pending_t *p, uint64_t end,
                      int unfinished)
{
    core_fifo_t *f = &b->fifos[core];
    uint64_t start = p->ts > f->last_end ? p->ts : f->last_end;
    if (end < start) end = start;
    f->last_end = end;
    slice_t sl = {.start = start,
                  .end = end,
                  .task = p->task,
                  .session = p->session,
                  .label = p->label,
                  .tid = e->cpus[core],
                  .pid = PID_CORES,
                  .unfinished = (uint8_t)unfinished};
    if (add_slice(e, &sl) < 0) return -1;
    e->core_used[core] = 1;
    task_entry_t *t = task_get(b, p->session, p->task, 1);
    if (t->body == SIZE_MAX) {
        t->body = t->final = e->nslices - 1;
        t->body_end = end;
        t->device = p->device;
        t->slot = p->slot;
    }
    return 0;
}

static void fifo_remove(core_fifo_t *f, size_t i)
{
    memmove(&f->q[i], &f->q[i + 1], (f->len - i - 1) * sizeof *f->q);
    f->len--;
}

static int on_grant(build_t *b, const trace_rec_t *r)
{
    core_fifo_t *f = &b->fifos[r->where];
    if (array_reserve((void **)&f->q, &f->cap, f->len + 1, sizeof *f->q) < 0) return -1;
    f->q[f->len++] = (pending_t){.ts = r->ts_ns,
                                 .task = r->task,
                                 .session = r->session,
                                 .label = r->label,
                                 .device = r->device,
                                 .slot = r->slot};
    return 0;
}

static int on_done(trace_export_t *e, build_t *b, const trace_rec_t *r)
{
    core_fifo_t *f = &b->fifos[r->where];
    for (size_t i = 0; i < f->len; i++) {
        if (f->q[i].task != r->task || f->q[i].session != r->session) continue;
        pending_t p = f->q[i];
        fifo_remove(f, i);
        return core_slice(e, b, r->where, &p, r->ts_ns, UNFINISHED_NO);
    }
    /* its grant was overwritten: the core was busy until now all the same */
    if (r->ts_ns > f->last_end) f->last_end = r->ts_ns;
    return 0;
}

static int on_device(trace_export_t *e, build_t *b, const trace_rec_t *r)
{
    task_entry_t *t = task_get(b, r->session, r->task, 0);
    if (!t || t->body == SIZE_MAX || r->where >= e->ndevices || r->slot >= NODUS_MAX_DEVICE_SLOTS)
        return 0;
    uint64_t *slot_end = &b->slot_end[r->where * NODUS_MAX_DEVICE_SLOTS + r->slot];
    uint64_t start = t->body_end > *slot_end ? t->body_end : *slot_end;
    uint64_t end = r->ts_ns > start ? r->ts_ns : start;
    *slot_end = end;
    slice_t sl = {.start = start,
                  .end = end,
                  .task = r->task,
                  .session = r->session,
                  .label = e->slices[t->body].label,
                  .tid = 1u + r->where * NODUS_MAX_DEVICE_SLOTS + r->slot,
                  .pid = PID_DEVICES};
    if (add_slice(e, &sl) < 0) return -1;
    e->dev_used[r->where] |= UINT64_C(1) << r->slot;
    t->final = e->nslices - 1;
    return 0;
}

/* A session closed: its grants leave every core; the running one (the front) ends here. */
static int on_close(trace_export_t *e, build_t *b, const trace_rec_t *r)
{
    for (size_t c = 0; c < e->ncores; c++) {
        core_fifo_t *f = &b->fifos[c];
        size_t kept = 0;
        for (size_t i = 0; i < f->len; i++) {
            if (f->q[i].session != r->session) {
                f->q[kept++] = f->q[i];
            } else if (i == 0) {
                pending_t p = f->q[0];
                if (core_slice(e, b, c, &p, r->ts_ns, UNFINISHED_SESSION_CLOSED) < 0) return -1;
            }
        }
        f->len = kept;
    }
    return 0;
}

static int on_edge(build_t *b, const trace_rec_t *r)
{
    if (array_reserve((void **)&b->edges, &b->edges_cap, b->nedges + 1, sizeof *b->edges) < 0)
        return -1;
    b->edges[b->nedges++] = (edge_t){.session = r->session, .pred = r->task, .succ = r->other};
    return 0;
}

static int build_walk(trace_export_t *e, build_t *b)
{
    const trace_ring_t *ring = e->ring;
    for (size_t i = 0; i < ring->count; i++) {
        const trace_rec_t *r = trace_ring_at(ring, i);
        int rc = 0;
        if (r->session >= ring->nsessions) continue;
        switch (r->kind) {
        case TRACE_GRANT:
            if (r->where < e->ncores) rc = on_grant(b, r);
            break;
        case TRACE_DONE:
            if (r->where < e->ncores) rc = on_done(e, b, r);
            break;
        case TRACE_DEVICE:
            rc = on_device(e, b, r);
            break;
        case TRACE_EDGE:
            rc = on_edge(b, r);
            break;
        case TRACE_CLOSE:
            rc = on_close(e, b, r);
            break;
        default:
            break;
        }
        if (rc < 0) return -1;
    }
    /* still running at the stop: the head of each core */
    for (size_t c = 0; c < e->ncores; c++) {
        core_fifo_t *f = &b->fifos[c];
        if (f->len > 0 && core_slice(e, b, c, &f->q[0], e->stop_ns, UNFINISHED_AT_STOP) < 0)
            return -1;
    }
    for (size_t i = 0; i < b->nedges; i++) {
        const task_entry_t *p = task_get(b, b->edges[i].session, b->edges[i].pred, 0);
        const task_entry_t *s = task_get(b, b->edges[i].session, b->edges[i].succ, 0);
        if (!p || !s || p->final == SIZE_MAX || s->body == SIZE_MAX) continue;
        if (array_reserve((void **)&e->flows, &e->flows_cap, e->nflows + 1, sizeof *e->flows) < 0)
            return -1;
        e->flows[e->nflows++] = (flow_t){.from = p->final, .to = s->body};
    }
    return 0;
}

trace_export_t *trace_export_create(trace_ring_t *r, const uint32_t *cpus, size_t ncores,
                                    const char *const *device_names, size_t ndevices,
                                    uint64_t stop_ns)
{
    if (ndevices > NODUS_MAX_DEVICES) ndevices = NODUS_MAX_DEVICES;
    trace_export_t *e = calloc(1, sizeof *e);
    build_t b = {0};
    if (!e) {
        trace_ring_free(r);
        return NULL;
    }
    e->ring = r;
    e->ncores = ncores;
    e->ndevices = ndevices;
    e->stop_ns = stop_ns;
    e->first = 1;
    e->cpus = malloc((ncores ? ncores : 1) * sizeof *e->cpus);
    e->core_used = calloc(ncores ? ncores : 1, 1);
    e->dev_used = calloc(ndevices ? ndevices : 1, sizeof *e->dev_used);
    e->dev_names = calloc(ndevices ? ndevices : 1, sizeof *e->dev_names);
    b.fifos = calloc(ncores ? ncores : 1, sizeof *b.fifos);
    b.slot_end = calloc((ndevices ? ndevices : 1) * NODUS_MAX_DEVICE_SLOTS, sizeof *b.slot_end);
    /* at most one task per grant record: keep the map at most half full */
    b.tasks_cap = 64;
    while (b.tasks_cap < 2 * r->count + 2)
        b.tasks_cap *= 2;
    b.tasks = calloc(b.tasks_cap, sizeof *b.tasks);
    int ok =
        e->cpus && e->core_used && e->dev_used && e->dev_names && b.fifos && b.slot_end && b.tasks;
    if (ok) {
        if (ncores) memcpy(e->cpus, cpus, ncores * sizeof *cpus);
        for (size_t i = 0; i < ndevices; i++)
            snprintf(e->dev_names[i], sizeof e->dev_names[i], "%s",
                     device_names && device_names[i] ? device_names[i] : "");
        ok = build_walk(e, &b) == 0;
    }
    for (size_t c = 0; b.fifos && c < ncores; c++)
        free(b.fifos[c].q);
    free(b.fifos);
    free(b.slot_end);
    free(b.tasks);
    free(b.edges);
    if (!ok) {
        trace_export_free(e);
        return NULL;
    }
    return e;
}

void trace_export_free(trace_export_t *e)
{
    if (!e) return;
    trace_ring_free(e->ring);
    free(e->cpus);
    free(e->core_used);
    free(e->dev_used);
    free(e->dev_names);
    free(e->slices);
    free(e->flows);
    free(e);
}

size_t trace_export_core_slices(const trace_export_t *e)
{
    return e->ncore_slices;
}

size_t trace_export_device_slices(const trace_export_t *e)
{
    return e->ndev_slices;
}

size_t trace_export_flows(const trace_export_t *e)
{
    return e->nflows;
}

/* ---- writing ---- */

static uint64_t rel(const trace_export_t *e, uint64_t ns)
{
    return ns > e->ring->start_ns ? ns - e->ring->start_ns : 0;
}

/* A comma unless this is the first event. */
static size_t sep(trace_export_t *e, char *out)
{
    if (e->first) {
        e->first = 0;
        return 0;
    }
    out[0] = ',';
    return 1;
}

static size_t write_meta(trace_export_t *e, char *out, int pid, uint32_t tid, int with_tid,
                         const char *what, const char *name, long sort_index)
{
    char qname[6 * (NODUS_MAX_NAME + 64) + 3];
    trace_json_string(qname, name);
    size_t n = sep(e, out);
    char tidbuf[32] = "";
    if (with_tid) snprintf(tidbuf, sizeof tidbuf, ",\"tid\":%" PRIu32, tid);
    n += (size_t)sprintf(out + n,
                         "{\"ph\":\"M\",\"pid\":%d%s,\"name\":\"%s_name\",\"args\":{\"name\":%s}}",
                         pid, tidbuf, what, qname);
    n += (size_t)sprintf(
        out + n,
        ",{\"ph\":\"M\",\"pid\":%d%s,\"name\":\"%s_sort_index\",\"args\":{\"sort_index\":"
        "%ld}}",
        pid, tidbuf, what, sort_index);
    return n;
}

static size_t write_slice(trace_export_t *e, char *out, const slice_t *sl)
{
    const trace_ring_t *r = e->ring;
    const trace_session_t *ss = &r->sessions[sl->session];
    const char *label = trace_ring_string(r, sl->label);
    char qlabel[6 * NODUS_MAX_NAME + 3], qjob[6 * NODUS_MAX_NAME + 3], ts[32], dur[32];
    trace_json_string(qlabel, label);
    trace_json_string(qjob, trace_ring_string(r, ss->job));
    fmt_us(ts, sizeof ts, rel(e, sl->start));
    fmt_us(dur, sizeof dur, sl->end - sl->start);
    size_t n = sep(e, out);
    n +=
        (size_t)sprintf(out + n,
                        "{\"ph\":\"X\",\"cat\":\"%s\",\"name\":%s,\"pid\":%d,\"tid\":%" PRIu32
                        ",\"ts\":%s,\"dur\":%s,\"args\":{\"session\":%" PRIu64 ",\"job\":%s,"
                        "\"uid\":%" PRIu32 ",\"task\":%" PRIu64 ",\"label\":%s%s}}",
                        sl->pid == PID_CORES ? "task" : "device", label[0] ? qlabel : "\"task\"",
                        sl->pid, sl->tid, ts, dur, ss->id, qjob, ss->uid, sl->task, qlabel,
                        sl->unfinished == UNFINISHED_AT_STOP ? ",\"unfinished\":\"running\""
                        : sl->unfinished == UNFINISHED_SESSION_CLOSED ? ",\"unfinished\":\"closed\""
                                                                      : "");
    return n;
}

/* Mid-point of a slice: a flow end there binds to it whatever the order of equal timestamps. */
static void write_flow_end(char *out, size_t *n, const trace_export_t *e, const slice_t *sl,
                           const char *ph, size_t id)
{
    char ts[32];
    fmt_us(ts, sizeof ts, rel(e, sl->start + (sl->end - sl->start) / 2));
    *n += (size_t)sprintf(out + *n,
                          "{\"ph\":\"%s\",%s\"cat\":\"dep\",\"name\":\"dep\",\"id\":%zu,\"pid\":%d,"
                          "\"tid\":%" PRIu32 ",\"ts\":%s}",
                          ph, ph[0] == 'f' ? "\"bp\":\"e\"," : "", id, sl->pid, sl->tid, ts);
}

/* Writes the next item of the current phase, or moves to the next phase; 0 when it wrote none. */
static size_t write_item(trace_export_t *e, char *out)
{
    char name[NODUS_MAX_NAME + 64];
    switch (e->phase) {
    case PHASE_HEADER: {
        size_t n = (size_t)sprintf(out,
                                   "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"generator\":"
                                   "\"nodusd\",\"events\":%zu,\"overwritten\":%" PRIu64
                                   ",\"capacity\":%zu},\"traceEvents\":[",
                                   e->ring->count, e->ring->overwritten, e->ring->capacity);
        n += write_meta(e, out + n, PID_CORES, 0, 0, "process", "cores", 0);
        e->phase = PHASE_CORE_THREADS;
        e->pos = 0;
        return n;
    }
    case PHASE_CORE_THREADS:
        for (; e->pos < e->ncores; e->pos++) {
            if (!e->core_used[e->pos]) continue;
            snprintf(name, sizeof name, "cpu %" PRIu32, e->cpus[e->pos]);
            size_t n = write_meta(e, out, PID_CORES, e->cpus[e->pos], 1, "thread", name,
                                  (long)e->cpus[e->pos]);
            e->pos++;
            return n;
        }
        e->phase = PHASE_DEVICE_PROCESS;
        return 0;
    case PHASE_DEVICE_PROCESS:
        e->phase = PHASE_DEVICE_THREADS;
        e->pos = 0;
        if (e->ndev_slices == 0) return 0;
        return write_meta(e, out, PID_DEVICES, 0, 0, "process", "devices", 1);
    case PHASE_DEVICE_THREADS:
        for (; e->pos < e->ndevices * NODUS_MAX_DEVICE_SLOTS; e->pos++) {
            size_t dev = e->pos / NODUS_MAX_DEVICE_SLOTS, slot = e->pos % NODUS_MAX_DEVICE_SLOTS;
            if (!(e->dev_used[dev] >> slot & 1)) continue;
            snprintf(name, sizeof name, "device %zu%s%s%s slot %zu", dev,
                     e->dev_names[dev][0] ? " (" : "", e->dev_names[dev],
                     e->dev_names[dev][0] ? ")" : "", slot);
            size_t n = write_meta(e, out, PID_DEVICES, 1u + (uint32_t)e->pos, 1, "thread", name,
                                  (long)e->pos);
            e->pos++;
            return n;
        }
        e->phase = PHASE_SLICES;
        e->pos = 0;
        return 0;
    case PHASE_SLICES:
        if (e->pos < e->nslices) return write_slice(e, out, &e->slices[e->pos++]);
        e->phase = PHASE_FLOWS;
        e->pos = 0;
        return 0;
    case PHASE_FLOWS:
        if (e->pos < e->nflows) {
            const flow_t *f = &e->flows[e->pos++];
            size_t n = sep(e, out);
            write_flow_end(out, &n, e, &e->slices[f->from], "s", e->pos);
            out[n++] = ',';
            write_flow_end(out, &n, e, &e->slices[f->to], "f", e->pos);
            return n;
        }
        e->phase = PHASE_FOOTER;
        return 0;
    case PHASE_FOOTER:
        e->phase = PHASE_DONE;
        return (size_t)sprintf(out, "]}\n");
    case PHASE_DONE:
        return 0;
    }
    return 0;
}

size_t trace_export_next(trace_export_t *e, char *buf, size_t len, int *done)
{
    size_t n = 0;
    *done = 0;
    if (len < TRACE_EXPORT_MIN_BUF) return 0;
    while (e->phase != PHASE_DONE && len - n > ITEM_MAX)
        n += write_item(e, buf + n);
    *done = e->phase == PHASE_DONE;
    return n;
}
