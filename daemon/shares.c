/* SPDX-License-Identifier: MIT */
#include "shares.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include <uthash.h>

#include "peer.h"

/* What one uid has; freed when it has nothing. */
struct shares_uid {
	UT_hash_handle hh;
	uid_t uid;
	struct shares_reserved r;
	uint32_t clients;
	struct peer_budget queued;	/* its connections' output queues */
};

struct shares {
	uint64_t max_total;
	uint64_t max_queued_bytes;
	uint32_t max_queued_fds;
	uint64_t reserved;		/* bytes, over every uid */
	struct shares_uid *uids;
};

/*
 * MemTotal of @root/proc/meminfo, in bytes; 0 when unreadable.  The
 * service hides /proc's files but the processes' (ProcSubset=pid): the
 * real root then asks sysinfo(2), which tells the same.
 */
static uint64_t shares_mem_total(const char *root)
{
	char path[PATH_MAX], line[256];
	struct sysinfo si;
	uint64_t kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/meminfo", root);
	f = fopen(path, "re");
	if (!f && !*root && sysinfo(&si) == 0)
		return (uint64_t)si.totalram * si.mem_unit;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kib) == 1)
			break;
		kib = 0;
	}
	fclose(f);
	return kib <= UINT64_MAX / 1024 ? kib * 1024 : 0;
}

/* A cgroup memory limit file: its bytes, or 0 for "max", a missing file
 * (the root cgroup has none) or anything unreadable. */
static uint64_t shares_cgroup_file(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%" SCNu64, &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* The broker's cgroup v2 path ("/system.slice/x.service"), from the
 * "0::" line of @root/proc/self/cgroup; false when there is none. */
static bool shares_own_cgroup(const char *root, char *out, size_t outlen)
{
	char path[PATH_MAX], line[PATH_MAX];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		found = (size_t)snprintf(out, outlen, "%s", line + 3) < outlen;
	}
	fclose(f);
	return found;
}

int shares_default_total(const char *root, uint64_t *out, char *why,
			 size_t whylen)
{
	uint64_t ram = shares_mem_total(root), best = ram;
	char cg[PATH_MAX], dir[PATH_MAX + 32], from[PATH_MAX + 48];
	static const char *const files[] = { "memory.max", "memory.high" };
	size_t base;

	if (!ram)
		return -ENOENT;
	snprintf(from, sizeof(from), "RAM");
	if (shares_own_cgroup(root, cg, sizeof(cg))) {
		/* From the broker's own cgroup up to the root: any of them
		 * may be the one that sets the limit. */
		base = (size_t)snprintf(dir, sizeof(dir), "%s/sys/fs/cgroup",
					root);
		if (base >= sizeof(dir) ||
		    (size_t)snprintf(dir + base, sizeof(dir) - base, "%s",
				     cg) >= sizeof(dir) - base)
			goto out;
		for (char *slash = dir; slash; ) {
			for (size_t i = 0; i < 2; i++) {
				uint64_t v = shares_cgroup_file(dir, files[i]);

				if (v && v < best) {
					best = v;
					snprintf(from, sizeof(from), "%s of "
						 "cgroup %s", files[i],
						 dir[base] ? dir + base : "/");
				}
			}
			slash = strrchr(dir + base, '/');
			if (slash)
				*slash = '\0';
		}
	}
out:
	*out = best / 2 ? best / 2 : 1;
	snprintf(why, whylen, "half of the %s (%" PRIu64 " MiB)", from,
		 best >> 20);
	return 0;
}

struct shares *shares_create(uint64_t max_total_bytes,
			     uint64_t max_queued_bytes,
			     uint32_t max_queued_fds)
{
	struct shares *sh = calloc(1, sizeof(*sh));

	if (!sh)
		return NULL;
	sh->max_total = max_total_bytes;
	sh->max_queued_bytes = max_queued_bytes;
	sh->max_queued_fds = max_queued_fds;
	return sh;
}

void shares_destroy(struct shares *sh)
{
	struct shares_uid *u, *tmp;

	if (!sh)
		return;
	HASH_ITER(hh, sh->uids, u, tmp) {
		HASH_DEL(sh->uids, u);
		free(u);
	}
	free(sh);
}

uint64_t shares_max_total(const struct shares *sh)
{
	return sh->max_total;
}

uint64_t shares_reserved_total(const struct shares *sh)
{
	return sh->reserved;
}

struct shares_reserved shares_reserved_of(const struct shares *sh, uid_t uid)
{
	struct shares_uid *u;

	HASH_FIND(hh, sh->uids, &uid, sizeof(uid), u);
	return u ? u->r : (struct shares_reserved){ 0 };
}

/* The record of @uid, created if missing; NULL on ENOMEM. */
static struct shares_uid *shares_uid_get(struct shares *sh, uid_t uid)
{
	struct shares_uid *u;

	HASH_FIND(hh, sh->uids, &uid, sizeof(uid), u);
	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->queued.max_bytes = sh->max_queued_bytes;
	u->queued.max_fds = sh->max_queued_fds;
	HASH_ADD(hh, sh->uids, uid, sizeof(u->uid), u);
	return u;
}

/* Frees @u once it holds nothing. */
static void shares_uid_put(struct shares *sh, struct shares_uid *u)
{
	if (u->r.buffers || u->clients)
		return;
	HASH_DEL(sh->uids, u);
	free(u);
}

int shares_reserve(struct shares *sh, uid_t uid, uint64_t bytes)
{
	struct shares_uid *u = shares_uid_get(sh, uid);

	if (!u)
		return -ENOMEM;
	u->r.bytes += bytes;
	u->r.buffers++;
	sh->reserved += bytes;
	return 0;
}

void shares_release(struct shares *sh, uid_t uid, uint64_t bytes)
{
	struct shares_uid *u;

	HASH_FIND(hh, sh->uids, &uid, sizeof(uid), u);
	if (!u || !u->r.buffers)
		return;
	u->r.bytes -= bytes;
	u->r.buffers--;
	sh->reserved -= bytes;
	shares_uid_put(sh, u);
}

int shares_client_add(struct shares *sh, uid_t uid)
{
	struct shares_uid *u = shares_uid_get(sh, uid);

	if (!u)
		return -ENOMEM;
	u->clients++;
	return 0;
}

void shares_client_remove(struct shares *sh, uid_t uid)
{
	struct shares_uid *u;

	HASH_FIND(hh, sh->uids, &uid, sizeof(uid), u);
	if (!u || !u->clients)
		return;
	u->clients--;
	shares_uid_put(sh, u);
}

struct peer_budget *shares_queue_budget(struct shares *sh, uid_t uid)
{
	struct shares_uid *u;

	HASH_FIND(hh, sh->uids, &uid, sizeof(uid), u);
	return u && u->clients ? &u->queued : NULL;
}

uint32_t shares_clients_of(const struct shares *sh, uid_t uid)
{
	struct shares_uid *u;

	HASH_FIND(hh, sh->uids, &uid, sizeof(uid), u);
	return u ? u->clients : 0;
}

int shares_check_total(const struct shares *sh, uint64_t charged,
		       uint64_t size)
{
	uint64_t used = charged + sh->reserved;

	if (used < charged || used > sh->max_total ||
	    size > sh->max_total - used)
		return -ENOSPC;
	return 0;
}
