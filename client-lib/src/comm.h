/*
 * The comm thread: after the handshake it alone reads and writes the session's socket. It packs
 * pending submissions, done reports (Done, then DeviceDone), waits, weight changes and the final
 * Bye into frames (in that order, so a Wait always follows the Submits that preceded it), and
 * dispatches what the daemon sends: Grants to workers, WaitDone to waiters, Error to
 * session_fail(). End of stream without an Error (a crashed daemon) starts the recovery:
 * reconnect.c, then the resubmission of what never started (replay.c).
 */
#ifndef NODUS_CLIENT_COMM_H
#define NODUS_CLIENT_COMM_H

#include <stdint.h>

#include "frame.h"
#include "nodus.h"

/* Starts the comm thread; takes over `reader` (bytes already read past the Welcome). */
int comm_start(nodus_t *n, frame_reader_t *reader);
/* Waits for the comm thread to end (after Bye, or on a session error, a failed recovery
 * included). */
void comm_join(nodus_t *n);
/* Frees the comm state (after comm_join, or if comm_start failed). */
void comm_destroy(nodus_t *n);

/* Wakes the comm thread if it may be sleeping; cheap when it is busy. Any thread. */
void comm_wake(nodus_t *n);

#endif
