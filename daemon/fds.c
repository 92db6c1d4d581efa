/* SPDX-License-Identifier: MIT */
#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void fds_init(struct fds_set *s)
{
	s->n = 0;
	s->borrowed = 0;
}

int fds_add(struct fds_set *s, int fd, bool borrowed)
{
	if (s->n == DBB_WIRE_MAX_FDS) {
		if (!borrowed)
			close(fd);
		return -E2BIG;
	}
	if (borrowed)
		s->borrowed |= UINT64_C(1) << s->n;
	s->fd[s->n++] = fd;
	return 0;
}

int fds_own(struct fds_set *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		int fd;

		if (!(s->borrowed & (UINT64_C(1) << i)))
			continue;
		fd = fcntl(s->fd[i], F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		s->fd[i] = fd;
		s->borrowed &= ~(UINT64_C(1) << i);
	}
	return 0;
}

void fds_drop(struct fds_set *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++) {
		if (!(s->borrowed & (UINT64_C(1) << i)))
			close(s->fd[i]);
	}
	fds_init(s);
}

void fds_move(struct fds_set *to, struct fds_set *from)
{
	*to = *from;
	fds_init(from);
}
