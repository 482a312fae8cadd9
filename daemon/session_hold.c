/*
 * Back-pressure for limits.max_outstanding_tasks (per user; limits.h keeps the counts).
 *
 * A client session's messages arrive in one ordered stream, and the Done reports that let its
 * running tasks complete come behind the Submits it sent meanwhile. So a session cannot simply
 * stop being read when its user is at the limit: its own Dones would never arrive. Instead:
 *
 *   - a Submit is accepted as far as the user's room allows; the rest of it, and every later
 *     Submit, Wait and Bye (whose meaning depends on the Submits before them), is held here in
 *     arrival order, decoded. Done, DeviceDone, SetWeight and StatusRequest are handled at once:
 *     they only concern tasks already accepted.
 *   - when the user's outstanding count falls to the low-water mark (limits_low_water), the
 *     daemon's prepare pass takes up the held messages again (session_hold_resume_all).
 *   - a session that holds more than SESSION_READ_STOP_BYTES (256 KiB) and has no live task
 * (nothing of it needs a Done: another session of the user holds the room) is no longer read
 *     (uv_read_stop): the kernel's socket buffer fills and the client blocks in send. Reading
 *     resumes when the held input is taken up, or once the session has live tasks again.
 *   - a session with live tasks keeps being read; its held input is bounded by SESSION_MAX_HELD,
 *     past which the peer is dropped with NODUS_ELIMIT (libnodus's own output backlog stays far
 *     below that for any graph of fewer than several million tasks; docs/protocol.md).
 * Loop thread only.
 */
#include "array.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "log.h"
#include "nodus.h"

/* Held input past which a session without live tasks is not read any more. */
#define SESSION_READ_STOP_BYTES (256u * 1024u)
/* Held input past which the peer is dropped: it does not respect back-pressure. */
#define SESSION_MAX_HELD (64u * 1024u * 1024u)

int session_hold_needed(const session_t *s, const Nodus__V1__Msg *m)
{
    if (s->held_len == 0) return 0;
    switch (m->body_case) {
    case NODUS__V1__MSG__BODY_SUBMIT:
    case NODUS__V1__MSG__BODY_WAIT:
    case NODUS__V1__MSG__BODY_BYE:
        return 1;
    default:
        return 0;
    }
}

static void read_stop(session_t *s)
{
    if (s->read_stopped || s->state == SESSION_CLOSED) return;
    uv_read_stop((uv_stream_t *)&s->pipe);
    s->read_stopped = 1;
    LOG(LOG_INFO, "session", s->id,
        "uid=%u at limits.max_outstanding_tasks: not reading (%zu bytes held)", s->uid,
        s->held_bytes);
}

/* Starts reading again when the session needs its input or holds little. */
static void read_resume(session_t *s);
static void session_hold_take(session_t *s, uint64_t quota);

void session_hold(session_t *s, Nodus__V1__Msg *m, size_t next_task, size_t bytes)
{
    daemon_t *d = s->d;
    size_t end = s->held_head + s->held_len;
    if (end == s->held_cap && s->held_head > 0) {
        memmove(s->held, s->held + s->held_head, s->held_len * sizeof *s->held);
        s->held_head = 0;
        end = s->held_len;
    }
    if (array_reserve((void **)&s->held, &s->held_cap, end + 1, sizeof *s->held) < 0) {
        nodus__v1__msg__free_unpacked(m, NULL);
        session_fail(s, NODUS_ENOMEM, "out of memory for held input");
        return;
    }
    s->held[end] = (session_held_t){.msg = m, .next_task = next_task, .bytes = bytes};
    if (s->held_len++ == 0) limits_hold_changed(&d->limits, s->uid, +1);
    s->held_bytes += bytes;
    d->held_bytes += bytes;
    if (s->held_bytes > SESSION_MAX_HELD) {
        char why[160];
        snprintf(why, sizeof why,
                 "more than %u bytes of input held at limits.max_outstanding_tasks: the client "
                 "ignores back-pressure",
                 SESSION_MAX_HELD);
        session_fail(s, NODUS_ELIMIT, why);
        return;
    }
    if (s->held_bytes > SESSION_READ_STOP_BYTES && s->live.count == 0) read_stop(s);
}

/* Forgets the held message at the head (handled). */
static void pop_head(session_t *s)
{
    session_held_t *h = &s->held[s->held_head];
    s->held_bytes -= h->bytes;
    s->d->held_bytes -= h->bytes;
    nodus__v1__msg__free_unpacked(h->msg, NULL);
    h->msg = NULL;
    s->held_head++;
    s->held_len--;
    if (s->held_len == 0) {
        s->held_head = 0;
        limits_hold_changed(&s->d->limits, s->uid, -1);
    }
}

static void read_resume(session_t *s)
{
    if (!s->read_stopped || s->state == SESSION_CLOSED) return;
    if (s->held_bytes > SESSION_READ_STOP_BYTES / 2 && s->live.count == 0) return;
    s->read_stopped = 0;
    int rc = session_read_start(s);
    if (rc < 0) {
        LOG(LOG_WARNING, "session", s->id, "cannot read again: %s", uv_strerror(rc));
        session_close(s, "read start failed", 0);
        return;
    }
    LOG(LOG_DEBUG, "session", s->id, "reading again (%zu bytes held)", s->held_bytes);
}

void session_hold_resume(session_t *s, uint64_t quota)
{
    session_hold_take(s, quota);
    session_check_deferred(s);
}

/* Handles held messages in order while there is room and quota (session_hold_resume). */
static void session_hold_take(session_t *s, uint64_t quota)
{
    while (s->held_len > 0 && s->state == SESSION_CLIENT) {
        session_held_t *h = &s->held[s->held_head];
        Nodus__V1__Msg *m = h->msg;
        switch (m->body_case) {
        case NODUS__V1__MSG__BODY_SUBMIT: {
            size_t next = session_accept_tasks(s, m->submit, h->next_task, quota);
            if (next == SIZE_MAX) return; /* failed: closed, held input released */
            quota -= next - h->next_task;
            if (next < m->submit->n_tasks) {
                h->next_task = next;
                read_resume(s);
                return;
            }
            pop_head(s);
            break;
        }
        case NODUS__V1__MSG__BODY_WAIT:
            session_on_wait(s, m->wait);
            if (s->state == SESSION_CLOSED) return;
            pop_head(s);
            break;
        case NODUS__V1__MSG__BODY_BYE:
            pop_head(s);
            session_close(s, "bye", 1);
            return;
        default:
            pop_head(s); /* not held (session_hold_needed) */
            break;
        }
    }
    read_resume(s);
}

/* Held sessions of `uid` from `from` on in the session list. */
static size_t held_sessions_of(const session_t *from, uint32_t uid)
{
    size_t n = 0;
    for (const session_t *o = from; o; o = o->next)
        n += o->held_len > 0 && o->state == SESSION_CLIENT && o->uid == uid;
    return n;
}

/*
 * The room a user gained is shared among its held sessions (each gets its part of what is left
 * when its turn comes), so that the newest session does not take it all every time.
 */
void session_hold_resume_all(daemon_t *d)
{
    d->limits.resume_due = 0;
    d->now_ns = uv_hrtime();
    /* again while a pass moved something and left room to a user that still has held input
     * (the shares round down); each pass accepts at least one task, or stops */
    for (int progress = 1; progress;) {
        progress = 0;
        for (session_t *s = d->sessions; s; s = s->next) {
            if (s->held_len == 0 || s->state != SESSION_CLIENT) continue;
            uint64_t room = limits_task_room(&d->limits, s->uid);
            if (room == 0) continue;
            size_t n = held_sessions_of(s, s->uid);
            uint64_t quota = room == UINT64_MAX ? room : room / (n ? n : 1);
            uint64_t before = s->submitted;
            size_t held_before = s->held_len;
            session_hold_resume(s, quota ? quota : 1);
            if (s->submitted != before || s->held_len != held_before) progress = 1;
            daemon_mark_dirty(d);
        }
    }
}

void session_hold_release(session_t *s)
{
    while (s->held_len > 0)
        pop_head(s);
    free(s->held);
    s->held = NULL;
    s->held_cap = 0;
    s->held_head = 0;
}
