/*
 * What the client keeps so that a restarted daemon can be given the session again: every Submit
 * batch the comm thread packed stays here until each of its tasks has completed, so the specs
 * (accesses, priority, cores, label, implementations) of the tasks still live can be sent again
 * in their original order. And the map between the client's task ids, which never change, and
 * the ids of the daemon's current session, which start again at 1 after a reconnect: the
 * resubmitted tasks get 1..R in order, and the tasks packed afterwards follow on
 * arithmetically (docs/protocol.md, "Daemon restarts").
 *
 * Comm thread only (done_batch_pack() calls replay_release() from it, under n->lock).
 */
#ifndef NODUS_CLIENT_REPLAY_H
#define NODUS_CLIENT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Creates the session's (empty) replay state into n->replay. Returns 0 or NODUS_ENOMEM. */
int replay_open(nodus_t *n);
/* Frees it. */
void replay_close(nodus_t *n);

/*
 * Keeps the batch just packed from `sent` (tasks in ascending client ids) and leaves in `sent`
 * an empty buffer (recycled storage). Returns 0 or NODUS_ENOMEM (then `sent` is unchanged and
 * the batch is not kept: the session must fail, since it could no longer be replayed).
 */
int replay_keep(struct replay *r, submit_buf_t *sent);
/* Task `id` (a client id) completed: its batch's storage is recycled once all of them have. */
void replay_release(struct replay *r, uint64_t id);

/* The daemon's id for client task `id` in the current connection. */
uint64_t replay_wire_of(const struct replay *r, uint64_t id);
/* The client's id for the daemon's task id `wire`, or 0 if it names no task we sent. */
uint64_t replay_local_of(const struct replay *r, uint64_t wire);

/*
 * After a reconnect: gathers, in submission order, every kept task whose table entry is
 * SUBMITTED (never started) into `out` (empty on entry), drops every kept batch, and restarts the
 * id map: out's tasks become daemon ids 1..R, and client id `first_fresh` (the first never
 * packed) becomes R + 1. Takes n->lock for the table. Returns 0 or NODUS_ENOMEM.
 */
int replay_rebuild(nodus_t *n, submit_buf_t *out, uint64_t first_fresh);

/* Calls fn(n, entry, id) for every live task of the kept batches, under n->lock (held by the
 * caller). For the recovery's look at the tasks whose device work is still unconfirmed. */
void replay_foreach_locked(nodus_t *n, void (*fn)(nodus_t *n, task_entry_t *e, uint64_t id, void *),
                           void *data);

#endif
