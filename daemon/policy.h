/* SPDX-License-Identifier: MIT */
/*
 * Who may do what with a buffer: the rules only, no I/O except reading a
 * peer's credentials once at connect time.
 */
#ifndef DBB_POLICY_H
#define DBB_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Supplementary groups remembered per peer; more are ignored (logged). */
#define POLICY_MAX_GROUPS 64

/* The most grants one buffer carries. */
#define POLICY_MAX_GRANTS 32

enum policy_subject {
	POLICY_SUBJECT_UID = 0,
	POLICY_SUBJECT_GID = 1,
	POLICY_SUBJECT_EVERYONE = 2,
};

enum policy_access {
	POLICY_ACCESS_NONE = 0,
	POLICY_ACCESS_READ = 1,
	POLICY_ACCESS_READ_WRITE = 2,
};

/* One grant on a buffer: 8 bytes, kept in a small array per buffer. */
struct policy_grant {
	uint32_t id;		/* uid or gid; 0 for everyone */
	uint8_t subject;	/* enum policy_subject */
	uint8_t access;		/* enum policy_access, never NONE when stored */
};

/* The credentials of a connected peer (SO_PEERCRED + its groups). */
struct policy_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	uint32_t ngroups;
	gid_t groups[POLICY_MAX_GROUPS];
};

/*
 * Fills @peer from the connected Unix socket @fd: SO_PEERCRED, then the
 * supplementary groups from SO_PEERGROUPS (as they were at connect time),
 * falling back to /proc/<pid>/status.  Returns 0 or a negative errno (only
 * when SO_PEERCRED itself fails; missing groups leave ngroups at 0).
 */
int policy_peer_from_socket(int fd, struct policy_peer *peer);

/* Whether @peer is in group @gid (primary or supplementary). */
bool policy_peer_in_group(const struct policy_peer *peer, gid_t gid);

/*
 * May @peer import a buffer owned by @owner_uid carrying @grants?
 * The owner and root may always import read-write; others need a grant
 * matching their uid, one of their groups, or everyone, and a READ grant
 * allows read-only imports only.  Returns 0 or -EACCES.
 */
int policy_may_import(const struct policy_peer *peer, uid_t owner_uid,
		      const struct policy_grant *grants, size_t ngrants,
		      bool read_only);

/*
 * May @peer know that a buffer owned by @owner_uid carrying @grants
 * exists (List, Info, Watch)?  Root, the owner, and whoever a grant of
 * any access names: those who may import it in some way.
 */
bool policy_may_see(const struct policy_peer *peer, uid_t owner_uid,
		    const struct policy_grant *grants, size_t ngrants);

/*
 * May @peer destroy, publish or grant on a buffer owned by @owner_uid?
 * Owner and root only.  Returns 0 or -EPERM.
 */
int policy_may_manage(const struct policy_peer *peer, uid_t owner_uid);

/*
 * Applies @g to the grant array *@grants of *@n entries: replaces the
 * entry for the same subject, appends a new one, or removes it when
 * g->access is POLICY_ACCESS_NONE.  The array is reallocated as needed
 * (freed and set to NULL when it becomes empty).  Returns 0, -EINVAL for
 * an unknown subject or access, -E2BIG beyond POLICY_MAX_GRANTS, -ENOMEM.
 * On error nothing changed.
 */
int policy_grants_apply(struct policy_grant **grants, uint8_t *n,
			const struct policy_grant *g);

#endif
