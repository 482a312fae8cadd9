/*
 * Growable arrays (see array.h).
 */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

#include "nodus.h"

int array_reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    if (elem == 0) return NODUS_EINVAL;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return NODUS_ENOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, ncap * elem);
    if (!p) return NODUS_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}
