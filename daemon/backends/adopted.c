/* SPDX-License-Identifier: MIT */
/*
 * adopted: dma-bufs that clients got elsewhere (a V4L2 EXPBUF, a GBM
 * buffer) and registered under a name.  The broker allocates nothing here;
 * it keeps a reference and hands out dups.  Another exporter's dma-buf
 * cannot be made read-only for devices, so read-only is refused.
 */
#include "backend.h"

#include <stdio.h>

static int backend_adopted_probe(struct backend *be, const struct config *cfg,
				 char *why, size_t len)
{
	snprintf(be->detail, sizeof(be->detail),
		 "dma-bufs published by clients (no allocation)");
	return 0;
}

const struct backend_ops backend_adopted_ops = {
	.probe = backend_adopted_probe,
	.export_fd = backend_export_shared,
};
