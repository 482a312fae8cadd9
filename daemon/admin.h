/*
 * Who is an administrator: root, or a member of the group daemon.admin_group. Administrators may
 * drain the daemon, kill sessions and record traces; everyone may look (status).
 *
 * The group name is resolved to a gid at start-up and on reload. A peer is checked when it asks
 * for an admin operation, by its SO_PEERCRED uid and gid and the supplementary groups of that
 * uid (getgrouplist): a group change takes effect at the user's next request, as for sudo. These
 * are NSS lookups and may block briefly; admin requests are rare. Loop thread only.
 */
#ifndef NODUS_ADMIN_H
#define NODUS_ADMIN_H

#include <stdbool.h>
#include <sys/types.h>

/* The admin group as resolved: `valid` is false when the name is "" or names no group. */
typedef struct admin_group {
    bool valid;
    gid_t gid;
} admin_group_t;

/* Resolves `name` ("" = root only). Returns 0, or NODUS_EINVAL when there is no such group. */
int admin_group_resolve(const char *name, admin_group_t *out);
/* Is the peer (uid, primary gid) root or in the admin group, primary or supplementary? */
bool admin_peer_allowed(const admin_group_t *g, uid_t uid, gid_t gid);

#endif
