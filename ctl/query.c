/* SPDX-License-Identifier: MIT */
/*
 * Commands that only read the broker's state: status, list, info, holders,
 * stats, backends, names, pools, pool-info.
 */
#include "ctl.h"

#include <inttypes.h>
#include <stdio.h>

static void query_status_down(struct ctl *ctl)
{
	json_object *o;

	if (!ctl->json)
		return;	/* ctl_connect() said why on stderr */
	o = json_object_new_object();
	json_object_object_add(o, "up", json_object_new_boolean(0));
	json_object_object_add(o, "socket", json_object_new_string(ctl->socket));
	ctl_print_json(o);
}

static void query_status_json(struct ctl *ctl, const struct dbb_stats *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "up", json_object_new_boolean(1));
	json_object_object_add(o, "socket", json_object_new_string(ctl->socket));
	json_object_object_add(o, "version", json_object_new_string(
				       dbb_client_get_server_version(ctl->client)));
	json_object_object_add(o, "client_id", json_object_new_uint64(
				       dbb_client_get_id(ctl->client)));
	json_object_object_add(o, "stats", jsonout_stats(st));
	ctl_print_json(o);
}

int query_status(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_stats st = { .struct_size = sizeof(st) };
	char up[48], mem[32];
	int ret;

	if (ctl_connect(ctl) != CTL_EXIT_OK) {
		query_status_down(ctl);
		return CTL_EXIT_CONNECT;
	}
	ret = dbb_stats(ctl->client, &st);
	if (ret < 0)
		return ctl_fail(ctl, ret, "status");
	if (ctl->json) {
		query_status_json(ctl, &st);
		return CTL_EXIT_OK;
	}
	printf("broker:    up at %s\n", ctl->socket);
	printf("version:   %s\n", dbb_client_get_server_version(ctl->client));
	printf("client id: %" PRIu64 "\n", dbb_client_get_id(ctl->client));
	printf("uptime:    %s\n", format_duration(st.uptime_usec, up, sizeof(up)));
	printf("clients:   %" PRIu64 "\n", st.clients);
	printf("buffers:   %" PRIu64 " (%" PRIu64 " named, %" PRIu64
	       " persistent), %s\n", st.buffers, st.named, st.persistent,
	       format_size(st.bytes, mem, sizeof(mem)));
	if (st.max_total_bytes) {
		char cap[32];

		printf("memory:    %s of the %s all buffers may take\n",
		       format_size(st.charged_bytes, mem, sizeof(mem)),
		       format_size(st.max_total_bytes, cap, sizeof(cap)));
	}
	return CTL_EXIT_OK;
}

int query_list(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_buffer_list *list;
	int ret = ctl_connect(ctl);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_list(ctl->client, &list);
	if (ret < 0)
		return ctl_fail(ctl, ret, "list");
	if (ctl->json)
		ctl_print_json(jsonout_list(list));
	else
		print_list(list);
	dbb_buffer_list_free(list);
	return CTL_EXIT_OK;
}

/* Fetches the description of the buffer or pool named by @arg. */
static int query_fetch(struct ctl *ctl, const char *arg,
		       struct dbb_buffer_info **info, struct dbb_pool_info **pool)
{
	struct ctl_target t;
	int ret = ctl_parse_target(arg, &t);

	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = ctl_fetch(ctl, &t, info, pool);
	return ret < 0 ? ctl_fail(ctl, ret, arg) : CTL_EXIT_OK;
}

/* Prints pool @info and frees it. */
static int query_show_pool(struct ctl *ctl, struct dbb_pool_info *info)
{
	if (ctl->json)
		ctl_print_json(jsonout_pool(info));
	else
		print_pool(info);
	dbb_pool_info_free(info);
	return CTL_EXIT_OK;
}

int query_info(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_buffer_info *info;
	struct dbb_pool_info *pool;
	int ret = query_fetch(ctl, argv[0], &info, &pool);

	if (ret != CTL_EXIT_OK)
		return ret;
	if (pool)
		return query_show_pool(ctl, pool);
	if (ctl->json) {
		ctl_print_json(jsonout_info(info));
	} else {
		print_info(info);
		if (info->n_holders)
			print_holders(info);
	}
	dbb_buffer_info_free(info);
	return CTL_EXIT_OK;
}

int query_holders(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_buffer_info *info;
	struct dbb_pool_info *pool;
	int ret = query_fetch(ctl, argv[0], &info, &pool);

	if (ret != CTL_EXIT_OK)
		return ret;
	if (pool) {
		dbb_pool_info_free(pool);
		return ctl_usage_error("'%s' is a pool: its buffers, which "
				       "pool-info lists, have holders", argv[0]);
	}
	if (ctl->json) {
		json_object *o = jsonout_info(info);
		json_object *holders = NULL;

		json_object_object_get_ex(o, "holders", &holders);
		ctl_print_json(json_object_get(holders));
		json_object_put(o);
	} else {
		print_holders(info);
	}
	dbb_buffer_info_free(info);
	return CTL_EXIT_OK;
}

int query_stats(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int ret = ctl_connect(ctl);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_stats(ctl->client, &st);
	if (ret < 0)
		return ctl_fail(ctl, ret, "stats");
	if (ctl->json)
		ctl_print_json(jsonout_stats(&st));
	else
		print_stats(&st);
	return CTL_EXIT_OK;
}

int query_backends(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_backend_list *list;
	int ret = ctl_connect(ctl);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_backends(ctl->client, &list);
	if (ret < 0)
		return ctl_fail(ctl, ret, "backends");
	if (ctl->json)
		ctl_print_json(jsonout_backends(list));
	else
		print_backends(list);
	dbb_backend_list_free(list);
	return CTL_EXIT_OK;
}

int query_names(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_name_list *list;
	int ret = ctl_connect(ctl);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_names(ctl->client, &list);
	if (ret < 0)
		return ctl_fail(ctl, ret, "names");
	if (ctl->json)
		ctl_print_json(jsonout_names(list));
	else
		print_names(list);
	dbb_name_list_free(list);
	return CTL_EXIT_OK;
}

int query_pools(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_pool_list *list;
	int ret = ctl_connect(ctl);

	if (ret != CTL_EXIT_OK)
		return ret;
	ret = dbb_pools(ctl->client, &list);
	if (ret < 0)
		return ctl_fail(ctl, ret, "pools");
	if (ctl->json)
		ctl_print_json(jsonout_pools(list));
	else
		print_pools(list);
	dbb_pool_list_free(list);
	return CTL_EXIT_OK;
}

int query_pool_info(struct ctl *ctl, int argc, char **argv)
{
	struct dbb_pool_info *info;
	struct ctl_target t;
	int ret = ctl_parse_target(argv[0], &t);

	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = ctl_fetch_pool(ctl, &t, &info);
	if (ret < 0)
		return ctl_fail(ctl, ret, argv[0]);
	return query_show_pool(ctl, info);
}
