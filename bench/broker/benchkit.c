/* SPDX-License-Identifier: MIT */
#include "benchkit.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

uint64_t benchkit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int benchkit_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double benchkit_pct(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), benchkit_cmp_u64);
	return (double)v[(size_t)(p * (double)(n - 1) + 0.5)];
}

int benchkit_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

/* Every thread: sched_setaffinity() on a pid moves that one thread only,
 * and the daemon's worker thread does the large allocations. */
int benchkit_pin(pid_t pid, int cpu)
{
	char path[64];
	cpu_set_t set;
	struct dirent *e;
	DIR *dir;
	int ret = 0, n = 0;

	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
	} else {
		for (int i = 0; i < benchkit_ncpus() && i < CPU_SETSIZE; i++)
			CPU_SET(i, &set);
	}
	snprintf(path, sizeof(path), "/proc/%d/task",
		 (int)(pid ? pid : getpid()));
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		pid_t tid = (pid_t)atoi(e->d_name);

		if (tid <= 0)
			continue;
		if (sched_setaffinity(tid, sizeof(set), &set) < 0 && errno != ESRCH)
			ret = -errno;
		n++;
	}
	closedir(dir);
	return ret < 0 ? ret : n ? 0 : -ESRCH;
}
