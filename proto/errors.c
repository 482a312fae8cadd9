/*
 * nodus_strerror(): the message side of the NODUS_ERROR_LIST X-macro. Linked into both libnodus
 * (exported) and nodusd.
 */
#include "nodus.h"

NODUS_EXPORT const char *nodus_strerror(int code)
{
    switch (code) {
#define NODUS_X_STR(name, value, msg)                                                              \
    case (value):                                                                                  \
        return (msg);
        NODUS_ERROR_LIST(NODUS_X_STR)
#undef NODUS_X_STR
    default:
        return "unknown nodus error";
    }
}

NODUS_EXPORT const char *nodus_version(void)
{
#define NODUS_STR2(x) #x
#define NODUS_STR(x)  NODUS_STR2(x)
    return NODUS_STR(NODUS_VERSION_MAJOR) "." NODUS_STR(NODUS_VERSION_MINOR) "." NODUS_STR(
        NODUS_VERSION_PATCH);
}
