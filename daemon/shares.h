/* SPDX-License-Identifier: MIT */
/*
 * Limits shared by every uid: the cap on the bytes all buffers together
 * may take, what Allocs still on the worker have reserved of it, and the
 * connections of each uid and what their output queues hold.
 *
 * The pages of buffers the broker allocates (memfd above all) are charged
 * to the broker's own memory cgroup, so the sum of per-uid quotas must not
 * be allowed to outgrow the memory the broker may use: past it the kernel
 * kills the broker and every buffer with it.  The cap is checked before
 * any page is taken, together with the caller's quota; an Alloc handed to
 * the worker reserves its bytes until its buffer is registered or
 * dropped, so that Allocs in flight cannot together pass the cap (or a
 * quota) that each of them alone keeps.
 */
#ifndef DBB_SHARES_H
#define DBB_SHARES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct peer_budget;
struct shares;

/* What a uid has reserved: Allocs on the worker and their bytes. */
struct shares_reserved {
	uint64_t bytes;
	uint64_t buffers;
};

/*
 * The default cap: half of the tightest of the machine's RAM
 * (@root/proc/meminfo, MemTotal; sysinfo(2) where that is hidden) and
 * the memory.max and memory.high of the broker's cgroup and of every
 * cgroup above it (@root/proc/self/cgroup, cgroup v2, under
 * @root/sys/fs/cgroup).  @root is "" but for tests.
 * Writes what the figure comes from to @why.  Returns 0, or a negative
 * errno when not even MemTotal can be read.
 */
int shares_default_total(const char *root, uint64_t *out, char *why,
			 size_t whylen);

/* Returns a table with the cap @max_total_bytes (>= 1) and the bounds
 * of each uid's output queues together (0: none), or NULL. */
struct shares *shares_create(uint64_t max_total_bytes,
			     uint64_t max_queued_bytes,
			     uint32_t max_queued_fds);

/* Frees @sh.  Accepts NULL. */
void shares_destroy(struct shares *sh);

uint64_t shares_max_total(const struct shares *sh);

/* Bytes reserved by all uids together. */
uint64_t shares_reserved_total(const struct shares *sh);

/* What @uid has reserved (zeros when nothing). */
struct shares_reserved shares_reserved_of(const struct shares *sh, uid_t uid);

/* Reserves @bytes for one buffer of @uid.  Returns 0 or -ENOMEM. */
int shares_reserve(struct shares *sh, uid_t uid, uint64_t bytes);

/* Gives back what shares_reserve() took. */
void shares_release(struct shares *sh, uid_t uid, uint64_t bytes);

/* Counts a connection of @uid.  Returns 0 or -ENOMEM. */
int shares_client_add(struct shares *sh, uid_t uid);

/* Forgets what shares_client_add() counted. */
void shares_client_remove(struct shares *sh, uid_t uid);

/* What the output queues of @uid's connections hold and may hold
 * together (peer_set_budget()); NULL unless it has a connection.  Lives
 * until its last connection is removed. */
struct peer_budget *shares_queue_budget(struct shares *sh, uid_t uid);

/* Connections of @uid. */
uint32_t shares_clients_of(const struct shares *sh, uid_t uid);

/*
 * Whether @size more bytes fit under the cap when @charged bytes are
 * charged to uids already (the registry's, lingering buffers included):
 * 0, or -ENOSPC.
 */
int shares_check_total(const struct shares *sh, uint64_t charged,
		       uint64_t size);

#endif
