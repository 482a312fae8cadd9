/*
 * Administrator checks (see admin.h): getgrnam_r for the group, getpwuid_r + getgrouplist for a
 * peer's groups.
 */
#include "admin.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodus.h"

/* Buffer for one getgrnam_r / getpwuid_r answer; grown on ERANGE up to this. */
#define ADMIN_NSS_BUF_MAX (1u << 20)
/* Supplementary groups looked at per user, at most. */
#define ADMIN_MAX_GROUPS 65536

int admin_group_resolve(const char *name, uid_t owner, admin_group_t *out)
{
    out->valid = false;
    out->gid = 0;
    out->owner = owner;
    if (!name || !name[0]) return 0;
    size_t len = 4096;
    for (;;) {
        char *buf = malloc(len);
        if (!buf) return NODUS_ENOMEM;
        struct group gr, *res = NULL;
        int rc = getgrnam_r(name, &gr, buf, len, &res);
        if (rc == 0 && res) {
            out->valid = true;
            out->gid = gr.gr_gid;
        }
        free(buf);
        if (rc == ERANGE && len < ADMIN_NSS_BUF_MAX) {
            len *= 2;
            continue;
        }
        return out->valid ? 0 : NODUS_EINVAL;
    }
}

/* Is `gid` the primary group of user `uid`'s account, or one of its supplementary groups? */
static bool user_in_group(uid_t uid, gid_t gid)
{
    size_t len = 4096;
    char *buf = NULL;
    struct passwd pw, *res = NULL;
    for (;;) {
        buf = malloc(len);
        if (!buf) return false;
        int rc = getpwuid_r(uid, &pw, buf, len, &res);
        if (rc == ERANGE && len < ADMIN_NSS_BUF_MAX) {
            free(buf);
            len *= 2;
            continue;
        }
        break;
    }
    bool found = res && pw.pw_gid == gid;
    if (res && !found) {
        int n = 64;
        gid_t *groups = malloc((size_t)n * sizeof *groups);
        if (groups && getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0 && n > 64 &&
            n <= ADMIN_MAX_GROUPS) {
            gid_t *more = realloc(groups, (size_t)n * sizeof *groups);
            if (more) {
                groups = more;
                if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0) n = 0;
            } else {
                n = 0;
            }
        }
        for (int i = 0; groups && i < n && !found; i++)
            found = groups[i] == gid;
        free(groups);
    }
    free(buf);
    return found;
}

bool admin_peer_allowed(const admin_group_t *g, uid_t uid, gid_t gid)
{
    if (uid == 0 || uid == g->owner) return true;
    if (!g->valid) return false;
    if (gid == g->gid) return true;
    return user_in_group(uid, g->gid);
}
