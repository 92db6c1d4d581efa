/* SPDX-License-Identifier: MIT */
/*
 * Turning values into text for people (sizes, times, DRM formats) and
 * parsing what people type (sizes with suffixes, numbers).
 */
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xf86drm.h>

const char *format_size(uint64_t bytes, char *buf, size_t cap)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, cap, "%" PRIu64 " B", bytes);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, cap, "%" PRIu64 " %s", (uint64_t)v, units[u]);
	else
		snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

const char *format_duration(uint64_t usec, char *buf, size_t cap)
{
	uint64_t s = usec / 1000000;

	if (s >= 86400)
		snprintf(buf, cap, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m",
			 s / 86400, s / 3600 % 24, s / 60 % 60);
	else if (s >= 3600)
		snprintf(buf, cap, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
			 s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, cap, "%" PRIu64 "m %02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 "s", s,
			 usec / 1000 % 1000);
	return buf;
}

const char *format_time(uint64_t realtime_usec, char *buf, size_t cap)
{
	time_t t = (time_t)(realtime_usec / 1000000);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S %z", &tm))
		snprintf(buf, cap, "%" PRIu64, realtime_usec);
	return buf;
}

const char *format_lifetime(enum dbb_lifetime l)
{
	switch (l) {
	case DBB_LIFETIME_CLIENT: return "client";
	case DBB_LIFETIME_PERSISTENT: return "persistent";
	default: return "unknown";
	}
}

const char *format_access(enum dbb_access a)
{
	switch (a) {
	case DBB_ACCESS_NONE: return "none";
	case DBB_ACCESS_READ: return "ro";
	case DBB_ACCESS_READ_WRITE: return "rw";
	default: return "unknown";
	}
}

const char *format_name_owner(enum dbb_name_owner o)
{
	switch (o) {
	case DBB_NAME_OWNER_UID: return "user";
	case DBB_NAME_OWNER_GID: return "group";
	case DBB_NAME_OWNER_EVERYONE: return "everyone";
	default: return "unknown";
	}
}

const char *format_policy(enum dbb_queue_policy p)
{
	switch (p) {
	case DBB_QUEUE_HOLD: return "hold";
	case DBB_QUEUE_DROP_OLDEST: return "drop-oldest";
	case DBB_QUEUE_LATEST: return "latest";
	default: return "unknown";
	}
}

const char *format_usec(uint64_t usec, char *buf, size_t cap)
{
	if (usec < 1000)
		snprintf(buf, cap, "%" PRIu64 "us", usec);
	else if (usec < 1000000)
		snprintf(buf, cap, "%.1fms", (double)usec / 1000);
	else
		snprintf(buf, cap, "%.2fs", (double)usec / 1000000);
	return buf;
}

const char *format_event(enum dbb_event_type t)
{
	switch (t) {
	case DBB_EVENT_CREATED: return "created";
	case DBB_EVENT_NAMED: return "named";
	case DBB_EVENT_DESTROYED: return "destroyed";
	case DBB_EVENT_GRANTED: return "granted";
	case DBB_EVENT_POOL_CREATED: return "pool-created";
	case DBB_EVENT_POOL_DESTROYED: return "pool-destroyed";
	case DBB_EVENT_QUEUE_CREATED: return "queue-created";
	case DBB_EVENT_QUEUE_DESTROYED: return "queue-destroyed";
	default: return "unknown";
	}
}

char *format_fourcc(uint32_t fourcc)
{
	char *name = drmGetFormatName(fourcc);

	return name ? name : strdup("?");
}

char *format_modifier(uint64_t modifier)
{
	char *name = drmGetFormatModifierName(modifier);
	char *out;

	if (name)
		return name;
	if (asprintf(&out, "0x%016" PRIx64, modifier) < 0)
		return NULL;
	return out;
}

const char *format_layout_short(const struct dbb_buffer_info *info, char *buf,
				size_t cap)
{
	char *name;

	if (!info->layout)
		return "-";
	name = format_fourcc(info->layout->fourcc);
	snprintf(buf, cap, "%s %" PRIu32 "x%" PRIu32, name ? name : "?",
		 info->layout->width, info->layout->height);
	free(name);
	return buf;
}

int format_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int format_parse_u32(const char *s, uint32_t *out)
{
	uint64_t v;

	if (format_parse_u64(s, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Bytes with an optional binary suffix: 4096, 64K, 8M, 8MiB, 1G, 1T. */
int format_parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	unsigned shift = 0;
	const char *p;
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		p = strchr(suffixes, end[0] & ~0x20);
		if (!p || !end[0])
			return -EINVAL;
		shift = 10 * (unsigned)(p - suffixes + 1);
		end++;
		if (strcmp(end, "") && strcmp(end, "iB") && strcmp(end, "B"))
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}
