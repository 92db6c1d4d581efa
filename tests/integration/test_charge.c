/* SPDX-License-Identifier: MIT */
/*
 * Memory cgroups through the broker (kmod backend only): an Alloc is
 * charged to the memory cgroup of the client that asked, never to the
 * broker's.  The test builds cgroup2 groups of its own under
 * /sys/fs/cgroup/dbb_charge.<pid>/: "broker" (the daemon is moved there
 * once started), "limited" (memory.max 64 MiB) and "other"; each client is
 * a child process that moves itself into its group before it connects.
 *   - the limited client's 256 MiB Alloc fails with ENOMEM, and nothing of
 *     it stays charged to the client or to the broker;
 *   - the other client's 256 MiB Alloc succeeds: its group's
 *     memory.current rises by the buffer's size and falls back once the
 *     buffer is removed, and the broker's does not rise.
 * The figures are printed.  Tolerance: CHARGE_TOLERANCE (4 MiB) for the
 * kernel's batched charges (64 pages a CPU), the client's own connection
 * and the dma-buf's file, far below the buffer.  Needs root, the module,
 * and cgroup2 with +memory at its root (tests/kmod/guest.sh sets that up
 * in the test guests); SKIPs otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"

#define WAIT_MS harness_timeout_ms(30000)
#define MiB (1ull << 20)
#define CG_ROOT "/sys/fs/cgroup"
#define CHARGE_BIG (256 * MiB)
#define CHARGE_TOLERANCE (4 * MiB)

struct fixture {
	struct harness_daemon d;
	char base[128];
	char broker[160];
	char limited[160];
	char other[160];
};

static int cg_write(const char *dir, const char *file, const char *value)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		ret = -errno;
	close(fd);
	return ret;
}

/* memory.current of @dir in bytes, or -1. */
static long long cg_current(const char *dir)
{
	char path[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.current", dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static bool cg_memory_enabled(void)
{
	char line[256] = "";
	FILE *f = fopen(CG_ROOT "/cgroup.subtree_control", "re");

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n"))
		if (!strcmp(tok, "memory"))
			return true;
	return false;
}

static void cg_remove(struct fixture *f)
{
	rmdir(f->limited);
	rmdir(f->other);
	rmdir(f->broker);
	rmdir(f->base);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char pid[32];

	*state = f;
	if (!f)
		return -1;
	if (strcmp(harness_backend(), "kmod") || geteuid() != 0 ||
	    access("/dev/dmabuf_sg", F_OK) < 0 || !cg_memory_enabled())
		return 0;	/* the test skips: f->base stays empty */
	snprintf(f->base, sizeof(f->base), CG_ROOT "/dbb_charge.%d", getpid());
	snprintf(f->broker, sizeof(f->broker), "%s/broker", f->base);
	snprintf(f->limited, sizeof(f->limited), "%s/limited", f->base);
	snprintf(f->other, sizeof(f->other), "%s/other", f->base);
	if (mkdir(f->base, 0755) < 0 ||
	    cg_write(f->base, "cgroup.subtree_control", "+memory") < 0 ||
	    mkdir(f->broker, 0755) < 0 || mkdir(f->limited, 0755) < 0 ||
	    mkdir(f->other, 0755) < 0 ||
	    cg_write(f->limited, "memory.max", "64M") < 0 ||
	    harness_daemon_start(&f->d, NULL) < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d", (int)f->d.pid);
	return cg_write(f->broker, "cgroup.procs", pid) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int status = 0;

	if (f && f->base[0]) {
		status = harness_daemon_stop(&f->d);
		cg_remove(f);
	}
	free(f);
	return status == 0 ? 0 : -1;
}

/* A client in group arg: joins it, connects, allocates CHARGE_BIG on the
 * kmod backend and posts 'a' (allocated) or 'n' (ENOMEM); holding the
 * buffer, it waits for the parent's 'f', then removes it and posts 'f'. */
static int client_alloc(struct harness_ctx *ctx, void *arg)
{
	const struct dbb_alloc_params p = {
		.struct_size = sizeof(p), .size = CHARGE_BIG,
		.name = "charged", .backend = "kmod",
	};
	struct dbb_client *c;
	struct dbb_buffer *b = NULL;
	int ret;

	CHILD_CHECK(cg_write(arg, "cgroup.procs", "0") == 0);
	CHILD_CHECK(dbb_client_connect(ctx->socket, "charged", &c) == 0);
	ret = dbb_alloc(c, &p, &b);
	if (ret == -ENOMEM) {
		CHILD_CHECK(harness_post(ctx->out, 'n') == 0);
		dbb_client_destroy(c);
		return 0;
	}
	CHILD_CHECK(ret == 0);
	CHILD_CHECK(harness_post(ctx->out, 'a') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'f');
	CHILD_CHECK(dbb_remove(c, dbb_buffer_get_info(b)->id) == 0);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	CHILD_CHECK(harness_post(ctx->out, 'f') == 0);
	return 0;
}

static void assert_near(const char *what, long long expected, long long seen)
{
	long long diff = seen > expected ? seen - expected : expected - seen;

	print_message("# %s: expected %lld KiB, memory.current %lld KiB\n",
		      what, expected >> 10, seen >> 10);
	assert_true(seen >= 0);
	assert_in_range(diff, 0, CHARGE_TOLERANCE);
}

/* memory.current of @dir once within the tolerance of @want (the
 * kernel's release of the pages follows the broker's close); the last
 * value seen after WAIT_MS otherwise. */
static long long cg_wait_current(const char *dir, long long want)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	long long seen;

	for (;;) {
		seen = cg_current(dir);
		if (llabs(seen - want) <= (long long)CHARGE_TOLERANCE ||
		    harness_now_ms() > end)
			return seen;
		usleep(10000);
	}
}

/* The client over its memory.max is refused; nothing stays charged. */
static void test_charge_limited(void **state)
{
	struct fixture *f = *state;
	struct harness_child ch;
	long long before, broker_before;

	if (!f->base[0])
		skip();
	before = cg_current(f->limited);
	broker_before = cg_current(f->broker);
	print_message("# limited: memory.max 64 MiB, memory.current %lld KiB; "
		      "broker %lld KiB\n", before >> 10, broker_before >> 10);
	assert_int_equal(0, harness_child_start(&ch, f->d.socket,
						client_alloc, f->limited));
	assert_int_equal('n', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, harness_child_wait(&ch, WAIT_MS));
	assert_near("limited after the refused 256 MiB", before,
		    cg_wait_current(f->limited, before));
	assert_near("broker meanwhile", broker_before, cg_current(f->broker));
}

/* The other client's buffer is charged to it, not to the broker. */
static void test_charge_other(void **state)
{
	struct fixture *f = *state;
	struct harness_child ch;
	long long before, broker_before;

	if (!f->base[0])
		skip();
	before = cg_current(f->other);
	broker_before = cg_current(f->broker);
	print_message("# other: memory.current %lld KiB; broker %lld KiB\n",
		      before >> 10, broker_before >> 10);
	assert_int_equal(0, harness_child_start(&ch, f->d.socket,
						client_alloc, f->other));
	assert_int_equal('a', harness_await(ch.from_child, WAIT_MS));
	assert_near("other holding 256 MiB", before + (long long)CHARGE_BIG,
		    cg_current(f->other));
	assert_near("broker meanwhile", broker_before, cg_current(f->broker));
	assert_int_equal(0, harness_post(ch.to_child, 'f'));
	assert_int_equal('f', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, harness_child_wait(&ch, WAIT_MS));
	assert_near("other after the remove", before,
		    cg_wait_current(f->other, before));
	assert_near("broker after", broker_before, cg_current(f->broker));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_charge_limited, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_charge_other, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
