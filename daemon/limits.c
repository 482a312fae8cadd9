/*
 * Per-user session and outstanding-task accounting (see limits.h). The low-water mark sits a
 * quarter of the limit below it, so a user held at the limit is taken up again in batches and
 * not on every completed task.
 */
#include "limits.h"

#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "nodus.h"

void limits_init(limits_t *l, uint32_t max_sessions, uint64_t max_outstanding)
{
    memset(l, 0, sizeof *l);
    l->max_sessions = max_sessions;
    l->max_outstanding = max_outstanding;
}

void limits_free(limits_t *l)
{
    free(l->users);
    memset(l, 0, sizeof *l);
}

uint64_t limits_low_water(const limits_t *l)
{
    if (l->max_outstanding == 0) return UINT64_MAX;
    uint64_t gap = l->max_outstanding / 4;
    return l->max_outstanding - (gap > 0 ? gap : 1);
}

/* Does the user have held input and room for some of it now? */
static int can_resume(const limits_t *l, const limits_user_t *u)
{
    return u->held_sessions > 0 && !u->at_limit &&
           (l->max_outstanding == 0 || u->outstanding < l->max_outstanding);
}

/* A user with held input at the limit waits for the low-water mark. */
static void note_full(const limits_t *l, limits_user_t *u)
{
    if (u->at_limit || l->max_outstanding == 0 || u->held_sessions == 0) return;
    if (u->outstanding < l->max_outstanding) return;
    u->at_limit = 1;
    u->throttled++;
}

void limits_configure(limits_t *l, uint32_t max_sessions, uint64_t max_outstanding)
{
    l->max_sessions = max_sessions;
    l->max_outstanding = max_outstanding;
    /* whoever is held may fit now; a lower limit only holds more from the next Submit on */
    for (size_t i = 0; i < l->n; i++) {
        limits_user_t *u = &l->users[i];
        if (u->at_limit && (max_outstanding == 0 || u->outstanding <= limits_low_water(l)))
            u->at_limit = 0;
        if (can_resume(l, u)) l->resume_due = 1;
    }
}

limits_user_t *limits_find(limits_t *l, uint32_t uid)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->users[i].uid == uid) return &l->users[i];
    return NULL;
}

int limits_session_open(limits_t *l, uint32_t uid)
{
    limits_user_t *u = limits_find(l, uid);
    if (u && l->max_sessions > 0 && u->sessions >= l->max_sessions) return NODUS_ELIMIT;
    if (!u) {
        if (array_reserve((void **)&l->users, &l->cap, l->n + 1, sizeof *l->users) < 0)
            return NODUS_ENOMEM;
        u = &l->users[l->n++];
        memset(u, 0, sizeof *u);
        u->uid = uid;
    }
    u->sessions++;
    return 0;
}

void limits_session_close(limits_t *l, uint32_t uid)
{
    limits_user_t *u = limits_find(l, uid);
    if (!u) return;
    if (u->sessions > 0) u->sessions--;
    if (u->sessions == 0 && u->outstanding == 0) *u = l->users[--l->n]; /* unordered */
}

uint64_t limits_task_room(limits_t *l, uint32_t uid)
{
    if (l->max_outstanding == 0) return UINT64_MAX;
    limits_user_t *u = limits_find(l, uid);
    uint64_t have = u ? u->outstanding : 0;
    /* a user at the limit waits for the low-water mark, so that it resumes in batches */
    if (u && u->at_limit) return 0;
    return have >= l->max_outstanding ? 0 : l->max_outstanding - have;
}

void limits_tasks_accepted(limits_t *l, uint32_t uid, uint64_t n)
{
    limits_user_t *u = limits_find(l, uid);
    if (!u) return;
    u->outstanding += n;
    if (u->outstanding > u->peak_outstanding) u->peak_outstanding = u->outstanding;
    note_full(l, u);
}

void limits_hold_changed(limits_t *l, uint32_t uid, int delta)
{
    limits_user_t *u = limits_find(l, uid);
    if (!u) return;
    if (delta > 0)
        u->held_sessions++;
    else if (u->held_sessions > 0)
        u->held_sessions--;
    if (u->held_sessions == 0)
        u->at_limit = 0; /* nothing waits: the next Submit is taken as far as there is room */
    note_full(l, u);
}

void limits_tasks_finished(limits_t *l, uint32_t uid, uint64_t n)
{
    limits_user_t *u = limits_find(l, uid);
    if (!u) return;
    u->outstanding = u->outstanding > n ? u->outstanding - n : 0;
    if (u->at_limit && u->outstanding <= limits_low_water(l)) u->at_limit = 0;
    if (can_resume(l, u)) l->resume_due = 1;
    if (u->sessions == 0 && u->outstanding == 0) *u = l->users[--l->n];
}
