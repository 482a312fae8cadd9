/*
 * hpccg_mem.c: the allocator behind hpccg_mem.h.
 */
#include "hpccg_mem.h"

#include <stdlib.h>
#include <string.h>

#ifdef NODUS_HPCCG_CUDA
#include "hpccg_cuda.h"
#endif

static int use_managed;

void hpccg_mem_use_managed(int managed)
{
    use_managed = managed;
}

void *hpccg_mem_alloc(size_t bytes)
{
    size_t rounded = (bytes + 4095) / 4096 * 4096;
    if (rounded == 0) rounded = 4096;
#ifdef NODUS_HPCCG_CUDA
    if (use_managed) return hpccg_cuda_alloc(rounded);
#endif
    void *p = aligned_alloc(4096, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

void hpccg_mem_free(void *p)
{
    if (!p) return;
#ifdef NODUS_HPCCG_CUDA
    if (use_managed) {
        hpccg_cuda_free(p);
        return;
    }
#endif
    free(p);
}
