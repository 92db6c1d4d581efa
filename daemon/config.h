/* SPDX-License-Identifier: MIT */
/*
 * The broker's configuration: defaults, an ini file read with libinih, and
 * command-line overrides.  Errors name file:line.
 */
#ifndef DBB_CONFIG_H
#define DBB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uthash.h>

#include "names.h"

#define CONFIG_DEFAULT_SOCKET "/run/dmabuf-broker/socket"
#define CONFIG_DEFAULT_BACKENDS "kmod,heap,udmabuf,drm,memfd"
#define CONFIG_DEFAULT_HEAPS "system linux,cma reserved"
#define CONFIG_MAX_BACKENDS 8
#define CONFIG_ERR_MAX 512

struct config_quota {
	uint64_t bytes;		/* 0: unlimited */
	uint64_t buffers;	/* 0: unlimited */
};

/* A [quota.UID] section. */
struct config_uid_quota {
	UT_hash_handle hh;
	uid_t uid;
	struct config_quota quota;
};

struct config {
	char *socket_path;
	mode_t socket_mode;
	/* Probe order; names are the backend table's own strings. */
	const char *backends[CONFIG_MAX_BACKENDS];
	size_t nbackends;
	/* dma-heaps the heap backend tries, in order, separated by blanks
	 * (heap names may contain commas: "linux,cma"). */
	char *heaps;
	/* DRM node of the drm backend; NULL: the first card that makes
	 * dumb buffers. */
	char *drm_device;
	uint32_t max_clients;
	uint32_t max_clients_per_uid;		/* but root's */
	/* Of max_clients, kept for root (at most half of them). */
	uint32_t root_reserved_clients;
	uint32_t max_request_size;
	uint64_t max_buffer_size;
	/* Bytes all buffers together may take; 0: derived at start from
	 * RAM and the broker's cgroup (limits_default_total()). */
	uint64_t max_total_bytes;
	uint32_t max_holds_per_client;
	/* What the output queues of one uid's connections may hold
	 * together (0: no bound beyond each queue's own). */
	uint64_t max_queued_bytes_per_uid;
	uint32_t max_queued_fds_per_uid;
	/* Large Allocs on the worker at once, per uid but root. */
	uint32_t max_jobs_per_uid;
	uint32_t hello_timeout;			/* seconds; 0: none */
	/* How long a broken connection's session waits for its client to
	 * resume it (resume.c); 0: sessions end with their connection. */
	uint32_t resume_grace_ms;
	uint32_t max_detached_per_uid;		/* sessions waiting, per uid */
	struct config_quota quota;		/* default for every uid */
	struct config_uid_quota *uid_quotas;
	/* [names]: prefixes reserved for a user or a group (names.h). */
	struct names_policy names;
};

/* Sets every field to its default.  Returns 0 or -ENOMEM. */
int config_init(struct config *cfg);

/* Frees what @cfg owns (not @cfg itself).  Accepts NULL. */
void config_fini(struct config *cfg);

/*
 * Reads @path into @cfg (over its current values).  On error returns a
 * negative errno (-ENOENT/-EACCES for an unreadable file, -EINVAL for bad
 * content, -ENOMEM) and writes a message naming "file:line" to @err.
 */
int config_load(struct config *cfg, const char *path, char *err,
		size_t errlen);

/*
 * Sets the backend probe order from a comma-separated list of the names in
 * the backend table (daemon/backends/backend.c).  Returns 0 or -EINVAL (message in
 * @err).
 */
int config_set_backends(struct config *cfg, const char *list, char *err,
			size_t errlen);

/* Replaces the string *@field with a copy of @value (NULL: none).
 * Returns 0 or -ENOMEM. */
int config_set_string(char **field, const char *value);

/* Sets the socket path (copied).  Returns 0 or -ENOMEM. */
int config_set_socket(struct config *cfg, const char *path);

/* The quota that applies to @uid. */
struct config_quota config_quota_for(const struct config *cfg, uid_t uid);

/*
 * Parses a size: decimal digits with an optional K, M, G or T suffix
 * (powers of 1024).  Returns 0 or -EINVAL (also on overflow).
 */
int config_parse_size(const char *s, uint64_t *out);

#endif
