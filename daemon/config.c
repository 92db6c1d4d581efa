/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "backends/backend.h"
#include "wire.h"

#define CONFIG_MIN_REQUEST_SIZE 256u

/* State of one config_load(). */
struct config_ctx {
	struct config *cfg;
	const char *path;
	FILE *f;
	unsigned line;
	unsigned fail_line;
	char *err;
	size_t errlen;
	bool failed;
};

static void config_fail(struct config_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records the first error as "file:line: message". */
static void config_fail(struct config_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ctx->failed)
		return;
	ctx->failed = true;
	ctx->fail_line = ctx->line;
	n = snprintf(ctx->err, ctx->errlen, "%s:%u: ", ctx->path, ctx->line);
	if (n < 0 || (size_t)n >= ctx->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err + n, ctx->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

int config_init(struct config *cfg)
{
	char err[64];

	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_mode = 0666;
	cfg->max_clients = 256;
	cfg->max_clients_per_uid = 64;
	cfg->root_reserved_clients = 16;
	cfg->max_request_size = 65536;
	cfg->max_buffer_size = 1ull << 30;
	cfg->max_holds_per_client = 4096;
	cfg->max_jobs_per_uid = 4;
	cfg->max_queued_bytes_per_uid = 16ull << 20;
	cfg->max_queued_fds_per_uid = 1024;
	cfg->hello_timeout = 10;
	cfg->resume_grace_ms = 10000;
	cfg->max_detached_per_uid = 16;
	cfg->quota.bytes = 4ull << 30;
	cfg->quota.buffers = 1024;
	if (config_set_backends(cfg, CONFIG_DEFAULT_BACKENDS, err,
				sizeof(err)) < 0)
		return -EINVAL;
	if (config_set_string(&cfg->heaps, CONFIG_DEFAULT_HEAPS) < 0)
		return -ENOMEM;
	return config_set_socket(cfg, CONFIG_DEFAULT_SOCKET);
}

void config_fini(struct config *cfg)
{
	struct config_uid_quota *q, *tmp;

	if (!cfg)
		return;
	HASH_ITER(hh, cfg->uid_quotas, q, tmp) {
		HASH_DEL(cfg->uid_quotas, q);
		free(q);
	}
	names_fini(&cfg->names);
	free(cfg->socket_path);
	free(cfg->heaps);
	free(cfg->drm_device);
	cfg->socket_path = cfg->heaps = cfg->drm_device = NULL;
}

int config_set_string(char **field, const char *value)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int config_set_socket(struct config *cfg, const char *path)
{
	return config_set_string(&cfg->socket_path, path);
}

static const char *config_backend_known(const char *name, size_t len)
{
	const struct backend_desc *d = backend_lookup(name, len);

	return d ? d->name : NULL;
}

int config_set_backends(struct config *cfg, const char *list, char *err,
			size_t errlen)
{
	const char *order[CONFIG_MAX_BACKENDS];
	size_t n = 0;

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ", \t");
		const char *known = config_backend_known(p, len);

		if (len == 0) {
			p++;
			continue;
		}
		if (!known) {
			snprintf(err, errlen, "unknown backend '%.*s'",
				 (int)len, p);
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			if (order[i] == known) {
				snprintf(err, errlen, "backend '%s' listed twice",
					 known);
				return -EINVAL;
			}
		}
		order[n++] = known;
		p += len;
	}
	if (n == 0) {
		snprintf(err, errlen, "no backend listed");
		return -EINVAL;
	}
	memcpy(cfg->backends, order, n * sizeof(order[0]));
	cfg->nbackends = n;
	return 0;
}

/* Parses an unsigned decimal (or, with @base 8, octal) number. */
static int config_parse_uint(const char *s, int base, uint64_t max,
			     uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	char *end;
	const char *sfx;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		char c = (char)(*end & ~0x20);

		sfx = c ? strchr(suffixes, c) : NULL;
		if (!sfx || end[1])
			return -EINVAL;
		shift = 10u * (unsigned)(sfx - suffixes + 1);
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

enum config_kind {
	CONFIG_U32,		/* plain number >= 1, stored in a uint32_t */
	CONFIG_U32_OR_0,	/* plain number, 0 allowed, uint32_t */
	CONFIG_SIZE,		/* size >= 1, stored in a uint64_t */
	CONFIG_REQUEST_SIZE,	/* size within the frame limit, uint32_t */
	CONFIG_QUOTA_SIZE,	/* size, 0 allowed, uint64_t */
	CONFIG_QUOTA_COUNT,	/* plain number, 0 allowed, uint64_t */
};

/* A numeric key of [broker], [limits], [quota] or [quota.UID]. */
struct config_key {
	const char *section;	/* "quota" also matches quota.UID */
	const char *name;
	enum config_kind kind;
	size_t offset;		/* in struct config, or config_quota */
};

static const struct config_key config_keys[] = {
	{ "limits", "max_clients", CONFIG_U32,
	  offsetof(struct config, max_clients) },
	{ "limits", "max_clients_per_uid", CONFIG_U32,
	  offsetof(struct config, max_clients_per_uid) },
	{ "limits", "root_reserved_clients", CONFIG_U32_OR_0,
	  offsetof(struct config, root_reserved_clients) },
	{ "limits", "max_request_size", CONFIG_REQUEST_SIZE,
	  offsetof(struct config, max_request_size) },
	{ "limits", "max_buffer_size", CONFIG_SIZE,
	  offsetof(struct config, max_buffer_size) },
	{ "limits", "max_total_bytes", CONFIG_QUOTA_SIZE,
	  offsetof(struct config, max_total_bytes) },
	{ "limits", "max_holds_per_client", CONFIG_U32,
	  offsetof(struct config, max_holds_per_client) },
	{ "limits", "max_jobs_per_uid", CONFIG_U32,
	  offsetof(struct config, max_jobs_per_uid) },
	{ "limits", "max_queued_bytes_per_uid", CONFIG_QUOTA_SIZE,
	  offsetof(struct config, max_queued_bytes_per_uid) },
	{ "limits", "max_queued_fds_per_uid", CONFIG_U32_OR_0,
	  offsetof(struct config, max_queued_fds_per_uid) },
	{ "limits", "hello_timeout", CONFIG_U32_OR_0,
	  offsetof(struct config, hello_timeout) },
	{ "limits", "max_detached_per_uid", CONFIG_U32,
	  offsetof(struct config, max_detached_per_uid) },
	{ "broker", "resume_grace_ms", CONFIG_U32_OR_0,
	  offsetof(struct config, resume_grace_ms) },
	{ "quota", "bytes", CONFIG_QUOTA_SIZE,
	  offsetof(struct config_quota, bytes) },
	{ "quota", "buffers", CONFIG_QUOTA_COUNT,
	  offsetof(struct config_quota, buffers) },
};

/* The quota record a [quota] or [quota.UID] section writes to. */
static struct config_quota *config_section_quota(struct config_ctx *ctx,
						 const char *section)
{
	struct config_uid_quota *q;
	uint64_t v;
	uid_t uid;

	if (!strcmp(section, "quota"))
		return &ctx->cfg->quota;
	if (config_parse_uint(section + 6, 10, UINT32_MAX - 1, &v) < 0) {
		config_fail(ctx, "bad uid in section [%s]", section);
		return NULL;
	}
	uid = (uid_t)v;
	HASH_FIND(hh, ctx->cfg->uid_quotas, &uid, sizeof(uid), q);
	if (q)
		return &q->quota;
	q = calloc(1, sizeof(*q));
	if (!q) {
		config_fail(ctx, "out of memory");
		return NULL;
	}
	q->uid = uid;
	q->quota = ctx->cfg->quota;	/* unset keys inherit [quota] */
	HASH_ADD(hh, ctx->cfg->uid_quotas, uid, sizeof(q->uid), q);
	return &q->quota;
}

static bool config_kind_is_size(enum config_kind kind)
{
	return kind == CONFIG_SIZE || kind == CONFIG_REQUEST_SIZE ||
	       kind == CONFIG_QUOTA_SIZE;
}

/* Parses @value for key @k and checks its range; 1 on success. */
static int config_value(struct config_ctx *ctx, const struct config_key *k,
			const char *value, uint64_t *v)
{
	int ret;

	if (config_kind_is_size(k->kind))
		ret = config_parse_size(value, v);
	else
		ret = config_parse_uint(value, 10, k->kind == CONFIG_U32 ||
					k->kind == CONFIG_U32_OR_0 ?
					UINT32_MAX : UINT64_MAX, v);
	if (ret < 0) {
		config_fail(ctx, "bad %s '%s' for %s",
			    config_kind_is_size(k->kind) ? "size" : "number",
			    value, k->name);
		return 0;
	}
	if (*v == 0 && (k->kind == CONFIG_U32 || k->kind == CONFIG_SIZE)) {
		config_fail(ctx, "%s must be at least 1", k->name);
		return 0;
	}
	if (k->kind == CONFIG_REQUEST_SIZE &&
	    (*v > DBB_WIRE_MAX_FRAME || *v < CONFIG_MIN_REQUEST_SIZE)) {
		config_fail(ctx, "%s '%s' is outside %u..%u (the frame limit)",
			    k->name, value, CONFIG_MIN_REQUEST_SIZE,
			    DBB_WIRE_MAX_FRAME);
		return 0;
	}
	return 1;
}

static int config_set_number(struct config_ctx *ctx,
			     const struct config_key *k, void *base,
			     const char *value)
{
	char *field = (char *)base + k->offset;
	uint64_t v;

	if (!config_value(ctx, k, value, &v))
		return 0;
	if (k->kind == CONFIG_U32 || k->kind == CONFIG_U32_OR_0 ||
	    k->kind == CONFIG_REQUEST_SIZE)
		*(uint32_t *)(void *)field = (uint32_t)v;
	else
		*(uint64_t *)(void *)field = v;
	return 1;
}

static int config_broker_key(struct config_ctx *ctx, const char *name,
			     const char *value)
{
	char msg[128];
	uint64_t mode;

	if (!strcmp(name, "socket")) {
		if (*value != '/') {
			config_fail(ctx, "socket must be an absolute path");
			return 0;
		}
		if (config_set_socket(ctx->cfg, value) < 0) {
			config_fail(ctx, "out of memory");
			return 0;
		}
		return 1;
	}
	if (!strcmp(name, "socket_mode")) {
		if (config_parse_uint(value, 8, 0777, &mode) < 0) {
			config_fail(ctx, "bad mode '%s' for socket_mode", value);
			return 0;
		}
		ctx->cfg->socket_mode = (mode_t)mode;
		return 1;
	}
	if (!strcmp(name, "backends")) {
		if (config_set_backends(ctx->cfg, value, msg, sizeof(msg)) < 0) {
			config_fail(ctx, "%s", msg);
			return 0;
		}
		return 1;
	}
	if (!strcmp(name, "heaps") || !strcmp(name, "drm_device")) {
		char **field = *name == 'h' ? &ctx->cfg->heaps :
			       &ctx->cfg->drm_device;

		if (*name == 'd' && *value && *value != '/') {
			config_fail(ctx, "drm_device must be an absolute path");
			return 0;
		}
		if (config_set_string(field, *value ? value : NULL) < 0) {
			config_fail(ctx, "out of memory");
			return 0;
		}
		return 1;
	}
	config_fail(ctx, "unknown key '%s' in [broker]", name);
	return 0;
}

/* The numeric key @name of @section ("quota" for every quota section),
 * or NULL. */
static const struct config_key *config_key_find(const char *section,
						const char *name)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++) {
		const struct config_key *k = &config_keys[i];

		if (!strcmp(k->section, section) && !strcmp(k->name, name))
			return k;
	}
	return NULL;
}

/* A [names] line: "PREFIX = user:NAME" and the like (names_add()). */
static int config_names_key(struct config_ctx *ctx, const char *prefix,
			    const char *owner)
{
	char why[CONFIG_ERR_MAX / 2];
	int ret;

	/* inih splits a line at its first '=' or ':', so a prefix with a
	 * ':' arrives cut in two: say so rather than blame the owner. */
	if (strchr(owner, '=')) {
		config_fail(ctx, "a prefix in [names] cannot contain ':'");
		return 0;
	}
	ret = names_add(&ctx->cfg->names, prefix, owner, why, sizeof(why));
	if (ret < 0) {
		config_fail(ctx, "%s", why);
		return 0;
	}
	return 1;
}

static int config_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct config_ctx *ctx = user;
	bool quota = !strcmp(section, "quota") || !strncmp(section, "quota.", 6);
	const struct config_key *k;
	void *base = ctx->cfg;

	if (ctx->failed)
		return 0;
	k = config_key_find(quota ? "quota" : section, name);
	if (!strcmp(section, "broker"))
		return k ? config_set_number(ctx, k, base, value) :
			   config_broker_key(ctx, name, value);
	if (!strcmp(section, "names"))
		return config_names_key(ctx, name, value);
	if (!quota && strcmp(section, "limits")) {
		config_fail(ctx, "unknown section [%s]", section);
		return 0;
	}
	if (quota && !(base = config_section_quota(ctx, section)))
		return 0;
	if (k)
		return config_set_number(ctx, k, base, value);
	config_fail(ctx, "unknown key '%s' in [%s]", name, section);
	return 0;
}

/*
 * inih's line reader: counts lines so that errors name the right one, and
 * refuses lines longer than inih's buffer instead of splitting them.
 */
static char *config_reader(char *str, int num, void *stream)
{
	struct config_ctx *ctx = stream;
	size_t len;
	int c;

	if (!fgets(str, num, ctx->f))
		return NULL;
	ctx->line++;
	len = strlen(str);
	if (len == 0 || str[len - 1] == '\n' || feof(ctx->f))
		return str;
	while ((c = fgetc(ctx->f)) != EOF && c != '\n')
		;
	config_fail(ctx, "line longer than %d bytes", num - 2);
	str[0] = '\0';
	return str;
}

int config_load(struct config *cfg, const char *path, char *err,
		size_t errlen)
{
	struct config_ctx ctx = {
		.cfg = cfg, .path = path, .err = err, .errlen = errlen,
	};
	int ret, saved;

	ctx.f = fopen(path, "re");
	if (!ctx.f) {
		saved = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(saved));
		return -saved;
	}
	ret = ini_parse_stream(config_reader, &ctx, config_handler, &ctx);
	fclose(ctx.f);
	if (ret == -2) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (ret > 0 && (!ctx.failed || (unsigned)ret < ctx.fail_line)) {
		/* inih found a syntax error before any of ours. */
		ctx.failed = false;
		ctx.line = (unsigned)ret;
		config_fail(&ctx, "syntax error (expected [section] or key = value)");
	}
	return ctx.failed ? -EINVAL : 0;
}

struct config_quota config_quota_for(const struct config *cfg, uid_t uid)
{
	struct config_uid_quota *q;

	HASH_FIND(hh, cfg->uid_quotas, &uid, sizeof(uid), q);
	return q ? q->quota : cfg->quota;
}
