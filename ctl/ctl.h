/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-ctl internals.  One prefix per file: ctl_ (main.c: options,
 * commands, errors), format_ (format.c), layout_ (layout.c), jsonout_
 * (jsonout.c), print_ (print.c), query_ (query.c: read-only commands),
 * manage_ (manage.c: alloc, pool-alloc, open, remove, grant, name), loop_
 * (loop.c: watch and --hold), qwatch_ (qwatch.c: queue-watch).
 */
#ifndef DBB_CTL_H
#define DBB_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>

#include "dmabuf-broker.h"

#define CTL_VERSION "0.1.0"

/* Exit codes; documented in --help and ctl/README.md. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_USAGE = 1,
	CTL_EXIT_CONNECT = 2,		/* no broker, or it went away */
	CTL_EXIT_NOT_FOUND = 3,		/* -ENOENT */
	CTL_EXIT_DENIED = 4,		/* -EACCES, -EPERM */
	CTL_EXIT_LIMIT = 5,		/* -EDQUOT, -EFBIG, -EMFILE, -ENOSPC, -ENOMEM */
	CTL_EXIT_EXISTS = 6,		/* -EEXIST: the name is taken */
	CTL_EXIT_ERROR = 7,		/* any other failure */
};

/* Options; which command accepts which is checked in main.c. */
struct ctl_opts {
	const char *name;
	const char *backend;
	const char *format;
	const char *modifier;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint64_t dump;
	uint32_t count;			/* pool-alloc: buffers; queue-watch: samples */
	uint32_t interval_ms;		/* queue-watch */
	bool persistent;
	bool hold;
	bool read_only;
};

struct ctl {
	const char *socket;
	bool json;
	struct ctl_opts opt;
	struct dbb_client *client;
};

/* A buffer or pool named on the command line: an id (digits) or a name. */
struct ctl_target {
	bool by_name;
	uint64_t id;
	const char *name;
};

/* main.c */
int ctl_connect(struct ctl *ctl);
/* Prints "dmabuf-ctl: WHAT: strerror[: broker message]" and returns the
 * exit code for @err. */
int ctl_fail(struct ctl *ctl, int err, const char *what);
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_exit_code(int err);
int ctl_parse_target(const char *arg, struct ctl_target *out);
/* The description of what @t names, a pool (*@pool) or a buffer
 * (*@buffer); the other is NULL.  Pools and buffers share ids and names. */
int ctl_fetch(struct ctl *ctl, const struct ctl_target *t,
	      struct dbb_buffer_info **buffer, struct dbb_pool_info **pool);
/* The id of @t, asking the broker when it is a name. */
int ctl_resolve_id(struct ctl *ctl, const struct ctl_target *t, uint64_t *id);
/* The description of the pool @t names. */
int ctl_fetch_pool(struct ctl *ctl, const struct ctl_target *t,
		   struct dbb_pool_info **out);
/* Prints @obj on stdout and frees it. */
void ctl_print_json(json_object *obj);

/* format.c */
const char *format_size(uint64_t bytes, char *buf, size_t cap);
const char *format_duration(uint64_t usec, char *buf, size_t cap);
const char *format_time(uint64_t realtime_usec, char *buf, size_t cap);
const char *format_lifetime(enum dbb_lifetime l);
const char *format_access(enum dbb_access a);
const char *format_event(enum dbb_event_type t);
const char *format_name_owner(enum dbb_name_owner o);
const char *format_policy(enum dbb_queue_policy p);
/* A latency in microseconds: "812us", "2.1ms", "1.25s". */
const char *format_usec(uint64_t usec, char *buf, size_t cap);
/* The fourcc / modifier name; the caller frees it. */
char *format_fourcc(uint32_t fourcc);
char *format_modifier(uint64_t modifier);
/* "XR24 32x64" for a list column, "-" without a layout. */
const char *format_layout_short(const struct dbb_buffer_info *info, char *buf,
				size_t cap);
int format_parse_size(const char *s, uint64_t *out);
int format_parse_u32(const char *s, uint32_t *out);
int format_parse_u64(const char *s, uint64_t *out);

/* layout.c */
int layout_build(const struct ctl_opts *opt, struct dbb_image_layout *out,
		 uint64_t *min_size);

/* jsonout.c */
json_object *jsonout_info(const struct dbb_buffer_info *info);
json_object *jsonout_list(const struct dbb_buffer_list *list);
json_object *jsonout_stats(const struct dbb_stats *st);
json_object *jsonout_backends(const struct dbb_backend_list *list);
json_object *jsonout_names(const struct dbb_name_list *list);
json_object *jsonout_event(enum dbb_event_type type,
			   const struct dbb_buffer_info *info);
json_object *jsonout_pool_event(enum dbb_event_type type,
				const struct dbb_pool_info *info);
json_object *jsonout_pool(const struct dbb_pool_info *info);
json_object *jsonout_pools(const struct dbb_pool_list *list);
json_object *jsonout_queue(const struct dbb_queue_info *q);
json_object *jsonout_counters(const struct dbb_queue_counters *c);

/* print.c */
void print_info(const struct dbb_buffer_info *info);
void print_list(const struct dbb_buffer_list *list);
void print_holders(const struct dbb_buffer_info *info);
void print_stats(const struct dbb_stats *st);
void print_backends(const struct dbb_backend_list *list);
void print_names(const struct dbb_name_list *list);
void print_event(enum dbb_event_type type, const struct dbb_buffer_info *info);
void print_pool_event(enum dbb_event_type type, const struct dbb_pool_info *info);
void print_hexdump(const uint8_t *p, size_t len);
void print_pool(const struct dbb_pool_info *info);
void print_pools(const struct dbb_pool_list *list);

/* query.c */
int query_status(struct ctl *ctl, int argc, char **argv);
int query_list(struct ctl *ctl, int argc, char **argv);
int query_info(struct ctl *ctl, int argc, char **argv);
int query_holders(struct ctl *ctl, int argc, char **argv);
int query_stats(struct ctl *ctl, int argc, char **argv);
int query_backends(struct ctl *ctl, int argc, char **argv);
int query_names(struct ctl *ctl, int argc, char **argv);
int query_pools(struct ctl *ctl, int argc, char **argv);
int query_pool_info(struct ctl *ctl, int argc, char **argv);

/* manage.c */
int manage_alloc(struct ctl *ctl, int argc, char **argv);
int manage_pool_alloc(struct ctl *ctl, int argc, char **argv);
int manage_open(struct ctl *ctl, int argc, char **argv);
int manage_remove(struct ctl *ctl, int argc, char **argv);
int manage_grant(struct ctl *ctl, int argc, char **argv);
int manage_name(struct ctl *ctl, int argc, char **argv);

/* loop.c */
int loop_watch(struct ctl *ctl, int argc, char **argv);
/* Waits for SIGINT/SIGTERM (exit 0) or the broker going away (exit 2). */
int loop_hold(struct ctl *ctl);
/* A signalfd for SIGINT and SIGTERM, which it blocks; -errno on failure. */
int loop_signalfd(void);

/* qwatch.c */
int qwatch_run(struct ctl *ctl, int argc, char **argv);

#endif
