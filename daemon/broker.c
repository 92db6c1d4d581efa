/* SPDX-License-Identifier: MIT */
#include "broker.h"

#include <time.h>

#include "config.h"

/* What every broker of this version can do. */
static const char *const broker_features_always[] = {
	"alloc-format",		/* AllocRequest fourcc/width/height/modifiers */
	"contiguous",		/* ALLOC_FLAG_CONTIGUOUS */
	"read-only",		/* ImportRequest.read_only, enforced or refused */
	"pin",			/* PinRequest */
	"adopt",		/* AdoptRequest */
	"owned-names",		/* [names] enforced, NamesRequest */
	"pools",		/* PoolAlloc, PoolOpen, Pools; pool ids */
	"queues",		/* QueueCreate, QueueAttach, QueueDetach */
	"queue-events",		/* Event QUEUE_CREATED, QUEUE_DESTROYED */
	"queue-cut-off",	/* QueueDetach.consumer_client_id, the
				   release timeout kept and reported */
};

#define BROKER_NALWAYS \
	(sizeof(broker_features_always) / sizeof(broker_features_always[0]))

_Static_assert(BROKER_NALWAYS + 1 <= BROKER_MAX_FEATURES,
	       "struct broker.features is too short");

void broker_init_features(struct broker *b)
{
	size_t n = 0;

	for (size_t i = 0; i < BROKER_NALWAYS; i++)
		b->features[n++] = broker_features_always[i];
	/* Hello.resume_token honoured (resume.c) */
	if (b->cfg->resume_grace_ms)
		b->features[n++] = "resume";
	b->features[n] = NULL;
}

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
