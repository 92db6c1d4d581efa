/* SPDX-License-Identifier: MIT */
/* The backend table, probing, and helpers the backends share. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "config.h"

/*
 * Every provider, in no particular order (the config gives the probe
 * order).  The one place a backend's name and abilities are written.
 */
#define BACKEND_ROW(n, ops_, ...) \
	{ .name = n, .ops = &ops_, .caps = { __VA_ARGS__ } }

static const struct backend_desc backend_table[] = {
	BACKEND_ROW("kmod", backend_kmod_ops, .is_dmabuf = true,
		    .read_only = true, .contiguous = true, .pin = true,
		    .charge = true),
	BACKEND_ROW("heap", backend_heap_ops, .is_dmabuf = true,
		    .contiguous = true),
	BACKEND_ROW("udmabuf", backend_udmabuf_ops, .is_dmabuf = true,
		    .pin = true),
	BACKEND_ROW("drm", backend_drm_ops, .is_dmabuf = true,
		    .driver_layout = true),
	BACKEND_ROW("memfd", backend_memfd_ops, .read_only = true),
	{ .name = "adopted", .ops = &backend_adopted_ops,
	  .caps = { .is_dmabuf = true }, .internal = true },
};

#define BACKEND_TABLE_LEN (sizeof(backend_table) / sizeof(backend_table[0]))

const struct backend_desc *backend_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < BACKEND_TABLE_LEN; i++) {
		if (!backend_table[i].internal &&
		    strlen(backend_table[i].name) == len &&
		    !strncmp(backend_table[i].name, name, len))
			return &backend_table[i];
	}
	return NULL;
}

const char *backend_known_names(void)
{
	static char names[64];

	if (!names[0]) {
		for (size_t i = 0; i < BACKEND_TABLE_LEN; i++) {
			if (backend_table[i].internal)
				continue;
			if (names[0])
				strcat(names, ",");
			strcat(names, backend_table[i].name);
		}
	}
	return names;
}

int backend_probe(struct backend *be, const struct backend_desc *d,
		  const struct config *cfg)
{
	int ret;

	memset(be, 0, sizeof(*be));
	be->desc = d;
	be->name = d->name;
	be->caps = d->caps;
	be->node = -1;
	ret = d->ops->probe(be, cfg, be->detail, sizeof(be->detail));
	be->available = ret == 0;
	return ret;
}

void backend_close(struct backend *be)
{
	if (be->available && be->desc->ops->close)
		be->desc->ops->close(be);
	if (be->node >= 0)
		close(be->node);
	be->node = -1;
	be->available = false;
}

int backend_set_probe(struct backend_set *set, const struct config *cfg)
{
	memset(set, 0, sizeof(*set));
	set->preferred = -1;
	for (size_t i = 0; i < cfg->nbackends && set->n < BACKEND_MAX; i++) {
		const char *name = cfg->backends[i];
		const struct backend_desc *d = backend_lookup(name, strlen(name));
		struct backend *be = &set->list[set->n];

		if (!d)
			continue;
		backend_probe(be, d, cfg);
		if (be->available && set->preferred < 0)
			set->preferred = (int)set->n;
		set->n++;
	}
	for (size_t i = 0; i < BACKEND_TABLE_LEN && set->n < BACKEND_MAX; i++) {
		if (backend_table[i].internal)
			backend_probe(&set->list[set->n++], &backend_table[i],
					  cfg);
	}
	return set->preferred < 0 ? -ENODEV : 0;
}

void backend_set_close(struct backend_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		backend_close(&set->list[i]);
	set->n = 0;
	set->preferred = -1;
}

int backend_set_find(const struct backend_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++) {
		if (!strcmp(set->list[i].name, name))
			return (int)i;
	}
	return -1;
}

int backend_request_size(const struct backend_request *req,
			 struct backend_buffer *out)
{
	uint64_t size = req->size, image = 0, page = (uint64_t)getpagesize();
	int ret;

	memset(&out->layout, 0, sizeof(out->layout));
	if (req->fourcc) {
		if (req->modifier != DRM_FORMAT_MOD_LINEAR)
			return -EINVAL;
		ret = imgfmt_layout_linear(req->fourcc, req->width,
					   req->height, 0, &out->layout, &image);
		if (ret < 0)
			return ret;
		if (image > size)
			size = image;
	}
	if (size == 0)
		return -EINVAL;
	if (size > (uint64_t)INT64_MAX - page)
		return -EFBIG;
	out->size = (size + page - 1) / page * page;
	return 0;
}

int backend_populate(int fd, uint64_t size)
{
	int ret;

	/* The kernel frees what it allocated when it fails; an interrupted
	 * call (a signal arrived) is simply made again. */
	do
		ret = fallocate(fd, 0, 0, (off_t)size);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

int backend_export_shared(struct backend *be, int fd, void *priv,
			  bool read_only)
{
	int out;

	if (read_only)
		return -EOPNOTSUPP;
	out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return out < 0 ? -errno : out;
}

int backend_read_sysfs_u64(const char *path, uint64_t *out)
{
	char buf[32];
	char *end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}
