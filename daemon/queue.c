/* SPDX-License-Identifier: MIT */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The counters page: a memfd the producer maps read-write and the broker
 * read-only.  Sealed so that the producer can neither shrink it under the
 * broker's mapping (SIGBUS) nor grow it without bound.
 */
static int queue_stats_page(int *fd_out,
			    const struct dbb_queue_stats_page **map_out)
{
	struct dbb_queue_stats_page head = {
		.magic = DBB_QUEUE_STATS_MAGIC,
		.version = DBB_QUEUE_STATS_VERSION,
		.max_consumers = DBB_QUEUE_MAX_CONSUMERS,
	};
	void *map;
	int fd, ret;

	fd = memfd_create("dbb-queue-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, DBB_QUEUE_STATS_SIZE) < 0 ||
	    pwrite(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
		  F_SEAL_SEAL) < 0)
		goto err_close_fd;
	map = mmap(NULL, DBB_QUEUE_STATS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto err_close_fd;
	*fd_out = fd;
	*map_out = map;
	return 0;

err_close_fd:
	ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

int queue_create(struct pool *pool, uint32_t pool_count,
		 struct client *producer, const struct queue_params *params,
		 struct queue **out)
{
	struct queue *q;
	int ret;

	if ((unsigned)params->policy > QUEUE_POLICY_LATEST ||
	    params->max_in_flight > pool_count ||
	    params->release_timeout_ms > QUEUE_MAX_RELEASE_TIMEOUT_MS)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	ret = queue_stats_page(&q->stats_fd, &q->stats);
	if (ret < 0) {
		free(q);
		return ret;
	}
	q->pool = pool;
	q->producer = producer;
	q->params = *params;
	if (!q->params.fence_timeout_ms)
		q->params.fence_timeout_ms = QUEUE_DEFAULT_FENCE_TIMEOUT_MS;
	*out = q;
	return 0;
}

void queue_destroy(struct queue *q)
{
	if (!q)
		return;
	munmap((void *)q->stats, DBB_QUEUE_STATS_SIZE);
	close(q->stats_fd);
	free(q);
}

int queue_slot_take(struct queue *q, struct client *c)
{
	int free_slot = -1;

	for (int i = 0; i < (int)QUEUE_MAX_CONSUMERS; i++) {
		if (q->consumers[i] == c)
			return -EEXIST;
		if (!q->consumers[i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	q->consumers[free_slot] = c;
	q->nconsumers++;
	return free_slot;
}

int queue_slot_of(const struct queue *q, const struct client *c)
{
	for (int i = 0; i < (int)QUEUE_MAX_CONSUMERS; i++) {
		if (q->consumers[i] == c)
			return i;
	}
	return -ENOENT;
}

void queue_slot_put(struct queue *q, int slot)
{
	if (slot < 0 || slot >= (int)QUEUE_MAX_CONSUMERS || !q->consumers[slot])
		return;
	q->consumers[slot] = NULL;
	q->nconsumers--;
}

#define QUEUE_LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void queue_counters(const struct queue *q, int slot,
		    struct queue_counters *out)
{
	const struct dbb_queue_stats_counters *in =
		slot < 0 || slot >= (int)QUEUE_MAX_CONSUMERS ?
		&q->stats->queue : &q->stats->consumer[slot];
	uint64_t sum = QUEUE_LOAD(in->latency_sum_ns);
	uint64_t count = QUEUE_LOAD(in->latency_count);

	*out = (struct queue_counters){
		.posted = QUEUE_LOAD(in->posted),
		.delivered = QUEUE_LOAD(in->delivered),
		.released = QUEUE_LOAD(in->released),
		.dropped = QUEUE_LOAD(in->dropped),
		.in_flight = QUEUE_LOAD(in->in_flight),
		.fence_timeouts = QUEUE_LOAD(in->fence_timeouts),
		.latency_avg_usec = count ? sum / count / 1000u : 0,
		.latency_max_usec = QUEUE_LOAD(in->latency_max_ns) / 1000u,
	};
}

uint64_t queue_cut_off_count(const struct queue *q)
{
	return QUEUE_LOAD(q->stats->consumers_cut_off);
}
