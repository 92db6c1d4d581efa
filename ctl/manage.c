/* SPDX-License-Identifier: MIT */
/*
 * Commands that change the broker's state: alloc, pool-alloc, open,
 * remove, grant, name.
 *
 * A client-lifetime buffer would vanish the moment dmabuf-ctl exits, so
 * `alloc` and `pool-alloc` make persistent buffers and pools unless --hold
 * is given; with --hold they have client lifetime (or persistent with
 * --persistent) and dmabuf-ctl keeps the connection until SIGINT/SIGTERM.
 *
 * `remove` and `grant` take a pool's id or name as well: the broker then
 * acts on the whole pool.
 */
#include "ctl.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void manage_print_buffer(struct ctl *ctl, const struct dbb_buffer_info *info,
				json_object *dump)
{
	if (ctl->json) {
		json_object *o = jsonout_info(info);

		if (dump)
			json_object_object_add(o, "dump", dump);
		ctl_print_json(o);
	} else {
		print_info(info);
	}
}

/* Builds the alloc parameters from SIZE and the options. */
static int manage_alloc_params(struct ctl *ctl, const char *size_arg,
			       struct dbb_alloc_params *p,
			       struct dbb_image_layout *layout)
{
	const struct ctl_opts *o = &ctl->opt;
	uint64_t min_size = 0;
	bool want_layout = o->format || o->width || o->height || o->stride ||
			   o->modifier;

	*p = (struct dbb_alloc_params){
		.struct_size = sizeof(*p),
		.name = o->name,
		.backend = o->backend,
		.lifetime = o->hold && !o->persistent ? DBB_LIFETIME_CLIENT :
							DBB_LIFETIME_PERSISTENT,
	};
	if (want_layout) {
		if (layout_build(o, layout, &min_size) < 0)
			return CTL_EXIT_USAGE;
		p->layout = layout;
	}
	if (strcmp(size_arg, "auto") == 0) {
		if (!want_layout)
			return ctl_usage_error("SIZE 'auto' needs --format");
		if (!o->stride && !o->modifier) {
			/* The allocator lays the image out (its strides). */
			p->layout = NULL;
			p->fourcc = layout->fourcc;
			p->width = layout->width;
			p->height = layout->height;
			return CTL_EXIT_OK;
		}
		p->size = min_size;
	} else if (format_parse_size(size_arg, &p->size) < 0 || p->size == 0) {
		return ctl_usage_error("bad size '%s'", size_arg);
	}
	if (p->size < min_size)
		return ctl_usage_error("SIZE is smaller than the image (%" PRIu64
				       " bytes)", min_size);
	return CTL_EXIT_OK;
}

static int manage_hold(struct ctl *ctl, const char *what, uint64_t id)
{
	fprintf(stderr, "dmabuf-ctl: holding %s %" PRIu64
		"; SIGINT or SIGTERM to let go\n", what, id);
	fflush(stdout);
	return loop_hold(ctl);
}

int manage_alloc(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_image_layout layout;
	struct dbb_alloc_params params;
	struct dbb_buffer *buf;
	int ret;

	ret = manage_alloc_params(ctl, argv[0], &params, &layout);
	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_alloc(ctl->client, &params, &buf);
	if (ret < 0)
		return ctl_fail(ctl, ret, "alloc");
	manage_print_buffer(ctl, dbb_buffer_get_info(buf), NULL);
	if (ctl->opt.hold)
		ret = manage_hold(ctl, "buffer", dbb_buffer_get_info(buf)->id);
	dbb_buffer_free(buf);
	return ret;
}

int manage_pool_alloc(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_image_layout layout;
	struct dbb_pool_params params = { .struct_size = sizeof(params) };
	struct dbb_pool *pool;
	int ret;

	if (ctl->opt.count < 1 || ctl->opt.count > DBB_POOL_MAX_BUFFERS)
		return ctl_usage_error("pool-alloc needs --count from 1 to %d",
				       DBB_POOL_MAX_BUFFERS);
	params.count = ctl->opt.count;
	ret = manage_alloc_params(ctl, argv[0], &params.buffer, &layout);
	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_pool_alloc(ctl->client, &params, &pool);
	if (ret < 0)
		return ctl_fail(ctl, ret, "pool-alloc");
	if (ctl->json)
		ctl_print_json(jsonout_pool(dbb_pool_get_info(pool)));
	else
		print_pool(dbb_pool_get_info(pool));
	if (ctl->opt.hold)
		ret = manage_hold(ctl, "pool", dbb_pool_get_id(pool));
	dbb_pool_free(pool);
	return ret;
}

/* Hex of the first @n bytes for --json. */
static json_object *manage_dump_json(const uint8_t *p, size_t n)
{
	char *hex = malloc(n * 2 + 1);
	json_object *o;

	if (!hex)
		return NULL;
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	hex[2 * n] = '\0';
	o = json_object_new_string(hex);
	free(hex);
	return o;
}

/* Maps the buffer read-only and shows its first --dump bytes. */
static int manage_dump(struct ctl *ctl, struct dbb_buffer *buf)
{
	const struct dbb_buffer_info *info = dbb_buffer_get_info(buf);
	size_t n = ctl->opt.dump < info->size ? ctl->opt.dump : info->size;
	void *p;
	int ret;

	ret = dbb_buffer_map(buf, false, &p);
	if (ret < 0)
		return ctl_fail(ctl, ret, "mmap");
	ret = dbb_buffer_begin_cpu_access(buf, DBB_SYNC_READ);
	if (ret < 0) {
		dbb_buffer_unmap(buf, p);
		return ctl_fail(ctl, ret, "DMA_BUF_IOCTL_SYNC");
	}
	if (ctl->json) {
		manage_print_buffer(ctl, info, manage_dump_json(p, n));
	} else {
		print_info(info);
		print_hexdump(p, n);
	}
	dbb_buffer_end_cpu_access(buf, DBB_SYNC_READ);
	dbb_buffer_unmap(buf, p);
	return CTL_EXIT_OK;
}

int manage_open(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_buffer *buf;
	struct ctl_target t;
	int ret = ctl_parse_target(argv[0], &t);

	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	if (t.by_name)
		ret = dbb_open_by_name(ctl->client, t.name, ctl->opt.read_only, &buf);
	else
		ret = dbb_open_by_id(ctl->client, t.id, ctl->opt.read_only, &buf);
	if (ret < 0)
		return ctl_fail(ctl, ret, argv[0]);
	if (ctl->opt.dump)
		ret = manage_dump(ctl, buf);
	else
		manage_print_buffer(ctl, dbb_buffer_get_info(buf), NULL);
	if (ret == CTL_EXIT_OK && ctl->opt.hold)
		ret = manage_hold(ctl, "buffer", dbb_buffer_get_info(buf)->id);
	dbb_buffer_free(buf);
	return ret;
}

/*
 * Parses the buffer argument @arg, connects and resolves it to an id.
 * Returns CTL_EXIT_OK with *@id set, or the exit code to return.
 */
static int manage_connect_target(struct ctl *ctl, const char *arg, uint64_t *id)
{
	struct ctl_target t;
	int ret = ctl_parse_target(arg, &t);

	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = ctl_resolve_id(ctl, &t, id);
	return ret < 0 ? ctl_fail(ctl, ret, arg) : CTL_EXIT_OK;
}

int manage_remove(struct ctl *ctl, int argc, char **argv)
{
	uint64_t id;
	int ret = manage_connect_target(ctl, argv[0], &id);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_remove(ctl->client, id);
	if (ret < 0)
		return ctl_fail(ctl, ret, argv[0]);
	if (ctl->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "removed", json_object_new_uint64(id));
		ctl_print_json(o);
	} else {
		printf("removed %" PRIu64 "\n", id);
	}
	return CTL_EXIT_OK;
}

/* A uid or gid given as a number or a user/group name. */
static int manage_parse_id(const char *s, bool group, uint32_t *out)
{
	if (format_parse_u32(s, out) == 0)
		return 0;
	if (group) {
		struct group *g = getgrnam(s);

		if (!g)
			return -ENOENT;
		*out = g->gr_gid;
	} else {
		struct passwd *pw = getpwnam(s);

		if (!pw)
			return -ENOENT;
		*out = pw->pw_uid;
	}
	return 0;
}

static int manage_parse_subject(const char *s, enum dbb_grant_subject *subject,
				uint32_t *who)
{
	*who = 0;
	if (strcmp(s, "everyone") == 0) {
		*subject = DBB_GRANT_EVERYONE;
		return 0;
	}
	if (strncmp(s, "uid:", 4) == 0) {
		*subject = DBB_GRANT_UID;
		return manage_parse_id(s + 4, false, who);
	}
	if (strncmp(s, "gid:", 4) == 0) {
		*subject = DBB_GRANT_GID;
		return manage_parse_id(s + 4, true, who);
	}
	return -EINVAL;
}

static int manage_parse_access(const char *s, enum dbb_access *out)
{
	if (!s || strcmp(s, "ro") == 0 || strcmp(s, "read") == 0)
		*out = DBB_ACCESS_READ;
	else if (strcmp(s, "rw") == 0 || strcmp(s, "read-write") == 0)
		*out = DBB_ACCESS_READ_WRITE;
	else if (strcmp(s, "none") == 0 || strcmp(s, "revoke") == 0)
		*out = DBB_ACCESS_NONE;
	else
		return -EINVAL;
	return 0;
}

int manage_grant(struct ctl *ctl, int argc, char **argv)
{
	enum dbb_grant_subject subject;
	enum dbb_access access;
	uint32_t who;
	uint64_t id;
	int ret;

	if (manage_parse_subject(argv[1], &subject, &who) < 0)
		return ctl_usage_error("bad subject '%s' (uid:N, gid:N or everyone)",
				       argv[1]);
	if (manage_parse_access(argc > 2 ? argv[2] : NULL, &access) < 0)
		return ctl_usage_error("bad access '%s' (ro, rw or none)", argv[2]);
	ret = manage_connect_target(ctl, argv[0], &id);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_grant(ctl->client, id, subject, who, access);
	if (ret < 0)
		return ctl_fail(ctl, ret, argv[0]);
	if (ctl->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_uint64(id));
		json_object_object_add(o, "subject", json_object_new_string(argv[1]));
		json_object_object_add(o, "access",
				       json_object_new_string(format_access(access)));
		ctl_print_json(o);
	} else {
		printf("%" PRIu64 ": %s %s\n", id, argv[1], format_access(access));
	}
	return CTL_EXIT_OK;
}

int manage_name(struct ctl *ctl, int argc, char **argv)
{
	uint64_t id;
	int ret = manage_connect_target(ctl, argv[0], &id);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_set_name(ctl->client, id, argv[1]);
	if (ret < 0)
		return ctl_fail(ctl, ret, argv[0]);
	if (ctl->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_uint64(id));
		json_object_object_add(o, "name", json_object_new_string(argv[1]));
		ctl_print_json(o);
	} else {
		printf("buffer %" PRIu64 " is now named %s\n", id, argv[1]);
	}
	return CTL_EXIT_OK;
}
