/*
 * CPU lists in the kernel's format ("0-3,6,8-9"), as nodusd --cores, the config and nodusctl
 * use them. Pure functions.
 */
#ifndef NODUS_PROTO_CPULIST_H
#define NODUS_PROTO_CPULIST_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses `s` into ascending, de-duplicated CPU ids in out[0..*n). A bare number N with
 * `count_ok` set means "N cores" and yields no ids but *count = N (so "--cores 4" works);
 * otherwise *count = 0. Returns 0, NODUS_EINVAL on bad syntax, NODUS_ELIMIT past `max` ids.
 */
int cpulist_parse(const char *s, int count_ok, uint32_t *out, size_t max, size_t *n,
                  unsigned *count);
/* Writes ids as a compact list ("0-3,6") into buf; returns the length it needed. */
size_t cpulist_format(const uint32_t *ids, size_t n, char *buf, size_t bufsize);

#endif
