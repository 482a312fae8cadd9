/*
 * Growable arrays: the one capacity-doubling helper both nodusd and libnodus use.
 */
#ifndef NODUS_PROTO_ARRAY_H
#define NODUS_PROTO_ARRAY_H

#include <stddef.h>

/*
 * Makes *arr (of *cap elements of `elem` bytes, owned by the caller, NULL when *cap is 0) hold at
 * least `need` elements, doubling from 16. Returns 0, or NODUS_ENOMEM with *arr and *cap unchanged
 * (also when the size would overflow).
 */
int array_reserve(void **arr, size_t *cap, size_t need, size_t elem);

#endif
