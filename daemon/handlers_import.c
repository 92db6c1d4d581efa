/* SPDX-License-Identifier: MIT */
/*
 * Requests that bring a client's own memory into the registry: Pin (a
 * memfd whose pages become a dma-buf) and Adopt (a dma-buf from another
 * exporter, registered under a name).  Each comes with exactly one fd.
 */
#include "handlers.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "backends/backend.h"
#include "client.h"
#include "config.h"
#include "registry.h"
#include "broker.h"


/* The backend a Pin names, or the first available one that can pin. */
static int handlers_import_pin_backend(struct broker *br, const char *name,
				       struct reply *r)
{
	const struct backend_set *set = br->backends;
	int i;

	if (*name) {
		i = handlers_buffer_backend(br, name, r);
		if (i >= 0 && !set->list[i].caps.pin)
			return reply_error(r, -EOPNOTSUPP, "backend %s cannot "
					   "pin memory", name);
		return i;
	}
	for (i = 0; i < (int)set->n; i++) {
		if (set->list[i].available && set->list[i].caps.pin)
			return i;
	}
	return reply_error(r, -ENODEV, "no available backend can pin memory "
			   "(kmod or udmabuf)");
}

/*
 * Checks the client's memfd: shmem (it has seals), sealed against
 * shrinking but not against writes, open read-write (the dma-buf will be
 * writable), and the range within it.  0 or a reply error.
 */
static int handlers_import_check_memfd(int fd, uint64_t offset,
				       uint64_t length, struct reply *r)
{
	long page = sysconf(_SC_PAGESIZE);
	int seals = fcntl(fd, F_GET_SEALS);
	int fl = fcntl(fd, F_GETFL);
	uint64_t end;
	struct stat st;

	if (seals < 0 || fl < 0 || fstat(fd, &st) < 0)
		return reply_error(r, -EINVAL, "the fd is not a memfd");
	if (!(seals & F_SEAL_SHRINK) ||
	    (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return reply_error(r, -EINVAL, "the memfd must be sealed with "
				   "F_SEAL_SHRINK and not against writes");
	if ((fl & O_ACCMODE) != O_RDWR)
		return reply_error(r, -EACCES, "the memfd must be open read-write");
	if (length == 0 || offset % (uint64_t)page || length % (uint64_t)page)
		return reply_error(r, -EINVAL, "offset and length must be "
				   "page-aligned and length not 0");
	if (__builtin_add_overflow(offset, length, &end) ||
	    end > (uint64_t)st.st_size)
		return reply_error(r, -EINVAL, "range beyond the memfd's %lld "
				   "bytes", (long long)st.st_size);
	return 0;
}

/*
 * Refuses a name reserved for someone else ([names]) before anything else
 * is looked at, the fd included: a squatter learns nothing more.  Invalid
 * names are refused later, by handlers_import_params().
 */
static int handlers_import_may_name(struct client *c, const char *name,
				    struct reply *r)
{
	if (!*name || !registry_name_valid(name))
		return 0;
	return handlers_buffer_may_name(c, name, r);
}

/* Fills @p for a Pin or Adopt of @size bytes on backend @be; its layout,
 * if any, goes to @layout.  0 or a reply error. */
static int handlers_import_params(struct client *c, uint64_t size, int be,
				  const char *name, int lifetime,
				  const DmabufBroker__V1__ImageLayout *in,
				  struct imgfmt_layout *layout,
				  struct registry_new *p, struct reply *r)
{
	const struct config *cfg = c->broker->cfg;
	const struct backend *b = &c->broker->backends->list[be];
	char why[128];

	if (*name && !registry_name_valid(name))
		return reply_error(r, -EINVAL, "invalid buffer name");
	if ((unsigned)lifetime > REGISTRY_LIFETIME_PERSISTENT)
		return reply_error(r, -EINVAL, "unknown lifetime %d", lifetime);
	if (size > cfg->max_buffer_size || (b->max_size && size > b->max_size))
		return reply_error(r, -EFBIG, "%llu bytes exceed the limit",
				   (unsigned long long)size);
	if (in && handlers_buffer_layout_from(in, size, layout, why,
					      sizeof(why)) < 0)
		return reply_error(r, -EINVAL, "invalid image layout: %s", why);
	*p = (struct registry_new){
		.size = size, .name = name, .backend = (uint8_t)be,
		.lifetime = (enum registry_lifetime)lifetime,
		.layout = in ? layout : NULL,
	};
	return 0;
}

int handlers_import_pin(struct client *c, const DmabufBroker__V1__Request *req,
			struct reply *r, int *fds)
{
	const DmabufBroker__V1__PinRequest *pin = req->pin;
	struct backend_buffer out = { .fd = -1 };
	struct handlers_buffer_grants grants;
	struct imgfmt_layout layout;
	struct registry_new p;
	struct registry_quota q;
	struct backend *be;
	int i, ret;

	if (handlers_import_may_name(c, pin->name, r) < 0)
		return r->resp.status;
	if ((i = handlers_import_pin_backend(c->broker, pin->backend, r)) < 0)
		return i;
	be = &c->broker->backends->list[i];
	if (handlers_import_check_memfd(fds[0], pin->offset, pin->length, r) < 0 ||
	    handlers_import_params(c, pin->length, i, pin->name, pin->lifetime,
				   pin->layout, &layout, &p, r) < 0 ||
	    handlers_buffer_grants_from(be, pin->grants, pin->n_grants,
					&grants, r) < 0 ||
	    handlers_buffer_room(c, &p, &q, r) < 0)
		return r->resp.status;
	ret = be->desc->ops->pin(be, fds[0], pin->offset, pin->length,
				 pin->name, &out);
	if (ret < 0)
		return reply_error(r, ret, "%s cannot pin the range: %s",
				   be->name, strerror(-ret));
	return handlers_buffer_register(c, &p, &q, &grants, &out, r);
}

/* The size of the dma-buf @fd; a reply error when it is not one. */
static int handlers_import_dmabuf_size(int fd, uint64_t *size,
				       struct reply *r)
{
	struct statfs sfs;
	off_t end;

	if (fstatfs(fd, &sfs) < 0 ||
	    (unsigned long)sfs.f_type != DMA_BUF_MAGIC)
		return reply_error(r, -EINVAL, "the fd is not a dma-buf");
	end = lseek(fd, 0, SEEK_END);
	if (end <= 0)
		return reply_error(r, -EINVAL, "cannot tell the dma-buf's size");
	lseek(fd, 0, SEEK_SET);
	*size = (uint64_t)end;
	return 0;
}

int handlers_import_adopt(struct client *c,
			  const DmabufBroker__V1__Request *req,
			  struct reply *r, int *fds)
{
	const DmabufBroker__V1__AdoptRequest *a = req->adopt;
	int i = backend_set_find(c->broker->backends, "adopted");
	struct backend_buffer out = { .fd = -1 };
	struct handlers_buffer_grants grants;
	struct imgfmt_layout layout;
	struct registry_new p;
	struct registry_quota q;
	uint64_t size = 0;

	if (i < 0)
		return reply_error(r, -ENODEV, "adopting is not set up");
	if (handlers_import_may_name(c, a->name, r) < 0 ||
	    handlers_import_dmabuf_size(fds[0], &size, r) < 0 ||
	    handlers_import_params(c, size, i, a->name, a->lifetime, a->layout,
				   &layout, &p, r) < 0 ||
	    handlers_buffer_grants_from(&c->broker->backends->list[i],
					a->grants, a->n_grants, &grants, r) < 0 ||
	    handlers_buffer_room(c, &p, &q, r) < 0)
		return r->resp.status;
	out.fd = fds[0];
	out.size = size;
	fds[0] = -1;		/* the registry's now */
	return handlers_buffer_register(c, &p, &q, &grants, &out, r);
}
