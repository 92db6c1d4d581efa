/* SPDX-License-Identifier: MIT */
#include "release_kit.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

void kit_record(void *ctx, uint64_t cookie, enum release_reason why)
{
	struct kit *f = ctx;

	assert_in_range(cookie, 0, KIT_MAX_COOKIE - 1);
	f->hits[cookie]++;
	if (why == RELEASE_FREED)
		f->nfreed++;
	else
		f->nunknown++;
	f->last_cookie = cookie;
	f->last_why = why;
	if (f->on_report)
		f->on_report(f, cookie);
}

int kit_setup(void **state)
{
	struct kit *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->src = *state;	/* the prestate: a dma-buf source or NULL */
	f->dev = -1;
	f->hits = calloc(KIT_MAX_COOKIE, 1);
	f->base = event_base_new();
	assert_non_null(f->hits);
	assert_non_null(f->base);
	f->t = release_create(f->base, -1, kit_record, f);
	assert_non_null(f->t);
	*state = f;
	return 0;
}

int kit_teardown(void **state)
{
	struct kit *f = *state;

	release_destroy(f->t);
	event_base_free(f->base);
	if (f->dev >= 0)
		close(f->dev);
	free(f->hits);
	free(f);
	return 0;
}

size_t kit_reports(const struct kit *f)
{
	return f->nfreed + f->nunknown;
}

void kit_run_for(struct kit *f, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = ms % 1000 * 1000 };

	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

void kit_settle(struct kit *f, size_t want)
{
	int waited;

	for (waited = 0; kit_reports(f) < want && waited < 20000; waited += 10)
		kit_run_for(f, 10);
	kit_run_for(f, 50);
}

int kit_new_memfd(void)
{
	int fd = memfd_create("release-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(0, ftruncate(fd, KIT_BUF_SIZE));
	return fd;
}

bool kit_fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

int kit_reopen(int fd, int flags)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, flags | O_CLOEXEC);
}

int kit_read_int(const char *path)
{
	FILE *fp = fopen(path, "r");
	int v = -1;

	if (fp) {
		if (fscanf(fp, "%d", &v) != 1)
			v = -1;
		fclose(fp);
	}
	return v;
}

unsigned kit_flood(struct kit *f, const int *live, unsigned nlive,
		   unsigned first_live)
{
	int max = kit_read_int("/proc/sys/fs/inotify/max_queued_events");
	unsigned n, i;

	if (max <= 0 || (unsigned)max + 512 + nlive >= KIT_MAX_COOKIE) {
		printf("# SKIP reason: max_queued_events %d: too many buffers "
		       "to overflow it\n", max);
		skip();
	}
	n = (unsigned)max + 512;
	for (i = 0; i < nlive; i++)
		assert_int_equal(0, release_track(f->t, live[i],
						  first_live + i));
	for (i = 0; i < n; i++) {
		int fd = memfd_create("release-flood", MFD_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(0, release_track(f->t, fd, i));
		close(fd);
	}
	return n;
}
