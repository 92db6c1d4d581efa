// SPDX-License-Identifier: GPL-2.0
/*
 * Two threads race allocate / map / import / INFO / close on shared fds
 * for ten seconds.  Fds are owned by whoever takes them out of a slot, but
 * the other operations use slot fds without owning them, so a map or an
 * import can meet a close of the same buffer in the other thread.  The
 * kernel log must stay clean (the harness checks it) and every counter
 * must come back.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <xf86drm.h>

#include "util.h"

#define RACE_SECONDS 10
#define RACE_SLOTS 8
/* Each thread must have done this many operations for the race to count. */
#define RACE_MIN_OPS 200

struct race {
	atomic_int slots[RACE_SLOTS];
	atomic_bool stop;
	pthread_barrier_t start;
	int drm;
};

struct race_thread {
	struct race *race;
	pthread_t thread;
	unsigned int seed;
	long ops[5];
	long errors;
};

static void race_alloc(struct race_thread *t, unsigned int slot)
{
	size_t size = page_size << (rand_r(&t->seed) % 7);
	int fd = util_alloc(size, 0, "race", NULL), old;

	if (fd < 0) {
		t->errors++;
		return;
	}
	old = atomic_exchange(&t->race->slots[slot], fd);
	if (old >= 0)
		close(old);
}

static void race_map(struct race_thread *t, unsigned int slot)
{
	int fd = atomic_load(&t->race->slots[slot]);
	uint8_t *map;

	if (fd < 0)
		return;
	map = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return;
	util_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	map[0]++;
	util_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	munmap(map, page_size);
}

static void race_close(struct race_thread *t, unsigned int slot)
{
	int fd = atomic_exchange(&t->race->slots[slot], -1);

	if (fd >= 0)
		close(fd);
}

static void race_info(struct race_thread *t, unsigned int slot)
{
	struct dmabuf_sg_info info;

	util_info(atomic_load(&t->race->slots[slot]), &info);
}

static void race_import(struct race_thread *t, unsigned int slot)
{
	int fd = atomic_load(&t->race->slots[slot]);
	uint32_t handle;

	if (t->race->drm < 0 || fd < 0)
		return;
	if (!drmPrimeFDToHandle(t->race->drm, fd, &handle)) {
		struct drm_gem_close gc = { .handle = handle };

		drmIoctl(t->race->drm, DRM_IOCTL_GEM_CLOSE, &gc);
	}
}

static void *race_run(void *arg)
{
	static void (*const ops[])(struct race_thread *, unsigned int) = {
		race_alloc, race_map, race_close, race_info, race_import,
	};
	struct race_thread *t = arg;

	pthread_barrier_wait(&t->race->start);
	while (!atomic_load(&t->race->stop)) {
		unsigned int op = (unsigned int)rand_r(&t->seed) % 5;

		ops[op](t, (unsigned int)rand_r(&t->seed) % RACE_SLOTS);
		t->ops[op]++;
	}
	return NULL;
}

static enum test_result test_race(void)
{
	struct race_thread threads[2];
	struct util_snapshot s;
	struct race race;
	const char *vgem;
	unsigned int i;

	util_snapshot(&s);
	memset(&race, 0, sizeof(race));
	for (i = 0; i < RACE_SLOTS; i++)
		atomic_init(&race.slots[i], -1);
	atomic_init(&race.stop, false);
	vgem = util_find_drm("vgem");
	race.drm = vgem ? open(vgem, O_RDWR | O_CLOEXEC) : -1;
	if (race.drm < 0)
		test_diag("no vgem: racing without PRIME imports");
	expect_int_eq(0, pthread_barrier_init(&race.start, NULL, 3));

	for (i = 0; i < 2; i++) {
		memset(&threads[i], 0, sizeof(threads[i]));
		threads[i].race = &race;
		threads[i].seed = 1234 + i;
		expect_int_eq(0, pthread_create(&threads[i].thread, NULL, race_run, &threads[i]));
	}
	pthread_barrier_wait(&race.start);
	sleep(RACE_SECONDS);
	atomic_store(&race.stop, true);
	for (i = 0; i < 2; i++) {
		long total = 0;
		unsigned int op;

		expect_int_eq(0, pthread_join(threads[i].thread, NULL));
		for (op = 0; op < 5; op++)
			total += threads[i].ops[op];
		test_diag("thread %u: %ld alloc, %ld map, %ld close, %ld info, %ld import, %ld alloc errors",
			  i, threads[i].ops[0], threads[i].ops[1], threads[i].ops[2],
			  threads[i].ops[3], threads[i].ops[4], threads[i].errors);
		expect_int_eq(0, threads[i].errors);
		if (total < RACE_MIN_OPS)
			test_diag("thread %u ran only %ld operations: no race to speak of", i, total);
		expect_true(total >= RACE_MIN_OPS);
	}
	pthread_barrier_destroy(&race.start);
	for (i = 0; i < RACE_SLOTS; i++)
		if (atomic_load(&race.slots[i]) >= 0)
			close(atomic_load(&race.slots[i]));
	if (race.drm >= 0)
		close(race.drm);
	return util_expect_snapshot(&s);
}

const struct test_case test_race_cases[] = {
	{ "race: two threads alloc/map/import/close for 10 s", test_race },
	{ NULL, NULL },
};
