/*
 * Waiting (see wait.h).
 *
 * Waiting from inside a task body of the same session is refused (NODUS_ESTATE): the body holds
 * a core the awaited tasks may need — with one core, or all cores in such bodies, it would never
 * return. Split the work into tasks with accesses instead.
 */
#include "wait.h"

#include "comm.h"
#include "worker.h"

int wait_tasks(nodus_t *n, uint64_t addr, uint64_t len)
{
    if (worker_in_task_of(n)) return NODUS_ESTATE;
    int rc = session_error(n);
    if (rc < 0) return rc;

    waiter_t w = {.addr = addr, .len = len};
    pthread_mutex_lock(&n->lock);
    if (n->outstanding == 0 && !n->cuda_used) {
        /* every body submitted so far has returned, and every OpenCL task's device work ended
         * (its entry stays outstanding until DeviceDone): nothing to ask the daemon. The end of
         * CUDA work is seen by the daemon only, so a session that ran CUDA tasks always asks. */
        pthread_mutex_unlock(&n->lock);
        return 0;
    }
    w.token = ++n->next_token;
    w.next = n->waiters;
    if (n->waiters) n->waiters->prev = &w;
    n->waiters = &w;
    n->waits_unsent++;
    pthread_mutex_unlock(&n->lock);

    comm_wake(n);

    pthread_mutex_lock(&n->lock);
    while (!w.done && session_error(n) == 0)
        pthread_cond_wait(&n->wait_cv, &n->lock);
    if (!w.sent) n->waits_unsent--;
    if (w.prev)
        w.prev->next = w.next;
    else
        n->waiters = w.next;
    if (w.next) w.next->prev = w.prev;
    pthread_mutex_unlock(&n->lock);
    return w.done ? 0 : session_error(n);
}

NODUS_EXPORT int nodus_taskwait(nodus_t *n)
{
    if (!n) return NODUS_EINVAL;
    return wait_tasks(n, 0, 0);
}

NODUS_EXPORT int nodus_taskwait_on(nodus_t *n, const void *addr, size_t len)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    if (!n || a + (uint64_t)len < a) return NODUS_EINVAL;
    if (len == 0) return worker_in_task_of(n) ? NODUS_ESTATE : session_error(n); /* empty range */
    return wait_tasks(n, a, (uint64_t)len);
}

NODUS_EXPORT int nodus_flush(nodus_t *n)
{
    if (!n) return NODUS_EINVAL;
    int rc = session_error(n);
    if (rc < 0) return rc;
    pthread_mutex_lock(&n->lock);
    uint64_t target = n->next_id - 1;
    n->flush_waiters++;
    pthread_mutex_unlock(&n->lock);

    comm_wake(n);

    pthread_mutex_lock(&n->lock);
    while (n->flushed_upto < target && session_error(n) == 0)
        pthread_cond_wait(&n->wait_cv, &n->lock);
    n->flush_waiters--;
    pthread_mutex_unlock(&n->lock);
    return session_error(n);
}
