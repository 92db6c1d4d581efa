/* SPDX-License-Identifier: MIT */
/*
 * What the broker's benchmarks share: a clock, percentiles, and placing
 * processes on CPUs.  A wake-up across cores costs tens of microseconds on
 * a VM, more than a whole round trip on one core, so a figure and its
 * baseline are only comparable when their processes sit alike: the
 * benchmarks pin both the same way and say where.
 *
 * Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef DBB_BENCHKIT_H
#define DBB_BENCHKIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t benchkit_now_ns(void);

/* The @p quantile (0..1) of @v[0..@n), which is sorted in place; @n > 0. */
double benchkit_pct(uint64_t *v, size_t n, double p);

/* Online CPUs (at least 1). */
int benchkit_ncpus(void);

/*
 * Pins every thread of process @pid (0: the caller's process) to CPU
 * @cpu, or lets them run anywhere again when @cpu is negative.  Threads
 * started later inherit their creator's set.
 */
int benchkit_pin(pid_t pid, int cpu);

#endif
