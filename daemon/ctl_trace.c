/*
 * Traces on request: nodusctl trace start makes a ring (trace_ring.h) that the session hooks
 * fill; trace stop takes the ring away from the hooks, builds its export (trace_json.h) and
 * sends it to the requester as TraceChunk messages. The daemon runs sandboxed and cannot write
 * the user's file: nodusctl writes it.
 *
 * Sending is paced by the peer: before the loop blocks, chunks are added while the session's
 * unsent output is below CTL_TRACE_OUT_HIGH, and at most CTL_TRACE_PUMP_BUDGET bytes per loop
 * turn, so a 100 MB trace neither piles up in memory nor stalls the scheduling of everyone else.
 * When the kernel took everything and nothing will wake the loop, an idle handle turns it once
 * more.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "ctl.h"
#include "log.h"
#include "nodus.h"
#include "session.h"
#include "trace_json.h"
#include "trace_ring.h"

/* JSON bytes per TraceChunk (below NODUS_MAX_TRACE_CHUNK). */
#define CTL_TRACE_CHUNK (256u * 1024u)
/* No more chunks while this much output waits for the peer. */
#define CTL_TRACE_OUT_HIGH (4u * 1024u * 1024u)
/* JSON bytes produced per loop turn and session, at most. */
#define CTL_TRACE_PUMP_BUDGET (4u * 1024u * 1024u)

_Static_assert(CTL_TRACE_CHUNK <= NODUS_MAX_TRACE_CHUNK, "chunks must pass validation");
_Static_assert(CTL_TRACE_CHUNK >= TRACE_EXPORT_MIN_BUF, "chunk smaller than an export piece");

/* A new ring of `capacity` events (0: trace.capacity) becomes the one recorded into. */
static int start_ring(daemon_t *d, uint32_t capacity)
{
    size_t cap = capacity ? capacity : d->cfg.trace_capacity;
    d->trace_ring = trace_ring_create(cap, uv_hrtime());
    if (!d->trace_ring) return NODUS_ENOMEM;
    LOG(LOG_INFO, "trace", 0, "recording a trace of up to %zu events", d->trace_ring->capacity);
    return 0;
}

void ctl_trace_set_enabled(daemon_t *d, int enabled)
{
    if (enabled && !d->trace_ring) {
        if (start_ring(d, 0) < 0)
            LOG(LOG_ERR, "trace", 0, "out of memory for a trace of %u events",
                d->cfg.trace_capacity);
    } else if (!enabled && d->trace_ring) {
        LOG(LOG_INFO, "trace", 0, "trace recording off; %zu events discarded",
            d->trace_ring->count);
        trace_ring_free(d->trace_ring);
        d->trace_ring = NULL;
    }
}

void ctl_trace_start(session_t *s, uint32_t capacity)
{
    daemon_t *d = s->d;
    if (d->trace_ring) {
        ctl_reply(s, NODUS_ESTATE, "a trace is already recording (%zu events); stop it first",
                  d->trace_ring->count);
        return;
    }
    if (start_ring(d, capacity) < 0) {
        ctl_reply(s, NODUS_ENOMEM, "out of memory for a trace of %u events",
                  capacity ? capacity : d->cfg.trace_capacity);
        return;
    }
    LOG(LOG_NOTICE, "session", s->id, "uid %u started a trace", s->uid);
    ctl_reply(s, 0, "recording a trace of up to %zu events", d->trace_ring->capacity);
}

void ctl_trace_stop(session_t *s)
{
    daemon_t *d = s->d;
    trace_ring_t *ring = d->trace_ring;
    if (!ring) {
        ctl_reply(s, NODUS_ESTATE, "no trace is recording (nodusctl trace start)");
        return;
    }
    if (!d->trace_buf && !(d->trace_buf = malloc(CTL_TRACE_CHUNK))) {
        ctl_reply(s, NODUS_ENOMEM, "out of memory for the trace");
        return;
    }
    d->trace_ring = NULL; /* the hooks stop recording here */
    size_t nrec = ring->count;
    uint64_t lost = ring->overwritten;
    const char *names[NODUS_MAX_DEVICES];
    size_t ndev = d->devices.n < NODUS_MAX_DEVICES ? d->devices.n : NODUS_MAX_DEVICES;
    for (size_t i = 0; i < ndev; i++)
        names[i] = d->devices.info_ptrs[i]->name;
    trace_export_t *e = trace_export_create(ring, d->cpus, d->ncores, names, ndev, uv_hrtime());
    if (!e) {
        ctl_reply(s, NODUS_ENOMEM, "out of memory exporting the trace");
        return;
    }
    LOG(LOG_NOTICE, "session", s->id,
        "uid %u stopped the trace: %zu events (%" PRIu64 " overwritten), %zu task slices, %zu "
        "device slices, %zu dependency flows",
        s->uid, nrec, lost, trace_export_core_slices(e), trace_export_device_slices(e),
        trace_export_flows(e));
    s->trace_export = e;
    d->trace_exports++;
    ctl_trace_pump(d);
}

void ctl_trace_release(session_t *s)
{
    if (!s->trace_export) return;
    trace_export_free(s->trace_export);
    s->trace_export = NULL;
    s->d->trace_exports--;
}

/* Adds chunks to s's output while its peer keeps up; returns 1 when the loop must turn again. */
static int pump_one(session_t *s)
{
    daemon_t *d = s->d;
    size_t budget = CTL_TRACE_PUMP_BUDGET;
    while (s->trace_export && s->out.len + s->out_inflight < CTL_TRACE_OUT_HIGH && budget > 0) {
        int done = 0;
        size_t n = trace_export_next(s->trace_export, d->trace_buf, CTL_TRACE_CHUNK, &done);
        Nodus__V1__TraceChunk c = NODUS__V1__TRACE_CHUNK__INIT;
        c.data.data = (uint8_t *)d->trace_buf;
        c.data.len = n;
        c.last = done;
        Nodus__V1__Msg m = NODUS__V1__MSG__INIT;
        m.body_case = NODUS__V1__MSG__BODY_TRACE_CHUNK;
        m.trace_chunk = &c;
        if (session_send(s, &m) < 0) {
            session_fail(s, NODUS_ENOMEM, "cannot send the trace");
            return 0;
        }
        budget = n < budget ? budget - n : 0;
        if (done) {
            LOG(LOG_INFO, "session", s->id, "trace sent");
            ctl_trace_release(s);
        }
        session_flush(s);
        if (s->state == SESSION_CLOSED) return 0;
    }
    /* more to send, and all of it was taken: no write completion will wake the loop */
    return s->trace_export && s->out.len == 0 && s->out_inflight == 0;
}

static void on_trace_idle(uv_idle_t *h)
{
    uv_idle_stop(h); /* the prepare pass that follows pumps */
}

void ctl_trace_pump(daemon_t *d)
{
    int again = 0;
    for (session_t *s = d->sessions; s; s = s->next)
        if (s->trace_export && s->state != SESSION_CLOSED) again |= pump_one(s);
    if (again && !d->stopping) uv_idle_start(&d->trace_idle, on_trace_idle);
}
