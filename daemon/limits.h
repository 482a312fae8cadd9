/*
 * Per-user limits (config [limits]): how many client sessions each uid has open and how many
 * tasks it has outstanding (accepted by the daemon and not yet complete, over all its sessions).
 *
 * The outstanding-task limit is back-pressure, not a refusal: a session whose user is at the
 * limit has the rest of its input held (session_hold.c) until the user's count falls to the
 * low-water mark (limits_low_water), then it is taken up again. This module only keeps the
 * counts and answers "how many more may this user have now"; it never touches a session.
 * Loop thread only.
 */
#ifndef NODUS_LIMITS_H
#define NODUS_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* One user's counts. */
typedef struct limits_user {
    uint32_t uid;
    uint32_t sessions;         /* client sessions open */
    uint64_t outstanding;      /* tasks accepted, not yet complete */
    uint64_t peak_outstanding; /* highest `outstanding` since the entry was created */
    uint64_t throttled;        /* times `outstanding` reached the limit with input held */
    uint32_t held_sessions;    /* its sessions with input held (session_hold.c) */
    int at_limit;              /* reached the limit with input held; cleared at low water */
} limits_user_t;

typedef struct limits {
    limits_user_t *users; /* owned; unsorted (a node has few users) */
    size_t n, cap;
    uint32_t max_sessions;    /* limits.max_sessions_per_user; 0 = none */
    uint64_t max_outstanding; /* limits.max_outstanding_tasks; 0 = none */
    int resume_due;           /* some user fell to its low-water mark: resume held sessions */
} limits_t;

/* Initialises an empty table with the given limits (0 = no limit). */
void limits_init(limits_t *l, uint32_t max_sessions, uint64_t max_outstanding);
/* Frees the table. */
void limits_free(limits_t *l);
/* New limits (reload). A raised task limit lets held sessions resume. */
void limits_configure(limits_t *l, uint32_t max_sessions, uint64_t max_outstanding);
/* The user's entry, or NULL when it has none (no client session open). Borrowed. */
limits_user_t *limits_find(limits_t *l, uint32_t uid);
/*
 * A client session of `uid` opens: 0, NODUS_ELIMIT when the user already has max_sessions, or
 * NODUS_ENOMEM.
 */
int limits_session_open(limits_t *l, uint32_t uid);
/* A client session of `uid` (opened with limits_session_open) closes; the entry goes with the
 * user's last session (its tasks are complete or released by then). */
void limits_session_close(limits_t *l, uint32_t uid);
/* How many more tasks `uid` may have outstanding now (UINT64_MAX: no limit). */
uint64_t limits_task_room(limits_t *l, uint32_t uid);
/* `n` tasks of `uid` were accepted. */
void limits_tasks_accepted(limits_t *l, uint32_t uid, uint64_t n);
/*
 * A session of `uid` starts (`delta` +1) or stops (-1) holding input. A user with held input
 * that reaches the limit is "at the limit" (counted in `throttled`) until the low-water mark.
 */
void limits_hold_changed(limits_t *l, uint32_t uid, int delta);
/* `n` tasks of `uid` completed or were released; sets resume_due when the user has held input
 * and room for it (at the limit: once it falls to the low-water mark). */
void limits_tasks_finished(limits_t *l, uint32_t uid, uint64_t n);
/* The outstanding count at or below which a user at the limit is taken up again. */
uint64_t limits_low_water(const limits_t *l);

#endif
