/*
 * threadlibs.h: holding the thread pools of libraries that task bodies call (OpenBLAS) to the
 * cores the daemon grants. PoCL's pool is held by ocl.c.
 */
#ifndef NODUS_THREADLIBS_H
#define NODUS_THREADLIBS_H

/* At nodus_open, before the session's threads start: one BLAS thread per task unless
 * $NODUS_HOLD_BLAS is "0". Idempotent; never fails (a library not loaded is left alone). */
void threadlibs_hold(void);

#endif
