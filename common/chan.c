/* SPDX-License-Identifier: MIT */
#include "chan.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for one fd more than a message may carry, so that an excess is
 * seen (MSG_CTRUNC or a count of two), not guessed. */
#define CHAN_CMSG_FDS 2u

union chan_ctrl {
	char buf[CMSG_SPACE(sizeof(int) * CHAN_CMSG_FDS)];
	struct cmsghdr align;
};

int chan_send(int sock, const struct dbb_chan_msg *msg, int fence_fd)
{
	union chan_ctrl ctrl;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fence_fd >= 0) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fence_fd, sizeof(int));
	}
	for (;;) {
		if (sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* Takes the fds of one received datagram: at most one SCM_RIGHTS fd is
 * kept in @rx, anything else closed and the datagram marked malformed. */
static void chan_take_fds(struct msghdr *mh, struct chan_rx *rx)
{
	rx->fence_fd = -1;
	rx->malformed = (mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			rx->malformed = 1;
			continue;
		}
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (rx->fence_fd < 0 && !rx->malformed) {
				rx->fence_fd = fd;
				continue;
			}
			close(fd);
			rx->malformed = 1;
		}
	}
	if (rx->malformed && rx->fence_fd >= 0) {
		close(rx->fence_fd);
		rx->fence_fd = -1;
	}
}

int chan_recv_batch(int sock, struct chan_rx *rx, size_t max)
{
	union chan_ctrl ctrl[CHAN_BATCH];
	struct mmsghdr mm[CHAN_BATCH];
	/* One byte more than a message: a longer datagram shows as longer
	 * (or MSG_TRUNC), not as a valid one cut short. */
	struct iovec iov[CHAN_BATCH][2];
	uint8_t spill[CHAN_BATCH];
	int n;

	if (max > CHAN_BATCH)
		max = CHAN_BATCH;
	for (size_t i = 0; i < max; i++) {
		iov[i][0] = (struct iovec){ &rx[i].msg, sizeof(rx[i].msg) };
		iov[i][1] = (struct iovec){ &spill[i], 1 };
		mm[i].msg_hdr = (struct msghdr){
			.msg_iov = iov[i],
			.msg_iovlen = 2,
			.msg_control = ctrl[i].buf,
			.msg_controllen = sizeof(ctrl[i].buf),
		};
		mm[i].msg_len = 0;
	}
	do {
		n = recvmmsg(sock, mm, (unsigned)max,
			     MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		chan_take_fds(&mm[i].msg_hdr, &rx[i]);
		rx[i].len = mm[i].msg_len;
		if (rx[i].len == 0) {
			/* The end: what came before it is still returned. */
			if (rx[i].fence_fd >= 0)
				close(rx[i].fence_fd);
			return i;
		}
	}
	return n;
}

int chan_check(const struct chan_rx *rx, enum dbb_chan_type type,
	       uint32_t count, const char **why)
{
	const struct dbb_chan_msg *m = &rx->msg;

	if (rx->malformed)
		*why = "a datagram truncated or with unexpected ancillary data";
	else if (rx->len != sizeof(*m))
		*why = "a message of the wrong size";
	else if (m->magic != DBB_CHAN_MAGIC)
		*why = "a message with a bad magic";
	else if (m->version != DBB_CHAN_VERSION)
		*why = "a message of another version";
	else if (m->type != type)
		*why = "a message of an unexpected type";
	else if (m->index >= count)
		*why = "a buffer index out of range";
	else if (m->flags & ~DBB_CHAN_FLAGS_ALL || m->reserved)
		*why = "unknown flags or a non-zero reserved field";
	else if (type == DBB_CHAN_BYE && (m->index || m->flags))
		*why = "a bye with an index or flags";
	else if (type == DBB_CHAN_FRAME && m->flags & DBB_CHAN_TIMED_OUT)
		*why = "a frame flagged as timed out";
	else if (!(m->flags & DBB_CHAN_HAS_FENCE) != (rx->fence_fd < 0))
		*why = "a fence fd that does not match the HAS_FENCE flag";
	else
		return 0;
	return -EPROTO;
}
