/* SPDX-License-Identifier: MIT */
#include "broker.h"

#include <time.h>

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
