/* SPDX-License-Identifier: MIT */
/*
 * The fds one outgoing frame carries (up to DBB_WIRE_MAX_FDS).  Each is
 * owned (it passes with the frame and is closed when the frame is done or
 * dropped) or borrowed (the registry's own fd: sent as is, dup'd when the
 * frame has to wait in a queue, never closed here).
 */
#ifndef DBB_FDS_H
#define DBB_FDS_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

/* borrowed is a bit mask of the set. */
_Static_assert(DBB_WIRE_MAX_FDS <= 64, "one bit per fd in borrowed");

struct fds_set {
	unsigned n;
	uint64_t borrowed;		/* bit i: fd[i] is borrowed */
	int fd[DBB_WIRE_MAX_FDS];
};

/* An empty set. */
void fds_init(struct fds_set *s);

/* Appends @fd.  Returns 0, or -E2BIG when the set is full (an owned @fd
 * is then closed). */
int fds_add(struct fds_set *s, int fd, bool borrowed);

/* Replaces every borrowed fd by an owned dup, so that the set no longer
 * depends on the registry.  Returns 0 or -errno (the set is unchanged
 * where the dup failed). */
int fds_own(struct fds_set *s);

/* Closes the owned fds and empties the set.  Accepts NULL. */
void fds_drop(struct fds_set *s);

/* Moves @from's fds into @to (empty) and empties @from. */
void fds_move(struct fds_set *to, struct fds_set *from);

#endif
