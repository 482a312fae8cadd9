/*
 * --daemonize, as libnodus autostart uses it: the starting process waits until the daemon is
 * really listening, then exits 0; if start-up fails it exits with the daemon's status and
 * prints its message, so the client that spawned it learns why at once.
 */
#ifndef NODUS_DAEMONIZE_H
#define NODUS_DAEMONIZE_H

/*
 * Forks twice with setsid() between, so the daemon has no controlling terminal and is not the
 * caller's child. Only the daemon returns (0, with *ready_fd the write end of the readiness
 * pipe); its stdin reads /dev/null and stdout/stderr append to `log_path` (or /dev/null). The
 * original process waits on the pipe and exits; the intermediate one exits at once. Returns a
 * negative code if the first fork fails (still in the original process).
 */
int daemonize_start(const char *log_path, int *ready_fd);

/* Reports start-up success to the waiting process and closes the pipe. */
void daemonize_ready(int ready_fd);

/* Reports failure: the waiting process prints `message` and exits with `exit_code`. */
void daemonize_fail(int ready_fd, int exit_code, const char *message);

#endif
