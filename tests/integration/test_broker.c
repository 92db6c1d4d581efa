/* SPDX-License-Identifier: MIT */
/*
 * Integration tests: a real dmabuf-brokerd on a private socket (one per
 * test), separate client processes that use libdmabuf-broker and share real
 * fds, and the bytes checked through mmap.  A child reports through its exit
 * status (0: every check passed; see CHILD_CHECK).  Every test ends by
 * stopping the daemon with SIGTERM and requiring exit status 0, so a daemon
 * under valgrind --error-exitcode fails the test that found the error.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"

#define NOBODY 65534
#define MIB (1024u * 1024u)
#define WAIT_MS harness_timeout_ms(10000)

struct fixture {
	struct harness_daemon d;
	const char *config;
};

static int fixture_start(void **state, const char *config)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -1;
	f->config = config;
	r = harness_daemon_start(&f->d, config);
	*state = f;
	if (r == -ENOENT)
		printf("# no daemon binary (set DBB_BROKERD or build it)\n");
	return r < 0 ? -1 : 0;
}

static int setup(void **state)
{
	return fixture_start(state, NULL);
}

/* Resuming off, as in the harness's default config: a departed client's
 * buffers leave at once, and the tests count what it left behind. */
static const char quota_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[quota]\n"
	"bytes = 64M\n"
	"buffers = 100\n"
	"[quota.65534]\n"
	"bytes = 1M\n"
	"buffers = 3\n";

static int setup_quota(void **state)
{
	return fixture_start(state, quota_config);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		harness_daemon_stop(&f->d);
		free(f);
	}
	return 0;
}

/* The end of every test: the daemon exits 0 on SIGTERM (no valgrind
 * errors, no leaks). */
static void finish(struct fixture *f)
{
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

static struct dbb_client *connect_ok(struct fixture *f, const char *name)
{
	struct dbb_client *c = NULL;

	assert_int_equal(0, dbb_client_connect(f->d.socket, name, &c));
	assert_non_null(c);
	return c;
}

static struct dbb_buffer *alloc_ok(struct dbb_client *c, uint64_t size,
				   const char *name, enum dbb_lifetime life)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
		.size = size, .name = name, .lifetime = life,
	};
	struct dbb_buffer *b = NULL;

	assert_int_equal(0, dbb_alloc(c, &p, &b));
	assert_non_null(b);
	assert_true(dbb_buffer_get_fd(b) >= 0);
	return b;
}

static void fill_buffer(struct dbb_buffer *b, uint32_t seed)
{
	uint64_t size = dbb_buffer_get_info(b)->size;
	void *p = NULL;

	assert_int_equal(0, dbb_buffer_map(b, true, &p));
	harness_fill(p, size, seed);
	assert_int_equal(0, dbb_buffer_unmap(b, p));
}

static void check_buffer(struct dbb_buffer *b, uint32_t seed)
{
	uint64_t size = dbb_buffer_get_info(b)->size;
	void *p = NULL;

	assert_int_equal(0, dbb_buffer_map(b, false, &p));
	assert_int_equal(-1, harness_check(p, size, seed));
	assert_int_equal(0, dbb_buffer_unmap(b, p));
}

/*
 * The daemon's open fds once it is idle.  It closes the duplicate it sent
 * with a reply right after sendmsg(), so a client may see the reply before
 * that close: a round trip on @c first makes sure the daemon has returned
 * from every earlier callback.
 */
static int daemon_fds(struct fixture *f, struct dbb_client *c)
{
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int n;

	assert_int_equal(0, dbb_stats(c, &st));
	n = harness_fd_count(f->d.pid);
	assert_true(n > 0);
	return n;
}

/* Polls dbb_info_by_name() until it gives @want (the daemon handles a
 * disconnection asynchronously). */
static int wait_info_status(struct dbb_client *c, const char *name, int want)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	int r;

	for (;;) {
		struct dbb_buffer_info *info = NULL;

		r = dbb_info_by_name(c, name, &info);
		dbb_buffer_info_free(info);
		if (r == want || harness_now_ms() > end)
			return r;
		usleep(5000);
	}
}

/* ---- children ---- */

struct child_args {
	const char *name;
	uint64_t size;
	uint32_t seed;
	enum dbb_lifetime lifetime;
};

/* Checks every byte of a fresh mapping of @b. */
static int child_check_bytes(struct dbb_buffer *b, uint32_t seed)
{
	const struct dbb_buffer_info *info = dbb_buffer_get_info(b);
	void *p = NULL;
	long bad;

	CHILD_CHECK(dbb_buffer_map(b, false, &p) == 0);
	CHILD_CHECK(dbb_buffer_begin_cpu_access(b, DBB_SYNC_READ) == 0);
	bad = harness_check(p, info->size, seed);
	CHILD_CHECK(dbb_buffer_end_cpu_access(b, DBB_SYNC_READ) == 0);
	if (bad >= 0)
		printf("# child: byte %ld wrong\n", bad);
	CHILD_CHECK(bad == -1);
	CHILD_CHECK(dbb_buffer_unmap(b, p) == 0);
	return 0;
}

/* Allocates a named buffer, writes the pattern, posts 'R', holds it until
 * the parent posts anything (or closes the pipe). */
static int child_producer(struct harness_ctx *ctx, void *arg)
{
	const struct child_args *a = arg;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
		.size = a->size, .name = a->name, .lifetime = a->lifetime,
	};
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;
	void *m = NULL;

	CHILD_CHECK(dbb_client_connect(ctx->socket, "producer", &c) == 0);
	CHILD_CHECK(dbb_alloc(c, &p, &b) == 0);
	CHILD_CHECK(harness_size_ok(a->size, dbb_buffer_get_info(b)->size));
	CHILD_CHECK(strcmp(dbb_buffer_get_info(b)->name, a->name) == 0);
	CHILD_CHECK(dbb_buffer_map(b, true, &m) == 0);
	CHILD_CHECK(dbb_buffer_begin_cpu_access(b, DBB_SYNC_WRITE) == 0);
	harness_fill(m, a->size, a->seed);
	CHILD_CHECK(dbb_buffer_end_cpu_access(b, DBB_SYNC_WRITE) == 0);
	CHILD_CHECK(dbb_buffer_unmap(b, m) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'R') == 0);
	harness_await(ctx->in, -1);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

/* Imports by name, checks every byte, posts 'C', keeps its hold and a
 * mapping; on 'V' checks the bytes in that mapping again (the owner may be
 * gone by then), then exits when the pipe closes. */
static int child_consumer(struct harness_ctx *ctx, void *arg)
{
	const struct child_args *a = arg;
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;
	struct stat st;
	void *m = NULL;
	int tag;

	CHILD_CHECK(dbb_client_connect(ctx->socket, "consumer", &c) == 0);
	CHILD_CHECK(dbb_open_by_name(c, a->name, false, &b) == 0);
	CHILD_CHECK(harness_size_ok(a->size, dbb_buffer_get_info(b)->size));
	CHILD_CHECK(!dbb_buffer_get_info(b)->read_only);
	CHILD_CHECK(child_check_bytes(b, a->seed) == 0);
	CHILD_CHECK(dbb_buffer_map(b, false, &m) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'C') == 0);
	while ((tag = harness_await(ctx->in, -1)) == 'V') {
		CHILD_CHECK(harness_check(m, a->size, a->seed) == -1);
		CHILD_CHECK(fstat(dbb_buffer_get_fd(b), &st) == 0);
		CHILD_CHECK((uint64_t)st.st_size == dbb_buffer_get_info(b)->size);
		CHILD_CHECK(child_check_bytes(b, a->seed) == 0);
		CHILD_CHECK(harness_post(ctx->out, 'v') == 0);
	}
	CHILD_CHECK(dbb_buffer_unmap(b, m) == 0);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void start_child(struct fixture *f, struct harness_child *c,
			harness_child_fn fn, void *arg, char ready)
{
	assert_int_equal(0, harness_child_start(c, f->d.socket, fn, arg));
	if (ready)
		assert_int_equal(ready, harness_await(c->from_child, WAIT_MS));
}

static void end_child(struct harness_child *c)
{
	assert_int_equal(0, harness_child_wait(c, WAIT_MS));
}

/* ---- access by other uids (negative cases first) ---- */

/* Runs as nobody: refused until the parent grants, then maps and checks. */
static int child_other_uid(struct harness_ctx *ctx, void *arg)
{
	const struct child_args *a = arg;
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;
	void *m = NULL;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	CHILD_CHECK(dbb_client_connect(ctx->socket, "nobody", &c) == 0);
	/* Without a grant the buffer is not there for this uid. */
	CHILD_CHECK(dbb_open_by_name(c, a->name, false, &b) == -ENOENT);
	CHILD_CHECK(b == NULL);
	CHILD_CHECK(dbb_open_by_name(c, a->name, true, &b) == -ENOENT);
	CHILD_CHECK(strlen(dbb_client_last_error(c)) > 0);
	CHILD_CHECK(harness_post(ctx->out, 'D') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'G');
	CHILD_CHECK(dbb_open_by_name(c, a->name, false, &b) == 0);
	/* Granted, yet not the owner: may not destroy or grant. */
	CHILD_CHECK(dbb_remove(c, dbb_buffer_get_info(b)->id) == -EPERM);
	CHILD_CHECK(dbb_grant(c, dbb_buffer_get_info(b)->id, DBB_GRANT_UID,
			      NOBODY, DBB_ACCESS_READ_WRITE) == -EPERM);
	CHILD_CHECK(child_check_bytes(b, a->seed) == 0);
	CHILD_CHECK(dbb_buffer_map(b, true, &m) == 0);
	((uint8_t *)m)[0] ^= 0xff;	/* visible to the owner */
	CHILD_CHECK(dbb_buffer_unmap(b, m) == 0);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void test_other_uid_refused_until_granted(void **state)
{
	struct fixture *f = *state;
	struct child_args a = { .name = "priv/one", .size = 64 * 1024,
				.seed = 11 };
	struct harness_child ch;
	struct dbb_client *owner;
	struct dbb_buffer *b;
	uint8_t first;
	void *m;

	if (geteuid() != 0)
		skip();	/* needs root to become another uid */
	owner = connect_ok(f, "owner");
	b = alloc_ok(owner, a.size, a.name, DBB_LIFETIME_CLIENT);
	fill_buffer(b, a.seed);
	start_child(f, &ch, child_other_uid, &a, 'D');
	assert_int_equal(0, dbb_grant(owner, dbb_buffer_get_info(b)->id,
				      DBB_GRANT_UID, NOBODY,
				      DBB_ACCESS_READ_WRITE));
	assert_int_equal(0, harness_post(ch.to_child, 'G'));
	end_child(&ch);
	/* The child's write through its own mapping reached our buffer. */
	assert_int_equal(0, dbb_buffer_map(b, false, &m));
	harness_fill(&first, 1, a.seed);
	assert_int_equal((uint8_t)(first ^ 0xff), ((uint8_t *)m)[0]);
	assert_int_equal(0, dbb_buffer_unmap(b, m));
	dbb_buffer_free(b);
	dbb_client_destroy(owner);
	finish(f);
}

/* As nobody: gid and everyone grants open the buffers to it. */
static int child_group_grants(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;

	(void)arg;
	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	CHILD_CHECK(dbb_client_connect(ctx->socket, "nobody", &c) == 0);
	CHILD_CHECK(dbb_open_by_name(c, "grant/none", true, &b) == -ENOENT);
	CHILD_CHECK(dbb_open_by_name(c, "grant/gid", false, &b) == 0);
	dbb_buffer_free(b);
	b = NULL;
	CHILD_CHECK(dbb_open_by_name(c, "grant/all", false, &b) == 0);
	dbb_buffer_free(b);
	b = NULL;
	CHILD_CHECK(dbb_open_by_name(c, "grant/revoked", true, &b) == -ENOENT);
	dbb_client_destroy(c);
	return 0;
}

static void test_grant_by_gid_everyone_and_revoke(void **state)
{
	struct fixture *f = *state;
	struct harness_child ch;
	struct dbb_client *owner;
	struct dbb_buffer *b[4];
	/* What is revoked: a read-only grant where the backend can enforce
	 * one, else a read-write one (a read-only grant is refused there). */
	enum dbb_access revoked = harness_backend_read_only() ?
		DBB_ACCESS_READ : DBB_ACCESS_READ_WRITE;

	if (geteuid() != 0)
		skip();
	owner = connect_ok(f, "owner");
	b[0] = alloc_ok(owner, 4096, "grant/none", DBB_LIFETIME_CLIENT);
	b[1] = alloc_ok(owner, 4096, "grant/gid", DBB_LIFETIME_CLIENT);
	b[2] = alloc_ok(owner, 4096, "grant/all", DBB_LIFETIME_CLIENT);
	b[3] = alloc_ok(owner, 4096, "grant/revoked", DBB_LIFETIME_CLIENT);
	assert_int_equal(0, dbb_grant(owner, dbb_buffer_get_info(b[1])->id,
				      DBB_GRANT_GID, NOBODY,
				      DBB_ACCESS_READ_WRITE));
	assert_int_equal(0, dbb_grant(owner, dbb_buffer_get_info(b[2])->id,
				      DBB_GRANT_EVERYONE, 0,
				      DBB_ACCESS_READ_WRITE));
	assert_int_equal(0, dbb_grant(owner, dbb_buffer_get_info(b[3])->id,
				      DBB_GRANT_UID, NOBODY, revoked));
	assert_int_equal(0, dbb_grant(owner, dbb_buffer_get_info(b[3])->id,
				      DBB_GRANT_UID, NOBODY, DBB_ACCESS_NONE));
	start_child(f, &ch, child_group_grants, NULL, 0);
	end_child(&ch);
	for (int i = 0; i < 4; i++)
		dbb_buffer_free(b[i]);
	dbb_client_destroy(owner);
	finish(f);
}

/* As nobody with a read-only grant. */
static int child_read_only(struct harness_ctx *ctx, void *arg)
{
	const struct child_args *a = arg;
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;
	void *m = NULL;
	int fd;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	CHILD_CHECK(dbb_client_connect(ctx->socket, "reader", &c) == 0);
	CHILD_CHECK(dbb_open_by_name(c, a->name, false, &b) == -EACCES);
	CHILD_CHECK(dbb_open_by_name(c, a->name, true, &b) == 0);
	CHILD_CHECK(dbb_buffer_get_info(b)->read_only);
	fd = dbb_buffer_get_fd(b);
	/* Writable shared mappings fail, through the library and directly. */
	CHILD_CHECK(dbb_buffer_map(b, true, &m) < 0);
	m = mmap(NULL, a->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHILD_CHECK(m == MAP_FAILED);
	CHILD_CHECK(errno == EACCES);
	m = mmap(NULL, a->size, PROT_READ, MAP_SHARED, fd, 0);
	CHILD_CHECK(m != MAP_FAILED);
	CHILD_CHECK(mprotect(m, a->size, PROT_READ | PROT_WRITE) < 0);
	CHILD_CHECK(harness_check(m, a->size, a->seed) == -1);
	munmap(m, a->size);
	CHILD_CHECK(write(fd, "x", 1) < 0);
	CHILD_CHECK(child_check_bytes(b, a->seed) == 0);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void test_read_only_grant_refuses_writable_map(void **state)
{
	struct fixture *f = *state;
	struct child_args a = { .name = "ro/frame", .size = 256 * 1024,
				.seed = 12 };
	struct harness_child ch;
	struct dbb_client *owner;
	struct dbb_buffer *b;

	if (geteuid() != 0)
		skip();
	owner = connect_ok(f, "owner");
	b = alloc_ok(owner, a.size, a.name, DBB_LIFETIME_CLIENT);
	fill_buffer(b, a.seed);
	if (!harness_backend_read_only()) {
		/* heap, udmabuf, drm: the kernel cannot make a read-only
		 * dma-buf of theirs, so no read-only grant is given. */
		assert_int_equal(-EOPNOTSUPP,
				 dbb_grant(owner, dbb_buffer_get_info(b)->id,
					   DBB_GRANT_UID, NOBODY,
					   DBB_ACCESS_READ));
	} else {
		assert_int_equal(0, dbb_grant(owner, dbb_buffer_get_info(b)->id,
					      DBB_GRANT_UID, NOBODY,
					      DBB_ACCESS_READ));
		start_child(f, &ch, child_read_only, &a, 0);
		end_child(&ch);
	}
	dbb_buffer_free(b);
	dbb_client_destroy(owner);
	finish(f);
}

/* ---- quotas ---- */

/* As nobody (quota: 1 MiB, 3 buffers).  Posts 'B' after two allocations,
 * 'C' after the refused ones, 'D' after the third and the refused fourth;
 * holds everything until the pipe closes. */
static int child_quota(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *c = NULL;
	struct dbb_buffer *b[4] = { 0 };
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = 512 * 1024 };
	struct dbb_stats st = { .struct_size = sizeof(st) };

	(void)arg;
	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	CHILD_CHECK(dbb_client_connect(ctx->socket, "quota", &c) == 0);
	CHILD_CHECK(dbb_stats(c, &st) == 0);
	CHILD_CHECK(st.my_max_bytes == MIB);
	CHILD_CHECK(st.my_max_buffers == 3);
	CHILD_CHECK(dbb_alloc(c, &p, &b[0]) == 0);
	p.size = 4096;
	CHILD_CHECK(dbb_alloc(c, &p, &b[1]) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'B') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'G');
	/* Over the byte quota, with and without a name. */
	p.size = 600 * 1024;
	CHILD_CHECK(dbb_alloc(c, &p, &b[2]) == -EDQUOT);
	CHILD_CHECK(b[2] == NULL);
	CHILD_CHECK(strlen(dbb_client_last_error(c)) > 0);
	p.size = MIB;
	p.name = "quota/big";
	CHILD_CHECK(dbb_alloc(c, &p, &b[2]) == -EDQUOT);
	CHILD_CHECK(dbb_stats(c, &st) == 0);
	CHILD_CHECK(st.my_buffers == 2);
	/* Quota counts the bytes allocated (drm may round up). */
	CHILD_CHECK(st.my_bytes == dbb_buffer_get_info(b[0])->size +
				   dbb_buffer_get_info(b[1])->size);
	CHILD_CHECK(harness_post(ctx->out, 'C') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'G');
	/* The name of the refused allocation was not taken. */
	p.size = 4096;
	CHILD_CHECK(dbb_alloc(c, &p, &b[2]) == 0);
	p.name = NULL;
	CHILD_CHECK(dbb_alloc(c, &p, &b[3]) == -EDQUOT);
	CHILD_CHECK(b[3] == NULL);
	CHILD_CHECK(harness_post(ctx->out, 'D') == 0);
	harness_await(ctx->in, -1);
	for (int i = 0; i < 4; i++)
		dbb_buffer_free(b[i]);
	dbb_client_destroy(c);
	return 0;
}

static void test_over_quota_nothing_leaked(void **state)
{
	struct fixture *f = *state;
	struct harness_child ch;
	struct dbb_client *root;
	struct dbb_stats before = { .struct_size = sizeof(before) };
	struct dbb_stats after = { .struct_size = sizeof(after) };
	struct dbb_buffer *big;
	int fds_base, fds;

	if (geteuid() != 0)
		skip();
	root = connect_ok(f, "root");
	/* The override is per uid: root has the default quota. */
	big = alloc_ok(root, 2 * MIB, NULL, DBB_LIFETIME_CLIENT);
	fds_base = daemon_fds(f, root);
	start_child(f, &ch, child_quota, NULL, 'B');
	fds = daemon_fds(f, root);
	assert_int_equal(0, dbb_stats(root, &before));
	assert_int_equal(0, harness_post(ch.to_child, 'G'));
	assert_int_equal('C', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, dbb_stats(root, &after));
	assert_int_equal(fds, daemon_fds(f, root));
	assert_int_equal(before.buffers, after.buffers);
	assert_int_equal(before.bytes, after.bytes);
	assert_true(after.errors >= before.errors + 2);
	assert_int_equal(0, harness_post(ch.to_child, 'G'));
	assert_int_equal('D', harness_await(ch.from_child, WAIT_MS));
	assert_int_equal(0, dbb_stats(root, &after));
	assert_int_equal(fds + 1, daemon_fds(f, root));
	assert_int_equal(before.buffers + 1, after.buffers);
	end_child(&ch);
	/* Its client-lifetime buffers and its connection are gone. */
	assert_int_equal(fds_base,
			 harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS));
	assert_int_equal(0, dbb_stats(root, &after));
	assert_int_equal(1, after.buffers);
	assert_int_equal(dbb_buffer_get_info(big)->size, after.bytes);
	dbb_buffer_free(big);
	dbb_client_destroy(root);
	finish(f);
}

/* ---- holds ---- */

static const char holds_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_holds_per_client = 3\n";

static int setup_holds(void **state)
{
	return fixture_start(state, holds_config);
}

/* Holds are per (buffer, connection) and bounded per connection: an
 * allocation is a hold, freeing a connection's last handle of a buffer
 * releases it, a second handle of a held buffer is no new hold. */
static void test_hold_limit(void **state)
{
	struct fixture *f = *state;
	struct dbb_client *a = connect_ok(f, "allocator");
	struct dbb_client *b = connect_ok(f, "importer");
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = 4096,
				      .name = "holds/3" };
	struct dbb_buffer *h[4], *o[3], *x = NULL, *again = NULL;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int fds;

	h[0] = alloc_ok(a, 4096, "holds/0", DBB_LIFETIME_CLIENT);
	h[1] = alloc_ok(a, 4096, "holds/1", DBB_LIFETIME_CLIENT);
	h[2] = alloc_ok(a, 4096, "holds/2", DBB_LIFETIME_CLIENT);
	fds = daemon_fds(f, a);
	/* A fourth hold for the allocator: refused, nothing made. */
	assert_int_equal(-EMFILE, dbb_alloc(a, &p, &x));
	assert_null(x);
	assert_int_equal(fds, daemon_fds(f, a));
	assert_int_equal(0, dbb_stats(a, &st));
	assert_int_equal(3, st.buffers);
	/* Freeing the handle releases the hold, which makes room; the
	 * buffer stays its owner's. */
	dbb_buffer_free(h[2]);
	h[2] = NULL;
	h[3] = alloc_ok(a, 4096, "holds/3", DBB_LIFETIME_CLIENT);
	assert_int_equal(0, dbb_stats(a, &st));
	assert_int_equal(4, st.buffers);
	/* The opener: three holds, a fourth refused. */
	assert_int_equal(0, dbb_open_by_name(b, "holds/0", false, &o[0]));
	assert_int_equal(0, dbb_open_by_name(b, "holds/1", false, &o[1]));
	assert_int_equal(0, dbb_open_by_name(b, "holds/3", false, &o[2]));
	assert_int_equal(-EMFILE, dbb_open_by_name(b, "holds/2", false, &x));
	assert_null(x);
	/* A second handle of a held buffer is no new hold (read-only where
	 * the backend allows a read-only open at all), and freeing it keeps
	 * the hold of the first. */
	assert_int_equal(0, dbb_open_by_name(b, "holds/1",
					     harness_backend_read_only(), &again));
	dbb_buffer_free(again);
	assert_int_equal(-EMFILE, dbb_open_by_name(b, "holds/2", false, &x));
	/* Freeing the last handle of holds/0 makes room. */
	dbb_buffer_free(o[0]);
	assert_int_equal(0, dbb_open_by_name(b, "holds/2", false, &x));
	dbb_buffer_free(x);
	dbb_buffer_free(o[1]);
	dbb_buffer_free(o[2]);
	for (int i = 0; i < 4; i++)
		dbb_buffer_free(h[i]);
	dbb_client_destroy(b);
	dbb_client_destroy(a);
	finish(f);
}

/* ---- image layouts ---- */

/* A layout is checked against the buffer it describes: an importer that
 * trusts it must not read past the end. */
static void test_layout_checked_against_size(void **state)
{
	struct fixture *f = *state;
	struct dbb_client *c = connect_ok(f, "images");
	struct dbb_image_layout l = { .struct_size = sizeof(l),
		.fourcc = 0x34325258,		/* XR24 */
		.width = 64, .height = 64, .n_planes = 1,
		.planes = { { 0, 256 } },
	};
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
		.size = 4096, .name = "image", .layout = &l,
	};
	struct dbb_buffer *b = NULL;
	const struct dbb_buffer_info *info;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int fds = daemon_fds(f, c);

	/* 64 rows of 256 bytes do not fit in 4 KiB. */
	assert_int_equal(-EINVAL, dbb_alloc(c, &p, &b));
	assert_null(b);
	assert_non_null(strstr(dbb_client_last_error(c),
			       "exceeds the buffer's 4096 bytes"));
	/* Rows shorter than 64 pixels of 4 bytes. */
	p.size = 16384;
	l.planes[0].stride = 128;
	assert_int_equal(-EINVAL, dbb_alloc(c, &p, &b));
	assert_non_null(strstr(dbb_client_last_error(c), "stride 128 is below 256"));
	l.fourcc = 0;
	assert_int_equal(-EINVAL, dbb_alloc(c, &p, &b));
	assert_non_null(strstr(dbb_client_last_error(c), "fourcc is 0"));
	/* Nothing was made. */
	assert_int_equal(fds, daemon_fds(f, c));
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(0, st.buffers);
	/* The image fits in 16 KiB. */
	l.fourcc = 0x34325258;
	l.planes[0].stride = 256;
	assert_int_equal(0, dbb_alloc(c, &p, &b));
	info = dbb_buffer_get_info(b);
	assert_non_null(info->layout);
	assert_int_equal(256, info->layout->planes[0].stride);
	assert_int_equal(64, info->layout->height);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	finish(f);
}

/* ---- memfd seals ---- */

static void test_memfd_sealed(void **state)
{
	struct fixture *f = *state;
	struct dbb_client *c = connect_ok(f, "sealer");
	struct dbb_client *c2 = connect_ok(f, "importer");
	struct dbb_buffer *b = alloc_ok(c, 64 * 1024, "sealed", DBB_LIFETIME_CLIENT);
	struct dbb_buffer *imp = NULL;
	const struct dbb_buffer_info *info = dbb_buffer_get_info(b);
	int fds[2], seals;
	struct stat st;

	assert_string_equal(harness_backend(), info->backend);
	assert_int_equal(harness_backend_is_dmabuf(), info->is_dmabuf);
	assert_int_equal(0, dbb_open_by_name(c2, "sealed", false, &imp));
	fds[0] = dbb_buffer_get_fd(b);
	fds[1] = dbb_buffer_get_fd(imp);
	for (int i = 0; i < 2; i++) {
		/* No holder can resize it: seals on a memfd; a dma-buf is no
		 * regular file (EINVAL) and has no seals. */
		int want = harness_backend_is_dmabuf() ? EINVAL : EPERM;

		errno = 0;
		assert_int_equal(-1, ftruncate(fds[i], 128 * 1024));
		assert_int_equal(want, errno);
		assert_int_equal(-1, ftruncate(fds[i], 4096));
		assert_int_equal(want, errno);
		assert_int_equal(0, fstat(fds[i], &st));
		assert_int_equal(64 * 1024, st.st_size);
		if (harness_backend_is_dmabuf())
			continue;
		assert_int_equal(-1, fcntl(fds[i], F_ADD_SEALS, F_SEAL_WRITE));
		assert_int_equal(EPERM, errno);
		seals = fcntl(fds[i], F_GET_SEALS);
		assert_true(seals >= 0);
		assert_int_equal(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL,
				 seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL));
	}
	/* Writing inside the size still works. */
	fill_buffer(b, 5);
	check_buffer(imp, 5);
	dbb_buffer_free(imp);
	dbb_buffer_free(b);
	dbb_client_destroy(c2);
	dbb_client_destroy(c);
	finish(f);
}

/* Every page of a memfd buffer exists once Alloc returns, as with a
 * dma-heap: nobody meets SIGBUS at first touch, quota bytes are memory. */
static void test_memfd_pages_resident(void **state)
{
	struct fixture *f = *state;
	const uint64_t size = 4 * MIB;
	struct dbb_client *c = connect_ok(f, "owner");
	struct dbb_client *c2 = connect_ok(f, "importer");
	struct dbb_buffer *b = alloc_ok(c, size, "resident", DBB_LIFETIME_CLIENT);
	struct dbb_buffer *imp = NULL;
	struct stat st;
	void *p;

	assert_int_equal(0, dbb_open_by_name(c2, "resident",
					       harness_backend_read_only(),
					       &imp));
	/*
	 * Allocated blocks, on the owner's fd and on a read-only import
	 * alike (0 without fallocate).  Not mincore(): shmem pages that
	 * fallocate() made are allocated and charged but not "uptodate"
	 * until written, and mincore() reports those as absent.  A dma-buf's
	 * inode counts no blocks: its exporter allocated the pages.
	 */
	assert_int_equal(0, fstat(dbb_buffer_get_fd(b), &st));
	assert_true(harness_backend_is_dmabuf() ||
		    (uint64_t)st.st_blocks * 512 >= size);
	assert_int_equal(0, fstat(dbb_buffer_get_fd(imp), &st));
	assert_true(harness_backend_is_dmabuf() ||
		    (uint64_t)st.st_blocks * 512 >= size);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, dbb_buffer_get_fd(imp), 0);
	assert_true(p != MAP_FAILED);
	/* Zeroed, as a dma-heap hands them out. */
	for (size_t i = 0; i < size; i += 4096)
		assert_int_equal(0, ((const unsigned char *)p)[i]);
	munmap(p, size);
	dbb_buffer_free(imp);
	dbb_buffer_free(b);
	dbb_client_destroy(c2);
	dbb_client_destroy(c);
	finish(f);
}

/* ---- lifetimes ---- */

static void test_client_buffer_leaves_with_owner(void **state)
{
	struct fixture *f = *state;
	struct child_args a = { .name = "cl/frame", .size = MIB, .seed = 21,
				.lifetime = DBB_LIFETIME_CLIENT };
	struct harness_child prod, cons;
	struct dbb_client *obs = connect_ok(f, "observer");
	struct dbb_buffer_info *info = NULL;
	int fds_base = daemon_fds(f, obs);

	start_child(f, &prod, child_producer, &a, 'R');
	start_child(f, &cons, child_consumer, &a, 'C');
	assert_int_equal(0, dbb_info_by_name(obs, a.name, &info));
	assert_int_equal(DBB_LIFETIME_CLIENT, info->lifetime);
	assert_int_equal(prod.pid, info->owner_pid);
	dbb_buffer_info_free(info);
	/* The owner leaves; the buffer leaves the registry... */
	end_child(&prod);
	assert_int_equal(-ENOENT, wait_info_status(obs, a.name, -ENOENT));
	/* ...but the importer's mapping and fd still hold the bytes. */
	assert_int_equal(0, harness_post(cons.to_child, 'V'));
	assert_int_equal('v', harness_await(cons.from_child, WAIT_MS));
	end_child(&cons);
	/* The name is free again, and nothing is left in the daemon. */
	assert_int_equal(fds_base,
			 harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS));
	dbb_buffer_free(alloc_ok(obs, 4096, a.name, DBB_LIFETIME_CLIENT));
	dbb_client_destroy(obs);
	finish(f);
}

static void test_persistent_buffer_stays(void **state)
{
	struct fixture *f = *state;
	struct child_args a = { .name = "keep/frame", .size = 2 * MIB,
				.seed = 22, .lifetime = DBB_LIFETIME_PERSISTENT };
	struct harness_child prod;
	struct dbb_client *c = connect_ok(f, "later");
	struct dbb_buffer_info *info = NULL;
	struct dbb_buffer *b = NULL;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	uint64_t id;
	void *m = NULL;

	start_child(f, &prod, child_producer, &a, 'R');
	end_child(&prod);
	/* The owner is gone; the buffer is not. */
	usleep(harness_timeout_ms(50) * 1000);
	assert_int_equal(0, dbb_info_by_name(c, a.name, &info));
	assert_int_equal(DBB_LIFETIME_PERSISTENT, info->lifetime);
	assert_int_equal(prod.pid, info->owner_pid);
	assert_int_equal(0, info->n_holders);
	id = info->id;
	dbb_buffer_info_free(info);
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(1, st.persistent);
	assert_int_equal(0, dbb_open_by_name(c, a.name, false, &b));
	check_buffer(b, a.seed);
	assert_int_equal(0, dbb_buffer_map(b, false, &m));
	/* Destroy: gone from the registry, still in our fd and mapping. */
	assert_int_equal(-ENOENT, dbb_remove(c, id + 1000));
	assert_int_equal(0, dbb_remove(c, id));
	assert_int_equal(-ENOENT, dbb_info_by_name(c, a.name, &info));
	assert_int_equal(-ENOENT, dbb_remove(c, id));
	assert_int_equal(-1, harness_check(m, a.size, a.seed));
	assert_int_equal(0, dbb_buffer_unmap(b, m));
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	finish(f);
}

/* ---- the producer/consumer scenario ---- */

static const struct dbb_buffer_info *find_in_list(const struct dbb_buffer_list *l,
						  const char *name)
{
	for (size_t i = 0; i < dbb_buffer_list_count(l); i++)
		if (!strcmp(dbb_buffer_list_get(l, i)->name, name))
			return dbb_buffer_list_get(l, i);
	return NULL;
}

static void assert_two_holders(const struct dbb_buffer_info *info,
			       pid_t prod, pid_t cons)
{
	bool seen_p = false, seen_c = false;

	assert_int_equal(2, info->n_holders);
	for (size_t i = 0; i < info->n_holders; i++) {
		const struct dbb_holder *h = dbb_buffer_info_get_holder(info, i);

		assert_int_equal(0, h->uid);
		assert_true(h->writable);
		if ((pid_t)h->pid == prod) {
			assert_string_equal("producer", h->client_name);
			seen_p = true;
		} else if ((pid_t)h->pid == cons) {
			assert_string_equal("consumer", h->client_name);
			seen_c = true;
		}
	}
	assert_true(seen_p);
	assert_true(seen_c);
	assert_int_not_equal(dbb_buffer_info_get_holder(info, 0)->client_id,
			     dbb_buffer_info_get_holder(info, 1)->client_id);
}

static void test_producer_consumer_8mib(void **state)
{
	struct fixture *f = *state;
	struct child_args a = { .name = "cam0/frame-0", .size = 8 * MIB,
				.seed = 0xc0ffee };
	struct harness_child prod, cons;
	struct dbb_client *obs = connect_ok(f, "observer");
	struct dbb_buffer_info *info = NULL;
	struct dbb_buffer_list *list = NULL;
	const struct dbb_buffer_info *li;

	assert_int_equal(-ENOENT, dbb_info_by_name(obs, a.name, &info));
	start_child(f, &prod, child_producer, &a, 'R');
	start_child(f, &cons, child_consumer, &a, 'C');
	assert_int_equal(0, dbb_info_by_name(obs, a.name, &info));
	assert_true(harness_size_ok(8 * MIB, info->size));
	assert_string_equal(harness_backend(), info->backend);
	assert_int_equal(prod.pid, info->owner_pid);
	assert_int_equal(0, info->owner_uid);
	assert_string_equal("producer", info->owner_name);
	assert_true(info->created_usec > 0);
	assert_two_holders(info, prod.pid, cons.pid);
	dbb_buffer_info_free(info);
	assert_int_equal(0, dbb_list(obs, &list));
	assert_int_equal(1, dbb_buffer_list_count(list));
	li = find_in_list(list, a.name);
	assert_non_null(li);
	assert_true(harness_size_ok(8 * MIB, li->size));
	assert_two_holders(li, prod.pid, cons.pid);
	dbb_buffer_list_free(list);
	assert_int_equal(0, harness_post(cons.to_child, 'q'));
	end_child(&cons);
	end_child(&prod);
	dbb_client_destroy(obs);
	finish(f);
}

/* ---- events ---- */

struct seen_event {
	enum dbb_event_type type;
	uint64_t id;
	char name[DBB_MAX_NAME + 1];
};

struct event_log {
	struct seen_event ev[16];
	int n;
};

static void on_event(struct dbb_client *client, enum dbb_event_type type,
		     const struct dbb_buffer_info *info, void *userdata)
{
	struct event_log *log = userdata;

	(void)client;
	if (log->n >= 16)
		return;
	log->ev[log->n].type = type;
	log->ev[log->n].id = info->id;
	snprintf(log->ev[log->n].name, sizeof(log->ev[0].name), "%s", info->name);
	log->n++;
}

/* Polls the client's fd and dispatches until @n events were seen. */
static void pump_events(struct dbb_client *c, struct event_log *log, int n)
{
	int64_t end = harness_now_ms() + WAIT_MS;

	while (log->n < n && harness_now_ms() < end) {
		struct pollfd p = { .fd = dbb_client_get_fd(c), .events = POLLIN };

		if (dbb_client_pending_events(c) == 0)
			poll(&p, 1, 50);
		assert_true(dbb_client_dispatch(c) >= 0);
	}
}

static int child_eventful(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *c = NULL;
	struct dbb_buffer *b1 = NULL, *b2 = NULL;
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .size = 4096, .name = "ev/one" };

	(void)arg;
	CHILD_CHECK(dbb_client_connect(ctx->socket, "eventful", &c) == 0);
	CHILD_CHECK(dbb_alloc(c, &p, &b1) == 0);
	p.name = NULL;
	CHILD_CHECK(dbb_alloc(c, &p, &b2) == 0);
	CHILD_CHECK(dbb_set_name(c, dbb_buffer_get_info(b2)->id, "ev/two") == 0);
	CHILD_CHECK(dbb_remove(c, dbb_buffer_get_info(b1)->id) == 0);
	dbb_buffer_free(b1);
	dbb_buffer_free(b2);
	dbb_client_destroy(c);	/* b2 leaves with us */
	return 0;
}

static void test_watch_events(void **state)
{
	struct fixture *f = *state;
	static const struct dbb_event_listener listener = {
		.struct_size = sizeof(listener), .buffer_event = on_event,
	};
	struct event_log log = { .n = 0 }, quiet = { .n = 0 };
	struct dbb_client *w = connect_ok(f, "watcher");
	struct dbb_client *nw = connect_ok(f, "not-watching");
	struct harness_child ch;
	uint64_t id1, id2;

	assert_int_equal(0, dbb_client_set_listener(w, &listener, &log));
	assert_int_equal(0, dbb_client_set_listener(nw, &listener, &quiet));
	assert_int_equal(0, dbb_watch(w, true));
	start_child(f, &ch, child_eventful, NULL, 0);
	end_child(&ch);
	pump_events(w, &log, 5);
	assert_int_equal(5, log.n);
	assert_int_equal(DBB_EVENT_CREATED, log.ev[0].type);
	assert_string_equal("ev/one", log.ev[0].name);
	id1 = log.ev[0].id;
	assert_int_equal(DBB_EVENT_CREATED, log.ev[1].type);
	assert_string_equal("", log.ev[1].name);
	id2 = log.ev[1].id;
	assert_true(id2 > id1);
	assert_int_equal(DBB_EVENT_NAMED, log.ev[2].type);
	assert_int_equal(id2, log.ev[2].id);
	assert_string_equal("ev/two", log.ev[2].name);
	assert_int_equal(DBB_EVENT_DESTROYED, log.ev[3].type);
	assert_int_equal(id1, log.ev[3].id);
	assert_int_equal(DBB_EVENT_DESTROYED, log.ev[4].type);
	assert_int_equal(id2, log.ev[4].id);
	/* The other connection never asked: nothing for it. */
	assert_int_equal(0, dbb_client_dispatch(nw));
	assert_int_equal(0, dbb_client_pending_events(nw));
	assert_int_equal(0, quiet.n);
	/* Events queued during a blocking call wait for dispatch. */
	dbb_buffer_free(alloc_ok(nw, 4096, "ev/three", DBB_LIFETIME_CLIENT));
	pump_events(w, &log, 6);
	assert_int_equal(6, log.n);
	assert_int_equal(DBB_EVENT_CREATED, log.ev[5].type);
	/* Unwatched: no more. */
	assert_int_equal(0, dbb_watch(w, false));
	dbb_buffer_free(alloc_ok(nw, 4096, "ev/four", DBB_LIFETIME_CLIENT));
	usleep(harness_timeout_ms(50) * 1000);
	assert_true(dbb_client_dispatch(w) >= 0);
	assert_int_equal(6, log.n);
	dbb_client_destroy(nw);
	dbb_client_destroy(w);
	finish(f);
}

/* A stopped broker still takes connections (the listen backlog) and
 * requests (the socket buffer) but answers none: connecting and calling
 * time out.  Once it runs again, the connection it had answered before
 * goes on, the late reply passed over. */
static void test_stopped_broker_times_out(void **state)
{
	struct fixture *f = *state;
	struct dbb_connect_params p = {
		.struct_size = sizeof(p), .socket_path = f->d.socket,
		.client_name = "late", .timeout_ms = 300,
	};
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_client *c = connect_ok(f, "early"), *late = NULL;
	int connected, called;

	assert_int_equal(0, dbb_client_set_timeout(c, 300));
	assert_int_equal(0, kill(f->d.pid, SIGSTOP));
	connected = dbb_client_connect_with(&p, &late);
	called = dbb_stats(c, &st);
	assert_int_equal(0, kill(f->d.pid, SIGCONT));
	assert_int_equal(-ETIMEDOUT, connected);
	assert_null(late);
	assert_int_equal(-ETIMEDOUT, called);
	assert_int_equal(0, dbb_client_set_timeout(c, WAIT_MS));
	st.buffers = 99;
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(0, st.buffers);
	dbb_client_destroy(c);
	finish(f);
}

/* The broker refuses a connection that requires a feature it lacks, and
 * lists those it has. */
static void test_required_features(void **state)
{
	static const char *const known[] = { "alloc-format", "read-only", NULL };
	static const char *const unknown[] = { "pin", "teleport", NULL };
	struct fixture *f = *state;
	struct dbb_connect_params p = {
		.struct_size = sizeof(p), .socket_path = f->d.socket,
		.client_name = "picky", .required_features = unknown,
	};
	struct dbb_client *c = NULL;

	assert_int_equal(-EOPNOTSUPP, dbb_client_connect_with(&p, &c));
	assert_null(c);
	p.required_features = known;
	assert_int_equal(0, dbb_client_connect_with(&p, &c));
	assert_true(dbb_client_has_feature(c, "alloc-format"));
	assert_true(dbb_client_has_feature(c, "read-only"));
	assert_false(dbb_client_has_feature(c, "teleport"));
	dbb_client_destroy(c);
	finish(f);
}

/* Long enough that no session expires while a test looks. */
static const char resume_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 60000\n";

static int setup_resume(void **state)
{
	return fixture_start(state, resume_config);
}

/* Breaks @c's connection under it and waits until the broker has seen
 * the break: @observer then counts @left clients. */
static void break_connection(struct dbb_client *c, struct dbb_client *observer,
			     uint64_t left)
{
	struct dbb_stats st = { .struct_size = sizeof(st) };
	int64_t end = harness_now_ms() + WAIT_MS;

	assert_int_equal(0, shutdown(dbb_client_get_fd(c), SHUT_RDWR));
	do {
		assert_int_equal(0, dbb_stats(observer, &st));
	} while (st.clients != left && harness_now_ms() < end);
	assert_int_equal(left, st.clients);
}

/* The library reconnects a broken connection by itself: a client with a
 * client-lifetime buffer gets its session back (buffer, hold, id); one
 * with nothing to keep gets a new session.  Handles keep their memory. */
static void test_reconnect_resumes(void **state)
{
	struct fixture *f = *state;
	struct dbb_client *observer = connect_ok(f, "observer");
	struct dbb_client *c = connect_ok(f, "resumer");
	struct dbb_client *plain = connect_ok(f, "plain");
	struct dbb_buffer *b = alloc_ok(c, 4096, "keep/0", DBB_LIFETIME_CLIENT);
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_buffer_info *info = NULL;
	uint64_t id = dbb_client_get_id(c), plain_id = dbb_client_get_id(plain);
	bool resumed = false;

	assert_true(dbb_client_has_feature(c, "resume"));
	fill_buffer(b, 7);
	break_connection(c, observer, 2);
	/* Info finds the break, reconnects with the token, asks again. */
	assert_int_equal(0, dbb_info_by_name(c, "keep/0", &info));
	assert_int_equal(1, dbb_client_get_generation(c, &resumed));
	assert_true(resumed);
	assert_int_equal(id, dbb_client_get_id(c));
	assert_int_equal(1, info->n_holders);
	assert_int_equal(id, dbb_buffer_info_get_holder(info, 0)->client_id);
	dbb_buffer_info_free(info);
	check_buffer(b, 7);

	break_connection(plain, observer, 2);
	assert_int_equal(0, dbb_stats(plain, &st));
	assert_int_equal(1, dbb_client_get_generation(plain, &resumed));
	assert_false(resumed);
	assert_int_not_equal(plain_id, dbb_client_get_id(plain));

	dbb_buffer_free(b);
	dbb_client_destroy(plain);
	dbb_client_destroy(c);
	dbb_client_destroy(observer);
	finish(f);
}

/* One client shared by threads, as a media framework's streaming threads
 * share an allocator: every call gets its own reply, holds stay counted
 * right, while another thread reads events. */
struct hammer {
	struct dbb_client *c;
	unsigned id, rounds;
	int failed_line;	/* 0: every check passed */
};

#define HAMMER_CHECK(h, cond)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			(h)->failed_line = __LINE__;                         \
			return NULL;                                         \
		}                                                            \
	} while (0)

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	for (unsigned i = 0; i < h->rounds; i++) {
		struct dbb_buffer *b = NULL, *again = NULL;
		struct dbb_buffer_info *info = NULL;
		char name[64];
		struct dbb_alloc_params p = {
			.struct_size = sizeof(p), .size = 4096, .name = name,
		};
		uint64_t id;
		bool ok;

		snprintf(name, sizeof(name), "thread%u/%u", h->id, i);
		HAMMER_CHECK(h, dbb_alloc(h->c, &p, &b) == 0);
		HAMMER_CHECK(h, !strcmp(dbb_buffer_get_info(b)->name, name));
		id = dbb_buffer_get_info(b)->id;
		HAMMER_CHECK(h, dbb_open_by_name(h->c, name, false, &again) == 0);
		HAMMER_CHECK(h, dbb_buffer_get_info(again)->id == id);
		HAMMER_CHECK(h, dbb_info_by_id(h->c, id, &info) == 0);
		ok = !strcmp(info->name, name) && info->n_holders == 1;
		dbb_buffer_info_free(info);
		HAMMER_CHECK(h, ok);
		dbb_buffer_free(again);
		/* The last handle: the hold goes, which Info shows. */
		dbb_buffer_free(b);
		HAMMER_CHECK(h, dbb_info_by_id(h->c, id, &info) == 0);
		ok = info->n_holders == 0;
		dbb_buffer_info_free(info);
		HAMMER_CHECK(h, ok);
		HAMMER_CHECK(h, dbb_remove(h->c, id) == 0);
	}
	return NULL;
}

struct dispatcher {
	struct dbb_client *c;
	bool stop;		/* set by the main thread, atomically */
	int error;
};

static void *dispatcher_run(void *arg)
{
	struct dispatcher *d = arg;
	struct pollfd pfd = { .fd = dbb_client_get_fd(d->c), .events = POLLIN };
	int r;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		if (poll(&pfd, 1, 100) < 0)
			continue;
		r = dbb_client_dispatch(d->c);
		if (r < 0) {
			d->error = r;
			break;
		}
	}
	return NULL;
}

static void ignore_event(struct dbb_client *client, enum dbb_event_type type,
			 const struct dbb_buffer_info *info, void *userdata)
{
}

static void test_threads_share_client(void **state)
{
	static const struct dbb_event_listener listener = {
		.struct_size = sizeof(listener), .buffer_event = ignore_event,
	};
	struct fixture *f = *state;
	struct dbb_client *c = connect_ok(f, "threads");
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct hammer h[4];
	struct dispatcher d = { .c = c };
	pthread_t t[4], dt;
	int fds = daemon_fds(f, c);

	assert_int_equal(0, dbb_client_set_listener(c, &listener, NULL));
	assert_int_equal(0, dbb_watch(c, true));
	assert_int_equal(0, pthread_create(&dt, NULL, dispatcher_run, &d));
	for (unsigned i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .c = c, .id = i,
					.rounds = harness_scaled(200, 20) };
		assert_int_equal(0, pthread_create(&t[i], NULL, hammer_run, &h[i]));
	}
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(0, pthread_join(t[i], NULL));
		if (h[i].failed_line)
			fail_msg("thread %u failed the check at line %d", i,
				 h[i].failed_line);
	}
	__atomic_store_n(&d.stop, true, __ATOMIC_RELEASE);
	assert_int_equal(0, pthread_join(dt, NULL));
	assert_int_equal(0, d.error);
	assert_int_equal(0, dbb_stats(c, &st));
	assert_int_equal(0, st.buffers);
	assert_int_equal(fds, daemon_fds(f, c));
	dbb_client_destroy(c);
	finish(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_other_uid_refused_until_granted),
		T(test_grant_by_gid_everyone_and_revoke),
		T(test_read_only_grant_refuses_writable_map),
		cmocka_unit_test_setup_teardown(test_over_quota_nothing_leaked,
						setup_quota, teardown),
		cmocka_unit_test_setup_teardown(test_hold_limit, setup_holds,
						teardown),
		T(test_layout_checked_against_size),
		T(test_memfd_sealed),
		T(test_memfd_pages_resident),
		T(test_client_buffer_leaves_with_owner),
		T(test_persistent_buffer_stays),
		T(test_producer_consumer_8mib),
		T(test_watch_events),
		T(test_stopped_broker_times_out),
		T(test_required_features),
		cmocka_unit_test_setup_teardown(test_reconnect_resumes,
						setup_resume, teardown),
		T(test_threads_share_client),
	};
#undef T
	return cmocka_run_group_tests_name("broker", tests, NULL, NULL);
}
