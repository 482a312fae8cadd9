/*
 * The checking kernel of the integration clients that build random graphs (it_dag.c,
 * it_restart.c): a task hashes everything it reads, then rewrites everything it writes from that
 * hash and its index. Any dependency the daemon gets wrong (a read before its writer, a write
 * before an earlier reader) changes some hash or final value against a sequential reference.
 */
#ifndef NODUS_IT_HASH_KERNEL_H
#define NODUS_IT_HASH_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <nodus.h>

/* Reads (IN, INOUT) into an FNV-1a hash of 32-bit words, then writes (OUT, INOUT) values derived
 * from it and idx; returns the hash. */
static inline uint32_t it_hash_kernel(const nodus_access_t *acc, int nacc, unsigned idx)
{
    uint32_t h = 2166136261u;
    for (int a = 0; a < nacc; a++) {
        if (acc[a].mode == NODUS_OUT) continue;
        const uint32_t *p = acc[a].addr;
        for (size_t e = 0; e < acc[a].len / 4; e++)
            h = (h ^ p[e]) * 16777619u;
    }
    for (int a = 0; a < nacc; a++) {
        if (acc[a].mode == NODUS_IN) continue;
        uint32_t *p = (uint32_t *)acc[a].addr;
        for (size_t e = 0; e < acc[a].len / 4; e++)
            p[e] = p[e] * 31u + idx + 1 + h;
    }
    return h;
}

#endif
