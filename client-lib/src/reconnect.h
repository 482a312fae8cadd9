/*
 * Recovery from a daemon that went away without a word (crashed, SIGKILLed): the comm thread
 * lets the bodies already handed to workers finish and records them complete here, waits for
 * device work in flight to be confirmed in this process, then connects again with exponential
 * back-off through the same discovery and autostart path as nodus_open() and repeats the
 * handshake. comm.c then resubmits the tasks that never started (replay.c). The rules, and what
 * happens to a started task whose outcome cannot be established here: docs/protocol.md,
 * "Daemon restarts".
 */
#ifndef NODUS_CLIENT_RECONNECT_H
#define NODUS_CLIENT_RECONNECT_H

#include "done.h"
#include "frame.h"
#include "internal.h"

/* reconnect_run() result: the application is closing the session; end it quietly. */
#define RECONNECT_CLOSED 1

/*
 * Recovers the session after the connection was lost (comm thread; `batch` is its completion
 * scratch). Bumps n->epoch, closes the old socket, completes locally what was granted, waits for
 * device work, then reconnects within $NODUS_RECONNECT_TIMEOUT. On success returns 0 with n->fd
 * a new non-blocking socket, n->session_id the new session, and `reader` (initialised here) the
 * bytes after the Welcome. Returns RECONNECT_CLOSED, or a NODUS_E* code: NODUS_ELOST for a
 * started task whose outcome was lost, NODUS_ECLOSED when no daemon answered in time, or the
 * daemon's refusal (e.g. NODUS_EVERSION), or NODUS_ENOTSUP when the new daemon has other cores or
 * devices.
 */
int reconnect_run(nodus_t *n, done_batch_t *batch, frame_reader_t *reader);

/*
 * The recovery rule for one task that was granted when the daemon was lost and whose outcome is
 * not known here: true when it may run again (the task declared itself idempotent), false when
 * the session must fail with NODUS_ELOST. `state` is its table state.
 */
bool reconnect_may_rerun(task_entry_state_t state, bool idempotent);

#endif
