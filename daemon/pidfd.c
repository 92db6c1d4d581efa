/* SPDX-License-Identifier: MIT */
#include "pidfd.h"

#include <errno.h>
#include <poll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Linux 6.5's value (asm-generic, which x86 and arm64 use); the C
 * library's headers may predate it. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/*
 * Before 6.5 the broker has only the peer's pid number, and a number can
 * name another process once the client has died and the pid was reused.
 * So the pidfd is opened first and the socket checked after: as long as
 * the client's end of the connection is open, some process holds it, and
 * if that is the client (which did not hand its socket on), its pid cannot
 * have been reused, so the pidfd names it.  A client that died before or
 * meanwhile has closed its end (its fds are closed before its pid is
 * freed): the socket reports POLLHUP and the pidfd is refused.  What this
 * cannot see is a client that died after passing its connection to
 * another process; SO_PEERPIDFD has no such gap.
 */
static int pidfd_of_peer_by_number(int sock, pid_t pid)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int pidfd;

	if (pid <= 0)
		return -ESRCH;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return -errno;
	if (poll(&p, 1, 0) < 0 || (p.revents & (POLLHUP | POLLNVAL))) {
		close(pidfd);
		return -ESRCH;
	}
	return pidfd;
}

int pidfd_of_peer(int sock, pid_t pid)
{
	socklen_t len = sizeof(int);
	int pidfd = -1;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		return pidfd;
	/* ENOPROTOOPT: a kernel before 6.5.  ENODATA (no peer pid), and
	 * EINVAL or ESRCH (a pid without a process): the client is gone. */
	if (errno != ENOPROTOOPT)
		return errno == ENODATA || errno == EINVAL ? -ESRCH : -errno;
	return pidfd_of_peer_by_number(sock, pid);
}
