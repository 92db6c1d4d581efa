/* SPDX-License-Identifier: MIT */
/*
 * Human-readable output: key/value blocks and tables.
 */
#include "ctl.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRINT_NAME_MAX 40

static const char *print_name(const char *name)
{
	return *name ? name : "-";
}

static void print_layout(const struct dbb_image_layout *l)
{
	char *fourcc = format_fourcc(l->fourcc);
	char *mod = format_modifier(l->modifier);

	printf("format:      %s (0x%08" PRIx32 "), modifier %s\n",
	       fourcc ? fourcc : "?", l->fourcc, mod ? mod : "?");
	printf("dimensions:  %" PRIu32 "x%" PRIu32 "\n", l->width, l->height);
	for (uint32_t i = 0; i < l->n_planes && i < DBB_MAX_PLANES; i++)
		printf("plane %" PRIu32 ":     offset %" PRIu32 ", stride %" PRIu32 "\n",
		       i, l->planes[i].offset, l->planes[i].stride);
	free(fourcc);
	free(mod);
}

/* One grant of a list that starts with "grants:". */
static void print_grant(const struct dbb_grant *g, size_t i, size_t n)
{
	if (i == 0)
		printf("grants:      ");
	else
		printf(", ");
	if (g->subject == DBB_GRANT_EVERYONE)
		printf("everyone %s", format_access(g->access));
	else
		printf("%s:%" PRIu32 " %s",
		       g->subject == DBB_GRANT_UID ? "uid" : "gid", g->id,
		       format_access(g->access));
	if (i + 1 == n)
		printf("\n");
}

static void print_grants(const struct dbb_buffer_info *info)
{
	if (!info->n_grants)
		printf("grants:      none (owner only)\n");
	for (size_t i = 0; i < info->n_grants; i++)
		print_grant(dbb_buffer_info_get_grant(info, i), i, info->n_grants);
}

void print_info(const struct dbb_buffer_info *info)
{
	char size[32], when[64];

	printf("id:          %" PRIu64 "\n", info->id);
	printf("name:        %s\n", print_name(info->name));
	printf("size:        %s (%" PRIu64 " bytes)\n",
	       format_size(info->size, size, sizeof(size)), info->size);
	printf("backend:     %s (%s)\n", info->backend,
	       info->is_dmabuf ? "dma-buf" : "not a dma-buf");
	/* The owner's pid and name go to the owner and root only. */
	if (info->owner_pid)
		printf("owner:       uid %" PRIu32 ", pid %" PRIu32 " (%s)\n",
		       info->owner_uid, info->owner_pid,
		       print_name(info->owner_name));
	else
		printf("owner:       uid %" PRIu32 "\n", info->owner_uid);
	printf("lifetime:    %s\n", format_lifetime(info->lifetime));
	printf("created:     %s\n", format_time(info->created_usec, when, sizeof(when)));
	if (info->pool_id)
		printf("pool:        %" PRIu64 ", buffer %" PRIu32 "\n",
		       info->pool_id, info->pool_index);
	if (info->read_only)
		printf("this fd:     read-only\n");
	if (info->sg_entries)
		printf("memory:      %" PRIu32 " scatter-gather entr%s%s\n",
		       info->sg_entries, info->sg_entries == 1 ? "y" : "ies",
		       info->contiguous ? " (physically contiguous)" : "");
	if (info->layout)
		print_layout(info->layout);
	print_grants(info);
	printf("holders:     %zu\n", info->n_holders);
}

void print_holders(const struct dbb_buffer_info *info)
{
	printf("%-10s %-7s %-8s %-6s %s\n", "CLIENT", "UID", "PID", "ACCESS", "NAME");
	for (size_t i = 0; i < info->n_holders; i++) {
		const struct dbb_holder *h = dbb_buffer_info_get_holder(info, i);

		/* Who holds another's buffer is for its owner and root; to
		 * others the broker sends anonymous holders (client id 0). */
		if (!h->client_id) {
			printf("%-10s %-7s %-8s %-6s %s\n", "-", "-", "-",
			       h->writable ? "rw" : "ro", "-");
			continue;
		}
		printf("%-10" PRIu64 " %-7" PRIu32 " %-8" PRIu32 " %-6s %s\n",
		       h->client_id, h->uid, h->pid, h->writable ? "rw" : "ro",
		       print_name(h->client_name));
	}
}

static int print_name_width(const struct dbb_buffer_list *list)
{
	size_t w = 4;

	for (size_t i = 0; i < dbb_buffer_list_count(list); i++) {
		size_t n = strlen(dbb_buffer_list_get(list, i)->name);

		if (n > w)
			w = n;
	}
	return (int)(w > PRINT_NAME_MAX ? PRINT_NAME_MAX : w);
}

void print_list(const struct dbb_buffer_list *list)
{
	int nw = print_name_width(list);

	printf("%-6s %-*s %10s %-8s %-7s %-10s %7s %s\n", "ID", nw, "NAME", "SIZE",
	       "BACKEND", "OWNER", "LIFETIME", "HOLDERS", "FORMAT");
	for (size_t i = 0; i < dbb_buffer_list_count(list); i++) {
		const struct dbb_buffer_info *b = dbb_buffer_list_get(list, i);
		char size[32], fmt[64];

		printf("%-6" PRIu64 " %-*s %10s %-8s %-7" PRIu32 " %-10s %7zu %s\n",
		       b->id, nw, print_name(b->name),
		       format_size(b->size, size, sizeof(size)), b->backend,
		       b->owner_uid, format_lifetime(b->lifetime), b->n_holders,
		       format_layout_short(b, fmt, sizeof(fmt)));
	}
}

/* "N of MAX" or "N (unlimited)". */
static void print_quota(const char *what, const char *used, uint64_t max,
			const char *max_text)
{
	if (max)
		printf("  %-13s %s of %s\n", what, used, max_text);
	else
		printf("  %-13s %s (unlimited)\n", what, used);
}

void print_stats(const struct dbb_stats *st)
{
	char a[32], b[32], up[48];

	printf("uptime:          %s\n", format_duration(st->uptime_usec, up, sizeof(up)));
	printf("clients:         %" PRIu64 " (max %" PRIu64 ")\n", st->clients,
	       st->max_clients);
	printf("buffers:         %" PRIu64 " (%" PRIu64 " named, %" PRIu64
	       " persistent)\n", st->buffers, st->named, st->persistent);
	printf("memory:          %s\n", format_size(st->bytes, a, sizeof(a)));
	if (st->max_total_bytes)
		printf("memory cap:      %s of %s taken (all buffers, lingering "
		       "ones too)\n", format_size(st->charged_bytes, a, sizeof(a)),
		       format_size(st->max_total_bytes, b, sizeof(b)));
	printf("requests:        %" PRIu64 " (%" PRIu64 " failed)\n", st->requests,
	       st->errors);
	printf("pools:           %" PRIu64 " (%" PRIu64 " with a queue)\n",
	       st->pools, st->queues);
	printf("frames:          %" PRIu64 " posted, %" PRIu64 " dropped\n",
	       st->frames_posted, st->frames_dropped);
	printf("max buffer size: %s\n", format_size(st->max_buffer_size, a, sizeof(a)));
	printf("your usage:\n");
	snprintf(a, sizeof(a), "%" PRIu64, st->my_buffers);
	snprintf(b, sizeof(b), "%" PRIu64, st->my_max_buffers);
	print_quota("buffers", a, st->my_max_buffers, b);
	format_size(st->my_bytes, a, sizeof(a));
	format_size(st->my_max_bytes, b, sizeof(b));
	print_quota("memory", a, st->my_max_bytes, b);
	/* Root's connections are bounded by max_clients alone. */
	if (st->max_clients_per_uid && geteuid() != 0) {
		snprintf(a, sizeof(a), "%" PRIu64, st->my_clients);
		snprintf(b, sizeof(b), "%" PRIu64, st->max_clients_per_uid);
		print_quota("clients", a, st->max_clients_per_uid, b);
	}
}

/* "ro,contig,pin,driver-layout,max=64M": what a backend can do. */
static const char *print_caps(const struct dbb_backend *b, char *buf,
			      size_t len)
{
	char max[32];

	snprintf(buf, len, "%s%s%s%s%s%s", b->read_only ? "ro," : "",
		 b->contiguous ? "contig," : "", b->pin ? "pin," : "",
		 b->driver_layout ? "driver-layout," : "",
		 b->max_size ? "max=" : "",
		 b->max_size ? format_size(b->max_size, max, sizeof(max)) : "");
	if (*buf && buf[strlen(buf) - 1] == ',')
		buf[strlen(buf) - 1] = '\0';
	return *buf ? buf : "-";
}

void print_backends(const struct dbb_backend_list *list)
{
	printf("%-8s %-11s %-7s %-28s %7s %10s %s\n", "NAME", "STATE",
	       "DMABUF", "CAN", "BUFFERS", "MEMORY", "DETAIL");
	for (size_t i = 0; i < dbb_backend_list_count(list); i++) {
		const struct dbb_backend *b = dbb_backend_list_get(list, i);
		char size[32], caps[96];

		printf("%-8s %-11s %-7s %-28s %7" PRIu64 " %10s %s\n", b->name,
		       b->preferred ? "preferred" :
		       b->available ? "available" : "unavailable",
		       b->is_dmabuf ? "yes" : "no",
		       print_caps(b, caps, sizeof(caps)), b->buffers,
		       format_size(b->bytes, size, sizeof(size)), b->detail);
	}
}

/* "user camera (uid 107)", "group 44" or "everyone". */
static const char *print_name_owner(const struct dbb_name_rule *r, char *buf,
				    size_t len)
{
	const char *idk = r->owner == DBB_NAME_OWNER_GID ? "gid" : "uid";

	if (r->owner == DBB_NAME_OWNER_EVERYONE)
		snprintf(buf, len, "everyone");
	else if (*r->owner_name)
		snprintf(buf, len, "%s %s (%s %" PRIu32 ")",
			 format_name_owner(r->owner), r->owner_name, idk,
			 r->id);
	else
		snprintf(buf, len, "%s %" PRIu32, idk, r->id);
	return buf;
}

void print_names(const struct dbb_name_list *list)
{
	if (dbb_name_list_count(list) == 0) {
		printf("no reserved names: every name is first come, first "
		       "served\n");
		return;
	}
	printf("%-24s %-32s %s\n", "PREFIX", "OWNER", "YOU");
	for (size_t i = 0; i < dbb_name_list_count(list); i++) {
		const struct dbb_name_rule *r = dbb_name_list_get(list, i);
		char owner[96];

		printf("%-24s %-32s %s\n", r->prefix,
		       print_name_owner(r, owner, sizeof(owner)),
		       r->caller_may_take ? "yes" : "no");
	}
}

void print_event(enum dbb_event_type type, const struct dbb_buffer_info *info)
{
	char size[32];

	printf("%-9s id=%" PRIu64 " name=%s size=%s backend=%s owner=%" PRIu32
	       " (%s) lifetime=%s\n", format_event(type), info->id,
	       print_name(info->name), format_size(info->size, size, sizeof(size)),
	       info->backend, info->owner_uid, print_name(info->owner_name),
	       format_lifetime(info->lifetime));
}

/* A pool event, and for a queue event the queue's policy and producer
 * (a pid of 0: not told who). */
void print_pool_event(enum dbb_event_type type, const struct dbb_pool_info *info)
{
	const struct dbb_queue_info *q = info->queue;
	char size[32];

	printf("%-9s id=%" PRIu64 " name=%s count=%" PRIu32 " size=%s backend=%s"
	       " owner=%" PRIu32 " (%s) lifetime=%s", format_event(type),
	       info->id, print_name(info->name), info->count,
	       format_size(info->buffer_size, size, sizeof(size)), info->backend,
	       info->owner_uid, print_name(info->owner_name),
	       format_lifetime(info->lifetime));
	if (q)
		printf(" policy=%s producer=%" PRIu32 " (%s)",
		       format_policy(q->policy), q->producer_pid,
		       print_name(q->producer_name));
	putchar('\n');
}

void print_hexdump(const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		printf("%08zx ", off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				putchar(' ');
			if (i < n)
				printf(" %02x", p[off + i]);
			else
				printf("   ");
		}
		printf("  |");
		for (size_t i = 0; i < n; i++)
			putchar(isprint(p[off + i]) ? p[off + i] : '.');
		printf("|\n");
	}
}

static void print_pool_queue(const struct dbb_queue_info *q)
{
	const struct dbb_queue_counters *c = &q->counters;
	char avg[32], max[32];

	printf("queue:       %s, ", format_policy(q->policy));
	if (q->max_in_flight)
		printf("at most %" PRIu32 " frames", q->max_in_flight);
	else
		printf("up to the whole pool");
	printf(" in flight per consumer, fence timeout %" PRIu32 " ms\n",
	       q->fence_timeout_ms);
	if (q->release_timeout_ms)
		printf("release:     within %" PRIu32 " ms or cut off; %" PRIu64
		       " consumers cut off\n", q->release_timeout_ms,
		       q->consumers_cut_off);
	else
		printf("release:     no timeout\n");
	if (q->producer_client_id)
		printf("producer:    client %" PRIu64 ", pid %" PRIu32 " (%s)\n",
		       q->producer_client_id, q->producer_pid,
		       print_name(q->producer_name));
	printf("frames:      %" PRIu64 " posted, %" PRIu64 " delivered, %" PRIu64
	       " released, %" PRIu64 " dropped, %" PRIu64 " in flight\n",
	       c->posted, c->delivered, c->released, c->dropped, c->in_flight);
	printf("fences:      %" PRIu64 " timed out; latency %s avg, %s max\n",
	       c->fence_timeouts,
	       format_usec(c->latency_avg_usec, avg, sizeof(avg)),
	       format_usec(c->latency_max_usec, max, sizeof(max)));
	printf("consumers:   %zu\n", q->n_consumers);
}

static void print_pool_consumers(const struct dbb_queue_info *q)
{
	printf("%-4s %-10s %-7s %-8s %9s %9s %9s %8s %9s %8s %8s %8s %s\n",
	       "SLOT", "CLIENT", "UID", "PID", "POSTED", "DELIVERED", "RELEASED",
	       "DROPPED", "IN-FLIGHT", "FENCE-TO", "LAT-AVG", "LAT-MAX", "NAME");
	for (size_t i = 0; i < q->n_consumers; i++) {
		const struct dbb_queue_consumer *c = dbb_queue_info_get_consumer(q, i);
		const struct dbb_queue_counters *k = &c->counters;
		char who[48], avg[32], max[32];

		/* As with holders, who a consumer is goes to the pool's
		 * owner and root; others get client id 0. */
		if (c->client_id)
			snprintf(who, sizeof(who), "%-10" PRIu64 " %-7" PRIu32
				 " %-8" PRIu32, c->client_id, c->uid, c->pid);
		else
			snprintf(who, sizeof(who), "%-10s %-7s %-8s", "-", "-", "-");
		printf("%-4" PRIu32 " %s %9" PRIu64 " %9" PRIu64 " %9" PRIu64
		       " %8" PRIu64 " %9" PRIu64 " %8" PRIu64 " %8s %8s %s\n",
		       c->slot, who, k->posted, k->delivered, k->released,
		       k->dropped, k->in_flight, k->fence_timeouts,
		       format_usec(k->latency_avg_usec, avg, sizeof(avg)),
		       format_usec(k->latency_max_usec, max, sizeof(max)),
		       c->client_id ? print_name(c->client_name) : "-");
	}
}

void print_pool(const struct dbb_pool_info *info)
{
	char size[32], when[64];

	printf("id:          %" PRIu64 "\n", info->id);
	printf("name:        %s\n", print_name(info->name));
	printf("buffers:     %" PRIu32 " of %s (%" PRIu64 " bytes) each\n",
	       info->count, format_size(info->buffer_size, size, sizeof(size)),
	       info->buffer_size);
	printf("backend:     %s (%s)\n", info->backend,
	       info->is_dmabuf ? "dma-buf" : "not a dma-buf");
	if (info->owner_pid)
		printf("owner:       uid %" PRIu32 ", pid %" PRIu32 " (%s)\n",
		       info->owner_uid, info->owner_pid,
		       print_name(info->owner_name));
	else
		printf("owner:       uid %" PRIu32 "\n", info->owner_uid);
	printf("lifetime:    %s\n", format_lifetime(info->lifetime));
	printf("created:     %s\n", format_time(info->created_usec, when, sizeof(when)));
	if (info->layout)
		print_layout(info->layout);
	if (!info->n_grants)
		printf("grants:      none (owner only)\n");
	for (size_t i = 0; i < info->n_grants; i++)
		print_grant(dbb_pool_info_get_grant(info, i), i, info->n_grants);
	if (info->queue)
		print_pool_queue(info->queue);
	else
		printf("queue:       none\n");

	/* Each member's holders are for `holders ID`: the broker leaves
	 * them out of a pool's description. */
	printf("\n%-5s %s\n", "INDEX", "BUFFER");
	for (size_t i = 0; i < info->n_buffers; i++) {
		const struct dbb_buffer_info *b = dbb_pool_info_get_buffer(info, i);

		printf("%-5" PRIu32 " %" PRIu64 "\n", b->pool_index, b->id);
	}
	if (info->queue && info->queue->n_consumers) {
		printf("\n");
		print_pool_consumers(info->queue);
	}
}

static int print_pool_name_width(const struct dbb_pool_list *list)
{
	size_t w = 4;

	for (size_t i = 0; i < dbb_pool_list_count(list); i++) {
		size_t n = strlen(dbb_pool_list_get(list, i)->name);

		if (n > w)
			w = n;
	}
	return (int)(w > PRINT_NAME_MAX ? PRINT_NAME_MAX : w);
}

void print_pools(const struct dbb_pool_list *list)
{
	int nw = print_pool_name_width(list);

	printf("%-6s %-*s %5s %10s %-8s %-7s %-10s %-11s %9s %9s %9s\n", "ID", nw,
	       "NAME", "COUNT", "SIZE", "BACKEND", "OWNER", "LIFETIME", "QUEUE",
	       "CONSUMERS", "POSTED", "DROPPED");
	for (size_t i = 0; i < dbb_pool_list_count(list); i++) {
		const struct dbb_pool_info *p = dbb_pool_list_get(list, i);
		const struct dbb_queue_info *q = p->queue;
		char size[32], consumers[24] = "-", posted[24] = "-", dropped[24] = "-";

		if (q) {
			snprintf(consumers, sizeof(consumers), "%zu", q->n_consumers);
			snprintf(posted, sizeof(posted), "%" PRIu64, q->counters.posted);
			snprintf(dropped, sizeof(dropped), "%" PRIu64, q->counters.dropped);
		}
		printf("%-6" PRIu64 " %-*s %5" PRIu32 " %10s %-8s %-7" PRIu32
		       " %-10s %-11s %9s %9s %9s\n", p->id, nw, print_name(p->name),
		       p->count, format_size(p->buffer_size, size, sizeof(size)),
		       p->backend, p->owner_uid, format_lifetime(p->lifetime),
		       q ? format_policy(q->policy) : "-", consumers, posted,
		       dropped);
	}
}
