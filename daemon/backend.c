/* SPDX-License-Identifier: MIT */
#include "backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct backend_known {
	const char *name;
	bool is_dmabuf;
	const struct backend_ops *ops;
};

/* Every provider the design names; NULL ops are not written yet. */
static const struct backend_known backend_known[] = {
	{ "kmod", true, NULL },
	{ "heap", true, NULL },
	{ "udmabuf", true, NULL },
	{ "drm", true, NULL },
	{ "memfd", false, &backend_memfd_ops },
};

static const struct backend_known *backend_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(backend_known) / sizeof(backend_known[0]); i++) {
		if (!strcmp(backend_known[i].name, name))
			return &backend_known[i];
	}
	return NULL;
}

static void backend_probe_one(struct backend *be,
			      const struct backend_known *k)
{
	memset(be, 0, sizeof(*be));
	be->name = k->name;
	be->is_dmabuf = k->is_dmabuf;
	be->ops = k->ops;
	if (!k->ops) {
		snprintf(be->detail, sizeof(be->detail),
			 "not implemented in this version");
		return;
	}
	be->available = k->ops->probe(be, be->detail, sizeof(be->detail)) == 0;
	if (be->available)
		k->ops->describe(be, be->detail, sizeof(be->detail));
}

int backend_set_probe(struct backend_set *set, const char *const *names,
		      size_t n)
{
	memset(set, 0, sizeof(*set));
	set->preferred = -1;
	for (size_t i = 0; i < n && set->n < BACKEND_MAX; i++) {
		const struct backend_known *k = backend_lookup(names[i]);
		struct backend *be = &set->list[set->n];

		if (!k)
			continue;
		backend_probe_one(be, k);
		if (be->available && set->preferred < 0)
			set->preferred = (int)set->n;
		set->n++;
	}
	return set->preferred < 0 ? -ENODEV : 0;
}

void backend_set_close(struct backend_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++) {
		struct backend *be = &set->list[i];

		if (be->available && be->ops->close)
			be->ops->close(be);
		be->available = false;
	}
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
