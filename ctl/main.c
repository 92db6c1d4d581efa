/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-ctl: command-line client of the dma-buf broker.  This file holds
 * the command table, option parsing, connecting and error reporting.
 */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ctl_opt_bit {
	OPT_NAME = 1u << 0,
	OPT_PERSISTENT = 1u << 1,
	OPT_BACKEND = 1u << 2,
	OPT_FORMAT = 1u << 3,
	OPT_WIDTH = 1u << 4,
	OPT_HEIGHT = 1u << 5,
	OPT_STRIDE = 1u << 6,
	OPT_MODIFIER = 1u << 7,
	OPT_HOLD = 1u << 8,
	OPT_READ_ONLY = 1u << 9,
	OPT_DUMP = 1u << 10,
	OPT_COUNT = 1u << 11,
	OPT_INTERVAL = 1u << 12,
};

#define OPTS_ALLOC (OPT_NAME | OPT_PERSISTENT | OPT_BACKEND | OPT_FORMAT | \
		    OPT_WIDTH | OPT_HEIGHT | OPT_STRIDE | OPT_MODIFIER | OPT_HOLD)
#define OPTS_OPEN (OPT_READ_ONLY | OPT_DUMP | OPT_HOLD)
#define OPTS_POOL_ALLOC (OPTS_ALLOC | OPT_COUNT)
#define OPTS_QUEUE_WATCH (OPT_COUNT | OPT_INTERVAL)

struct ctl_command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	unsigned opts;
	int min_args;
	int max_args;
};

static const struct ctl_command ctl_commands[] = {
	{ "status", query_status, 0, 0, 0 },
	{ "list", query_list, 0, 0, 0 },
	{ "info", query_info, 0, 1, 1 },
	{ "holders", query_holders, 0, 1, 1 },
	{ "stats", query_stats, 0, 0, 0 },
	{ "backends", query_backends, 0, 0, 0 },
	{ "names", query_names, 0, 0, 0 },
	{ "alloc", manage_alloc, OPTS_ALLOC, 1, 1 },
	{ "open", manage_open, OPTS_OPEN, 1, 1 },
	{ "remove", manage_remove, 0, 1, 1 },
	{ "grant", manage_grant, 0, 2, 3 },
	{ "name", manage_name, 0, 2, 2 },
	{ "watch", loop_watch, 0, 0, 0 },
	{ "pools", query_pools, 0, 0, 0 },
	{ "pool-info", query_pool_info, 0, 1, 1 },
	{ "pool-alloc", manage_pool_alloc, OPTS_POOL_ALLOC, 1, 1 },
	{ "queue-watch", qwatch_run, OPTS_QUEUE_WATCH, 1, 1 },
};

static const char ctl_help[] =
	"Usage: dmabuf-ctl [OPTIONS] COMMAND [ARGS]\n"
	"\n"
	"Talks to the dma-buf broker (dmabuf-brokerd).\n"
	"\n"
	"Commands:\n"
	"  status                   is the broker up: version, client id, uptime, counts\n"
	"  list                     every buffer in the registry\n"
	"  info BUF|POOL            everything known about a buffer or a pool\n"
	"  holders BUF              the connections holding a buffer\n"
	"  stats                    broker counters and your quota\n"
	"  backends                 allocators the broker probed\n"
	"  names                    name prefixes reserved for users, groups\n"
	"  alloc SIZE [--name N] [--backend B] [--hold] [--persistent]\n"
	"        [--format FOURCC --width W --height H [--stride S] [--modifier M]]\n"
	"                           allocate a buffer and print it; persistent unless\n"
	"                           --hold, which keeps it (client lifetime) until\n"
	"                           dmabuf-ctl gets SIGINT/SIGTERM; SIZE takes K/M/G/T,\n"
	"                           or 'auto' with --format\n"
	"  open BUF [--read-only] [--dump N] [--hold]\n"
	"                           get an fd of a buffer, print it, hexdump N\n"
	"                           bytes; --hold keeps the hold until signalled\n"
	"  remove BUF|POOL          take a buffer or a whole pool out of the registry\n"
	"                           (owner/root)\n"
	"  name BUF NAME            name an unnamed buffer you own\n"
	"  grant BUF|POOL uid:U|gid:G|everyone [ro|rw|none]\n"
	"                           let others open BUF or every buffer of POOL\n"
	"                           (default ro; none revokes)\n"
	"  watch                    print buffer events until interrupted\n"
	"  pools                    every pool: buffers, queue, frames posted/dropped\n"
	"  pool-info POOL           a pool's buffers, grants, queue and consumers\n"
	"  pool-alloc SIZE --count N [alloc's options]\n"
	"                           allocate a pool of N buffers of one layout;\n"
	"                           persistent unless --hold, as alloc\n"
	"  queue-watch POOL [--interval MS] [--count N]\n"
	"                           print a pool's queue counters and their rates\n"
	"                           every MS ms (default 1000), N times or until\n"
	"                           interrupted\n"
	"\n"
	"BUF and POOL are an id (digits) or a name; '=NAME' forces a name made of\n"
	"digits; put names starting with '-' after '--'.\n"
	"\n"
	"Options:\n"
	"  -s, --socket PATH        broker socket (default: $" DBB_SOCKET_ENV ",\n"
	"                           else " DBB_DEFAULT_SOCKET ")\n"
	"  -j, --json               JSON output (watch, queue-watch: one object\n"
	"                           per line)\n"
	"  -h, --help               this help\n"
	"  -V, --version            print the version\n"
	"\n"
	"Exit status:\n"
	"  0 success                  1 usage error\n"
	"  2 cannot reach the broker (or it did not answer)\n"
	"  3 no such buffer or pool   4 permission denied\n"
	"  5 quota or limit reached   6 name already taken\n"
	"  7 any other error\n";

enum {
	LONG_NAME = 256, LONG_PERSISTENT, LONG_BACKEND, LONG_FORMAT, LONG_WIDTH,
	LONG_HEIGHT, LONG_STRIDE, LONG_MODIFIER, LONG_HOLD, LONG_READ_ONLY,
	LONG_DUMP, LONG_COUNT, LONG_INTERVAL,
};

static const struct option ctl_long_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "name", required_argument, NULL, LONG_NAME },
	{ "persistent", no_argument, NULL, LONG_PERSISTENT },
	{ "backend", required_argument, NULL, LONG_BACKEND },
	{ "format", required_argument, NULL, LONG_FORMAT },
	{ "width", required_argument, NULL, LONG_WIDTH },
	{ "height", required_argument, NULL, LONG_HEIGHT },
	{ "stride", required_argument, NULL, LONG_STRIDE },
	{ "modifier", required_argument, NULL, LONG_MODIFIER },
	{ "hold", no_argument, NULL, LONG_HOLD },
	{ "read-only", no_argument, NULL, LONG_READ_ONLY },
	{ "dump", required_argument, NULL, LONG_DUMP },
	{ "count", required_argument, NULL, LONG_COUNT },
	{ "interval", required_argument, NULL, LONG_INTERVAL },
	{ NULL, 0, NULL, 0 },
};

int ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dmabuf-ctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'dmabuf-ctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_exit_code(int err)
{
	switch (-err) {
	case 0:
		return CTL_EXIT_OK;
	case ENOENT:
		return CTL_EXIT_NOT_FOUND;
	case EACCES:
	case EPERM:
		return CTL_EXIT_DENIED;
	case EDQUOT:
	case EFBIG:
	case EMFILE:
	case ENFILE:
	case ENOSPC:
	case ENOMEM:
		return CTL_EXIT_LIMIT;
	case EEXIST:
		return CTL_EXIT_EXISTS;
	case EPIPE:
	case ECONNRESET:
	case ECONNREFUSED:
	case ETIMEDOUT:
		return CTL_EXIT_CONNECT;
	default:
		return CTL_EXIT_ERROR;
	}
}

int ctl_fail(struct ctl *ctl, int err, const char *what)
{
	const char *msg = ctl->client ? dbb_client_last_error(ctl->client) : "";

	if (err == -EPIPE || err == -ECONNRESET)
		fprintf(stderr, "dmabuf-ctl: %s: the broker went away\n", what);
	else if (*msg)
		fprintf(stderr, "dmabuf-ctl: %s: %s: %s\n", what, strerror(-err), msg);
	else
		fprintf(stderr, "dmabuf-ctl: %s: %s\n", what, strerror(-err));
	return ctl_exit_code(err);
}

int ctl_connect(struct ctl *ctl)
{
	int ret = dbb_client_connect(ctl->socket, "dmabuf-ctl", &ctl->client);

	if (ret < 0) {
		fprintf(stderr, "dmabuf-ctl: cannot connect to the broker at %s: %s\n",
			ctl->socket, strerror(-ret));
		return CTL_EXIT_CONNECT;
	}
	return CTL_EXIT_OK;
}

int ctl_parse_target(const char *arg, struct ctl_target *out)
{
	*out = (struct ctl_target){ 0 };
	if (arg[0] == '=') {
		out->by_name = true;
		out->name = arg + 1;
	} else if (arg[0] && strspn(arg, "0123456789") == strlen(arg)) {
		if (format_parse_u64(arg, &out->id) < 0)
			return ctl_usage_error("bad id '%s'", arg);
	} else {
		out->by_name = true;
		out->name = arg;
	}
	if (out->by_name && !*out->name)
		return ctl_usage_error("empty name");
	return CTL_EXIT_OK;
}

int ctl_fetch(struct ctl *ctl, const struct ctl_target *t,
	      struct dbb_buffer_info **buffer, struct dbb_pool_info **pool)
{
	int ret;

	int pool_ret;

	*buffer = NULL;
	*pool = NULL;
	if (t->by_name)
		ret = dbb_info_by_name(ctl->client, t->name, buffer);
	else
		ret = dbb_info_by_id(ctl->client, t->id, buffer);
	if (ret != -ENOENT)
		return ret;
	/* No buffer (a pool's id or name is none): perhaps a pool.  To a
	 * broker without pools (-EOPNOTSUPP) there is nothing. */
	pool_ret = ctl_fetch_pool(ctl, t, pool);
	return pool_ret == -EOPNOTSUPP ? ret : pool_ret;
}

int ctl_resolve_id(struct ctl *ctl, const struct ctl_target *t, uint64_t *id)
{
	struct dbb_buffer_info *buffer;
	struct dbb_pool_info *pool;
	int ret;

	if (!t->by_name) {
		*id = t->id;
		return 0;
	}
	ret = ctl_fetch(ctl, t, &buffer, &pool);
	if (ret < 0)
		return ret;
	*id = pool ? pool->id : buffer->id;
	dbb_pool_info_free(pool);
	dbb_buffer_info_free(buffer);
	return 0;
}

int ctl_fetch_pool(struct ctl *ctl, const struct ctl_target *t,
		   struct dbb_pool_info **out)
{
	if (t->by_name)
		return dbb_pool_info_by_name(ctl->client, t->name, out);
	return dbb_pool_info_by_id(ctl->client, t->id, out);
}

void ctl_print_json(json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* Stores a command option; returns its bit, or 0 after a usage error. */
static unsigned ctl_store_option(struct ctl_opts *o, int c, const char *arg)
{
	switch (c) {
	case LONG_NAME: o->name = arg; return OPT_NAME;
	case LONG_PERSISTENT: o->persistent = true; return OPT_PERSISTENT;
	case LONG_BACKEND: o->backend = arg; return OPT_BACKEND;
	case LONG_FORMAT: o->format = arg; return OPT_FORMAT;
	case LONG_MODIFIER: o->modifier = arg; return OPT_MODIFIER;
	case LONG_HOLD: o->hold = true; return OPT_HOLD;
	case LONG_READ_ONLY: o->read_only = true; return OPT_READ_ONLY;
	case LONG_WIDTH:
		return format_parse_u32(arg, &o->width) < 0 ? 0 : OPT_WIDTH;
	case LONG_HEIGHT:
		return format_parse_u32(arg, &o->height) < 0 ? 0 : OPT_HEIGHT;
	case LONG_STRIDE:
		return format_parse_u32(arg, &o->stride) < 0 ? 0 : OPT_STRIDE;
	case LONG_DUMP:
		return format_parse_size(arg, &o->dump) < 0 ? 0 : OPT_DUMP;
	case LONG_COUNT:
		/* Buffers or samples: zero of either means nothing to do. */
		return format_parse_u32(arg, &o->count) < 0 || !o->count ? 0 :
									OPT_COUNT;
	case LONG_INTERVAL:
		return format_parse_u32(arg, &o->interval_ms) < 0 ||
		       !o->interval_ms ? 0 : OPT_INTERVAL;
	default:
		return 0;
	}
}

/* Parses every option (anywhere on the line); -1 to go on, else exit code. */
static int ctl_parse_options(struct ctl *ctl, int argc, char **argv,
			     unsigned *seen)
{
	int c;

	while ((c = getopt_long(argc, argv, "s:jhV", ctl_long_options, NULL)) != -1) {
		unsigned bit;

		switch (c) {
		case 's': ctl->socket = optarg; continue;
		case 'j': ctl->json = true; continue;
		case 'h': fputs(ctl_help, stdout); return CTL_EXIT_OK;
		case 'V': puts("dmabuf-ctl " CTL_VERSION); return CTL_EXIT_OK;
		case '?': return ctl_usage_error("bad option");
		}
		bit = ctl_store_option(&ctl->opt, c, optarg);
		if (!bit)
			return ctl_usage_error("bad value '%s' for %s", optarg,
					       argv[optind - 1]);
		*seen |= bit;
	}
	return -1;
}

static const struct ctl_command *ctl_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

static int ctl_run(struct ctl *ctl, const struct ctl_command *cmd,
		   unsigned seen, int argc, char **argv)
{
	if (seen & ~cmd->opts)
		return ctl_usage_error("an option given does not apply to '%s'",
				       cmd->name);
	if (argc < cmd->min_args || argc > cmd->max_args)
		return ctl_usage_error("'%s' takes %d to %d arguments", cmd->name,
				       cmd->min_args, cmd->max_args);
	/* Each command connects once its arguments are known to be good. */
	return cmd->run(ctl, argc, argv);
}

int main(int argc, char **argv)
{
	struct ctl ctl = { 0 };
	const struct ctl_command *cmd;
	unsigned seen = 0;
	int ret;

	ret = ctl_parse_options(&ctl, argc, argv, &seen);
	if (ret >= 0)
		return ret;
	if (!ctl.socket || !*ctl.socket)
		ctl.socket = getenv(DBB_SOCKET_ENV);
	if (!ctl.socket || !*ctl.socket)
		ctl.socket = DBB_DEFAULT_SOCKET;
	if (optind >= argc)
		return ctl_usage_error("no command given");
	cmd = ctl_find(argv[optind]);
	if (!cmd)
		return ctl_usage_error("unknown command '%s'", argv[optind]);
	ret = ctl_run(&ctl, cmd, seen, argc - optind - 1, argv + optind + 1);
	dbb_client_destroy(ctl.client);
	if (fflush(stdout) != 0 && ret == CTL_EXIT_OK)
		ret = CTL_EXIT_ERROR;
	return ret;
}
