/* SPDX-License-Identifier: MIT */
/*
 * A connected client's pidfd: the handle the broker gives the kernel when
 * it allocates for that client, so that the client's memory cgroup is
 * charged instead of the broker's (the kmod backend's
 * DMABUF_SG_ALLOC_CHARGE_PIDFD).  Taken once per connection, at accept.
 */
#ifndef DBB_PIDFD_H
#define DBB_PIDFD_H

#include <sys/types.h>

/*
 * Opens a pidfd (O_CLOEXEC, owned by the caller) of the process at the
 * other end of the connected Unix socket @sock, whose SO_PEERCRED pid is
 * @pid.  SO_PEERPIDFD (Linux 6.5+) names exactly the process that
 * connected; older kernels get pidfd_open(@pid), checked as far as can be
 * (see pidfd.c).  Returns the fd, or a negative errno: -ESRCH when the
 * client is gone (or @pid is 0: the peer is outside our pid namespace),
 * -ENOSYS without pidfds, or what the calls failed with.
 */
int pidfd_of_peer(int sock, pid_t pid);

#endif
