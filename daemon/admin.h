/*
 * Who is an administrator: root, the daemon's own user (a per-user daemon belongs to its user,
 * who could signal it anyway), or a member of the group daemon.admin_group. Administrators may
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
    uid_t owner; /* the daemon's effective uid */
} admin_group_t;

/*
 * Resolves `name` ("" = no group) for a daemon running as `owner`. Returns 0, or NODUS_EINVAL
 * when there is no such group.
 */
int admin_group_resolve(const char *name, uid_t owner, admin_group_t *out);
/* Is the peer (uid, primary gid) root, the owner, or in the admin group (any of its groups)? */
bool admin_peer_allowed(const admin_group_t *g, uid_t uid, gid_t gid);

#endif
