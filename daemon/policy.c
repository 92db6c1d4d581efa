/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Reads "Groups:" from /proc/<pid>/status; best effort. */
static void policy_groups_from_proc(struct policy_peer *peer)
{
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)peer->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		while (peer->ngroups < POLICY_MAX_GROUPS) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			peer->groups[peer->ngroups++] = (gid_t)g;
			p = end;
		}
		break;
	}
	fclose(f);
}

int policy_peer_from_socket(int fd, struct policy_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[POLICY_MAX_GROUPS];

	memset(peer, 0, sizeof(*peer));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->pid = cred.pid;

	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		peer->ngroups = len / sizeof(gid_t);
		memcpy(peer->groups, groups, len);
	} else {
		/* ERANGE (more than we keep) or an old kernel: ask /proc. */
		policy_groups_from_proc(peer);
	}
	return 0;
}

bool policy_peer_in_group(const struct policy_peer *peer, gid_t gid)
{
	if (peer->gid == gid)
		return true;
	for (uint32_t i = 0; i < peer->ngroups; i++) {
		if (peer->groups[i] == gid)
			return true;
	}
	return false;
}

static bool policy_grant_matches(const struct policy_peer *peer,
				 const struct policy_grant *g)
{
	switch (g->subject) {
	case POLICY_SUBJECT_UID:
		return peer->uid == g->id;
	case POLICY_SUBJECT_GID:
		return policy_peer_in_group(peer, g->id);
	case POLICY_SUBJECT_EVERYONE:
		return true;
	default:
		return false;
	}
}

int policy_may_import(const struct policy_peer *peer, uid_t owner_uid,
		      const struct policy_grant *grants, size_t ngrants,
		      bool read_only)
{
	if (peer->uid == 0 || peer->uid == owner_uid)
		return 0;
	for (size_t i = 0; i < ngrants; i++) {
		const struct policy_grant *g = &grants[i];

		if (!policy_grant_matches(peer, g))
			continue;
		if (g->access == POLICY_ACCESS_READ_WRITE)
			return 0;
		if (g->access == POLICY_ACCESS_READ && read_only)
			return 0;
	}
	return -EACCES;
}

bool policy_may_see(const struct policy_peer *peer, uid_t owner_uid,
		    const struct policy_grant *grants, size_t ngrants)
{
	if (peer->uid == 0 || peer->uid == owner_uid)
		return true;
	for (size_t i = 0; i < ngrants; i++) {
		if (policy_grant_matches(peer, &grants[i]))
			return true;
	}
	return false;
}

int policy_may_manage(const struct policy_peer *peer, uid_t owner_uid)
{
	if (peer->uid == 0 || peer->uid == owner_uid)
		return 0;
	return -EPERM;
}

static bool policy_same_subject(const struct policy_grant *a,
				const struct policy_grant *b)
{
	if (a->subject != b->subject)
		return false;
	return a->subject == POLICY_SUBJECT_EVERYONE || a->id == b->id;
}

/* Removes entry @i of the array; frees it when it becomes empty. */
static void policy_grants_remove(struct policy_grant **grants, uint8_t *n,
				 size_t i)
{
	memmove(&(*grants)[i], &(*grants)[i + 1],
		(*n - i - 1) * sizeof(**grants));
	if (--*n == 0) {
		free(*grants);
		*grants = NULL;
	}
}

int policy_grants_apply(struct policy_grant **grants, uint8_t *n,
			const struct policy_grant *g)
{
	struct policy_grant *arr;

	if (g->subject > POLICY_SUBJECT_EVERYONE ||
	    g->access > POLICY_ACCESS_READ_WRITE)
		return -EINVAL;
	for (size_t i = 0; i < *n; i++) {
		if (!policy_same_subject(&(*grants)[i], g))
			continue;
		if (g->access == POLICY_ACCESS_NONE)
			policy_grants_remove(grants, n, i);
		else
			(*grants)[i].access = g->access;
		return 0;
	}
	if (g->access == POLICY_ACCESS_NONE)
		return 0;
	if (*n >= POLICY_MAX_GRANTS)
		return -E2BIG;
	arr = realloc(*grants, (*n + 1u) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	arr[*n] = *g;
	if (g->subject == POLICY_SUBJECT_EVERYONE)
		arr[*n].id = 0;
	*grants = arr;
	(*n)++;
	return 0;
}
