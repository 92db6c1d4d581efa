/* SPDX-License-Identifier: MIT */
/*
 * Staying connected: `watch` prints events until SIGINT/SIGTERM, and
 * --hold keeps a buffer held the same way.  Signals arrive on a signalfd
 * polled beside the broker connection, so nothing runs in a handler.
 */
#include "ctl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

int loop_signalfd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* Dispatches broker input until a signal; returns the exit code. */
static int loop_run(struct ctl *ctl)
{
	struct pollfd pfd[2] = {
		{ .fd = loop_signalfd(), .events = POLLIN },
		{ .fd = dbb_client_get_fd(ctl->client), .events = POLLIN },
	};
	int ret;

	if (pfd[0].fd < 0)
		return ctl_fail(ctl, pfd[0].fd, "signalfd");
	/* Events that came with earlier replies are already queued. */
	ret = dbb_client_dispatch(ctl->client);
	while (ret >= 0) {
		fflush(stdout);
		if (poll(pfd, 2, -1) < 0) {
			ret = errno == EINTR ? 0 : -errno;
			continue;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents)
			ret = dbb_client_dispatch(ctl->client);
	}
	close(pfd[0].fd);
	fflush(stdout);
	return ret < 0 ? ctl_fail(ctl, ret, "connection") : CTL_EXIT_OK;
}

static void loop_print_event(struct dbb_client *client, enum dbb_event_type type,
			     const struct dbb_buffer_info *info, void *userdata)
{
	struct ctl *ctl = userdata;
	json_object *o;

	if (!ctl->json) {
		print_event(type, info);
		return;
	}
	o = jsonout_event(type, info);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void loop_print_pool_event(struct dbb_client *client,
				  enum dbb_event_type type,
				  const struct dbb_pool_info *info, void *userdata)
{
	struct ctl *ctl = userdata;
	json_object *o;

	if (!ctl->json) {
		print_pool_event(type, info);
		return;
	}
	o = jsonout_pool_event(type, info);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static const struct dbb_event_listener loop_listener = {
	.struct_size = sizeof(loop_listener),
	.buffer_event = loop_print_event,
	.pool_event = loop_print_pool_event,
};

int loop_watch(struct ctl *ctl, int argc, char **argv)
{
	int ret = ctl_connect(ctl);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_client_set_listener(ctl->client, &loop_listener, ctl);
	if (ret == 0)
		ret = dbb_watch(ctl->client, true);
	if (ret < 0)
		return ctl_fail(ctl, ret, "watch");
	return loop_run(ctl);
}

int loop_hold(struct ctl *ctl)
{
	return loop_run(ctl);
}
