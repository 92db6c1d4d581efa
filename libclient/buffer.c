/* SPDX-License-Identifier: MIT */
/*
 * Buffer handles: an fd with its description, the hold it stands for, CPU
 * mappings, and the DMA_BUF_IOCTL_SYNC bracket around CPU access.
 *
 * The broker keeps one hold per connection and buffer however many fds it
 * handed out, so the client counts its handles of each buffer and releases
 * the hold with the last.
 */
#include "client-private.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>

struct dbb_buffer {
	struct dbb_client *client;	/* a reference; NULL: a pool's member */
	int fd;
	struct dbb_buffer_info *info;
};

int buffer_hold(struct dbb_client *client, uint64_t id)
{
	struct buffer_holds *h;

	HASH_FIND(hh, client->holds, &id, sizeof(id), h);
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		h->id = id;
		HASH_ADD(hh, client->holds, id, sizeof(h->id), h);
	}
	h->handles++;
	client->refs++;		/* under the lock, as connection_unref() */
	return 0;
}

int buffer_new(struct dbb_client *client, int fd,
	       struct dbb_buffer_info *info, struct dbb_buffer **out)
{
	struct dbb_buffer *buffer = calloc(1, sizeof(*buffer));

	if (!buffer)
		return -ENOMEM;
	if (buffer_hold(client, info->id) < 0) {
		free(buffer);
		return -ENOMEM;
	}
	buffer->client = client;
	buffer->fd = fd;
	buffer->info = info;
	*out = buffer;
	return 0;
}

struct dbb_buffer *buffer_new_member(int fd, struct dbb_buffer_info *info)
{
	struct dbb_buffer *buffer = calloc(1, sizeof(*buffer));

	if (buffer) {
		buffer->fd = fd;
		buffer->info = info;
	}
	return buffer;
}

void buffer_free_member(struct dbb_buffer *buffer)
{
	if (!buffer)
		return;
	if (buffer->fd >= 0)
		close(buffer->fd);
	free(buffer->info);
	free(buffer);
}

void buffer_holds_clear(struct dbb_client *client)
{
	struct buffer_holds *h, *tmp;

	HASH_ITER(hh, client->holds, h, tmp) {
		HASH_DEL(client->holds, h);
		free(h);
	}
	free(client->unreleased);
	client->unreleased = NULL;
	client->n_unreleased = 0;
}

bool buffer_held(const struct dbb_client *client, uint64_t id)
{
	struct buffer_holds *h;

	HASH_FIND(hh, client->holds, &id, sizeof(id), h);
	return h != NULL;
}

void buffer_release(struct dbb_client *client, uint64_t id)
{
	DmabufBroker__V1__ReleaseRequest body = DMABUF_BROKER__V1__RELEASE_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	uint64_t *more;
	int ret;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_RELEASE;
	req.release = &body;
	body.id = id;
	ret = connection_send_only(client, &req);
	if (ret != -EPIPE && ret != -ECONNRESET)
		return;
	/* Otherwise nobody to tell of a failure: the hold then lasts until
	 * the session ends, as it did before the handle was freed. */
	more = reallocarray(client->unreleased, client->n_unreleased + 1,
			    sizeof(*more));
	if (!more)
		return;
	client->unreleased = more;
	client->unreleased[client->n_unreleased++] = id;
}

void buffer_release_unreleased(struct dbb_client *client, bool resumed)
{
	uint64_t *ids = client->unreleased;
	size_t n = client->n_unreleased;

	client->unreleased = NULL;
	client->n_unreleased = 0;
	for (size_t i = 0; resumed && i < n; i++)
		if (!buffer_held(client, ids[i]))
			buffer_release(client, ids[i]);
	free(ids);
}

/* Counts a handle of buffer @id gone; releases the hold with the last. */
static void buffer_unhold(struct dbb_client *client, uint64_t id)
{
	struct buffer_holds *h;

	HASH_FIND(hh, client->holds, &id, sizeof(id), h);
	if (!h || --h->handles)
		return;
	HASH_DEL(client->holds, h);
	free(h);
	buffer_release(client, id);
}

void buffer_drop(struct dbb_client *client, uint64_t id)
{
	connection_lock_always(client);
	if (!client->destroyed)
		buffer_unhold(client, id);
	connection_unlock(client);
	connection_unref(client);
}

void dbb_buffer_free(struct dbb_buffer *buffer)
{
	if (!buffer)
		return;
	/* A pool's member is the pool's to free. */
	if (!buffer->client)
		return;
	buffer_drop(buffer->client, buffer->info->id);
	if (buffer->fd >= 0)
		close(buffer->fd);
	free(buffer->info);
	free(buffer);
}

int dbb_buffer_get_fd(const struct dbb_buffer *buffer)
{
	return buffer->fd;
}

int dbb_buffer_take_fd(struct dbb_buffer *buffer)
{
	int fd = buffer->fd;

	buffer->fd = -1;
	return fd >= 0 ? fd : -EBADF;
}

const struct dbb_buffer_info *dbb_buffer_get_info(const struct dbb_buffer *buffer)
{
	return buffer->info;
}

/* The mapping length, or a negative errno. */
static int buffer_map_size(const struct dbb_buffer *buffer, size_t *len)
{
	if (buffer->info->size == 0)
		return -EINVAL;
	if (buffer->info->size > SIZE_MAX)
		return -EOVERFLOW;
	*len = (size_t)buffer->info->size;
	return 0;
}

int dbb_buffer_map(struct dbb_buffer *buffer, bool writable, void **addr)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	size_t len;
	void *p;
	int ret;

	if (!buffer || !addr)
		return -EINVAL;
	if (buffer->fd < 0)
		return -EBADF;
	ret = buffer_map_size(buffer, &len);
	if (ret < 0)
		return ret;
	p = mmap(NULL, len, prot, MAP_SHARED, buffer->fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

int dbb_buffer_unmap(struct dbb_buffer *buffer, void *addr)
{
	size_t len;
	int ret;

	if (!buffer || !addr)
		return -EINVAL;
	ret = buffer_map_size(buffer, &len);
	if (ret < 0)
		return ret;
	return munmap(addr, len) < 0 ? -errno : 0;
}

static int buffer_sync(struct dbb_buffer *buffer, unsigned flags,
		       uint64_t phase)
{
	struct dma_buf_sync sync = { .flags = phase };

	if (!buffer || !flags || (flags & ~(DBB_SYNC_READ | DBB_SYNC_WRITE)))
		return -EINVAL;
	if (!buffer->info->is_dmabuf)
		return 0;	/* memfd: coherent, nothing to do */
	if (buffer->fd < 0)
		return -EBADF;
	if (flags & DBB_SYNC_READ)
		sync.flags |= DMA_BUF_SYNC_READ;
	if (flags & DBB_SYNC_WRITE)
		sync.flags |= DMA_BUF_SYNC_WRITE;
	while (ioctl(buffer->fd, DMA_BUF_IOCTL_SYNC, &sync) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	return 0;
}

int dbb_buffer_begin_cpu_access(struct dbb_buffer *buffer, unsigned flags)
{
	return buffer_sync(buffer, flags, DMA_BUF_SYNC_START);
}

int dbb_buffer_end_cpu_access(struct dbb_buffer *buffer, unsigned flags)
{
	return buffer_sync(buffer, flags, DMA_BUF_SYNC_END);
}
