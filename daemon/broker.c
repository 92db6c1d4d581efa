/* SPDX-License-Identifier: MIT */
#include "broker.h"

#include <time.h>

const char *const broker_features[] = {
	"alloc-format",		/* AllocRequest fourcc/width/height/modifiers */
	"contiguous",		/* ALLOC_FLAG_CONTIGUOUS */
	"read-only",		/* ImportRequest.read_only, enforced or refused */
	"pin",			/* PinRequest */
	"adopt",		/* AdoptRequest */
	NULL,
};

uint64_t broker_monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t broker_uptime_usec(const struct broker *b)
{
	return broker_monotonic_usec() - b->start_usec;
}
