/*
 * Submission: task attributes, the buffer of submitted tasks waiting for the comm thread, and
 * nodus_submit() itself (id assignment, task table insert, back-pressure).
 */
#ifndef NODUS_CLIENT_SUBMIT_H
#define NODUS_CLIENT_SUBMIT_H

#include "internal.h"
#include "submit_buf.h"

#endif
