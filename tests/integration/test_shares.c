/* SPDX-License-Identifier: MIT */
/*
 * Fair shares against hostile local users: what one uid may take of the
 * broker must leave it alive and every other uid served.  Each attacker
 * runs in its own process under its own uid (harness_drop_privileges()):
 *   - the cap on all buffers together (max_total_bytes) refuses an Alloc
 *     of a uid well inside its own quota, the broker stays up, and other
 *     uids are served within what is left; once the attacker is gone its
 *     bytes are free again;
 *   - a uid that opens connections until refused gets max_clients_per_uid
 *     of them, idle ones are not dropped, and root and another uid are
 *     served meanwhile; without that limit one uid still cannot take the
 *     connections kept for root; several uids filling their shares
 *     together still leave a newcomer room;
 *   - many connections that each ask for a large buffer and close at
 *     once leave no buffer, fd or charge behind, and root's large Alloc
 *     meanwhile is served;
 *   - replies (with fds, or large) that one uid's connections never read
 *     get some of them hung up on once they queue more than the uid's
 *     share, while another uid's connection is served all along.
 * Each test ends by checking that the daemon still serves root and exits
 * 0 on SIGTERM.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"

#define WAIT_MS harness_timeout_ms(10000)
#define MiB (1ull << 20)

/* Uids with no account: the broker needs none. */
#define HOG_UID 1000u
#define OTHER_UID 1001u

struct fixture {
	struct harness_daemon d;
	struct dbb_client *root;
};

static int start(void **state, const char *config)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f || harness_daemon_start(&f->d, config) < 0)
		return -1;
	return dbb_client_connect(f->d.socket, "root", &f->root) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		dbb_client_destroy(f->root);
		harness_daemon_stop(&f->d);
		free(f);
	}
	return 0;
}

/* The end of every test: the daemon is up, still serves root, and exits
 * 0 on SIGTERM. */
static void finish(struct fixture *f)
{
	struct dbb_stats st = { .struct_size = sizeof(st) };

	assert_true(harness_daemon_alive(&f->d));
	assert_int_equal(0, dbb_stats(f->root, &st));
	dbb_client_destroy(f->root);
	f->root = NULL;
	assert_int_equal(0, harness_daemon_stop(&f->d));
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

/* Connects as @uid (its own gid, no groups). */
static int child_connect(struct harness_ctx *ctx, uid_t uid, const char *name,
			 struct dbb_client **c)
{
	if (harness_drop_privileges(uid, uid) < 0)
		return -EPERM;
	return dbb_client_connect(ctx->socket, name, c);
}

static int alloc_size(struct dbb_client *c, uint64_t size,
		      struct dbb_buffer **b)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = size };

	*b = NULL;
	return dbb_alloc(c, &p, b);
}

/* Polls Stats until charged_bytes is at most @max; returns the last
 * figure seen (or UINT64_MAX when Stats failed). */
static uint64_t wait_charged_at_most(struct dbb_client *c, uint64_t max)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	int64_t end = harness_now_ms() + WAIT_MS;
	struct dbb_stats st = { .struct_size = sizeof(st) };

	do {
		if (dbb_stats(c, &st) < 0)
			return UINT64_MAX;
		if (st.charged_bytes <= max)
			break;
		nanosleep(&pause, NULL);
	} while (harness_now_ms() < end);
	return st.charged_bytes;
}

/* ---- the cap on all buffers together ---- */

#define CAP (32 * MiB)
#define HOG_KEEPS (20 * MiB)

static const char cap_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_total_bytes = 32M\n";

static int setup_cap(void **state)
{
	return start(state, cap_config);
}

/*
 * Well inside its 4 GiB quota, the hog takes 20 MiB (on the worker: an
 * Alloc this large is not made inline), then asks for 16 MiB more, past
 * the 32 MiB cap: -ENOSPC, naming the limit.  It holds its 20 MiB until
 * told to leave.
 */
static int child_cap_hog(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *c = NULL;
	struct dbb_buffer *kept = NULL, *b = NULL;
	struct dbb_stats st = { .struct_size = sizeof(st) };

	(void)arg;
	CHILD_CHECK(child_connect(ctx, HOG_UID, "cap-hog", &c) == 0);
	CHILD_CHECK(alloc_size(c, HOG_KEEPS, &kept) == 0);
	CHILD_CHECK(alloc_size(c, 16 * MiB, &b) == -ENOSPC);
	CHILD_CHECK(b == NULL);
	CHILD_CHECK(strstr(dbb_client_last_error(c), "max_total_bytes"));
	CHILD_CHECK(dbb_stats(c, &st) == 0);
	CHILD_CHECK(st.my_max_bytes > CAP && st.my_bytes < st.my_max_bytes);
	CHILD_CHECK(harness_post(ctx->out, 'R') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'Q');
	dbb_buffer_free(kept);
	dbb_client_destroy(c);
	return 0;
}

/* Another uid, while the hog holds its bytes: what is left is served. */
static int child_cap_other(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;

	(void)arg;
	CHILD_CHECK(child_connect(ctx, OTHER_UID, "cap-other", &c) == 0);
	CHILD_CHECK(alloc_size(c, 2 * MiB, &b) == 0);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void test_cap_refuses_and_others_are_served(void **state)
{
	struct fixture *f = *state;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct harness_child hog, other;
	struct dbb_buffer *mine = NULL, *b = NULL;
	uint64_t size;

	assert_int_equal(0, dbb_stats(f->root, &st));
	assert_int_equal(CAP, st.max_total_bytes);

	start_child(f, &hog, child_cap_hog, NULL, 'R');
	assert_int_equal(0, dbb_stats(f->root, &st));
	assert_true(st.charged_bytes >= HOG_KEEPS);
	/* Root is under the cap too: it keeps the broker alive for all. */
	assert_int_equal(-ENOSPC, alloc_size(f->root, 16 * MiB, &b));
	assert_int_equal(0, alloc_size(f->root, 8 * MiB, &mine));
	start_child(f, &other, child_cap_other, NULL, 0);
	end_child(&other);
	assert_true(harness_daemon_alive(&f->d));

	assert_int_equal(0, harness_post(hog.to_child, 'Q'));
	end_child(&hog);
	/* The hog's bytes are free once its memory is: root may take them. */
	size = dbb_buffer_get_info(mine)->size;
	assert_true(wait_charged_at_most(f->root, size) <= size);
	assert_int_equal(0, alloc_size(f->root, HOG_KEEPS, &b));
	dbb_buffer_free(b);
	dbb_buffer_free(mine);
	finish(f);
}

/* ---- connections per uid, and root's reserve ---- */

#define MAX_CONNS 16

/* What a connection hog does: as @uid, connects until refused, checks
 * the count, keeps them all (idle) until told to leave, and checks that
 * the first still answers then. */
struct hog {
	uid_t uid;
	unsigned expect;	/* connections it gets */
};

static int child_conn_hog(struct harness_ctx *ctx, void *arg)
{
	const struct hog *h = arg;
	struct dbb_client *c[MAX_CONNS + 1] = { 0 };
	struct dbb_stats st = { .struct_size = sizeof(st) };
	unsigned n = 0;

	CHILD_CHECK(harness_drop_privileges(h->uid, h->uid) == 0);
	while (n <= MAX_CONNS &&
	       dbb_client_connect(ctx->socket, "conn-hog", &c[n]) == 0)
		n++;
	CHILD_CHECK(n == h->expect);
	CHILD_CHECK(dbb_stats(c[0], &st) == 0);
	CHILD_CHECK(st.my_clients == n);
	CHILD_CHECK(harness_post(ctx->out, 'R') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'Q');
	/* Idle all along, and not dropped for it. */
	CHILD_CHECK(dbb_stats(c[0], &st) == 0);
	for (unsigned i = 0; i < n; i++)
		dbb_client_destroy(c[i]);
	return 0;
}

/* As @arg's uid, connects once: exits 0 when that went as expected. */
struct visitor {
	uid_t uid;
	bool served;
};

static int child_visitor(struct harness_ctx *ctx, void *arg)
{
	const struct visitor *v = arg;
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct dbb_client *c = NULL;
	int ret;

	CHILD_CHECK(harness_drop_privileges(v->uid, v->uid) == 0);
	ret = dbb_client_connect(ctx->socket, "visitor", &c);
	if (!v->served) {
		CHILD_CHECK(ret < 0);
		return 0;
	}
	CHILD_CHECK(ret == 0);
	CHILD_CHECK(dbb_stats(c, &st) == 0);
	dbb_client_destroy(c);
	return 0;
}

static void visit(struct fixture *f, uid_t uid, bool served)
{
	struct visitor v = { uid, served };
	struct harness_child c;

	start_child(f, &c, child_visitor, &v, 0);
	end_child(&c);
}

/* Waits until the broker counts @n connections (closes are seen
 * asynchronously); the last count. */
static uint64_t wait_clients(struct dbb_client *c, uint64_t n)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	int64_t end = harness_now_ms() + WAIT_MS;
	struct dbb_stats st = { .struct_size = sizeof(st) };

	do {
		if (dbb_stats(c, &st) < 0)
			return UINT64_MAX;
		if (st.clients == n)
			break;
		nanosleep(&pause, NULL);
	} while (harness_now_ms() < end);
	return st.clients;
}

static const char per_uid_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_clients = 8\n"
	"max_clients_per_uid = 3\n"
	"root_reserved_clients = 2\n";

static int setup_per_uid(void **state)
{
	return start(state, per_uid_config);
}

/* One uid gets its 3 connections and no more; another uid and root are
 * served meanwhile. */
static void test_conn_hog_locks_out_nobody(void **state)
{
	struct fixture *f = *state;
	struct hog h = { HOG_UID, 3 };
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct harness_child hog;
	struct dbb_client *more = NULL;

	start_child(f, &hog, child_conn_hog, &h, 'R');
	visit(f, OTHER_UID, true);
	assert_int_equal(0, dbb_client_connect(f->d.socket, "root-2", &more));
	assert_int_equal(0, dbb_stats(more, &st));
	assert_int_equal(3, st.max_clients_per_uid);
	dbb_client_destroy(more);
	assert_int_equal(0, harness_post(hog.to_child, 'Q'));
	end_child(&hog);
	finish(f);
}

static const char reserve_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_clients = 8\n"
	"max_clients_per_uid = 8\n"
	"root_reserved_clients = 2\n";

static int setup_reserve(void **state)
{
	return start(state, reserve_config);
}

/*
 * With no per-uid limit to stop it, one uid fills all but root's two
 * connections (root's first is one of the six others): then no other uid
 * is served, root is, up to max_clients.  Once the hog leaves, everyone
 * is served again.
 */
static void test_root_reserve(void **state)
{
	struct fixture *f = *state;
	struct hog h = { HOG_UID, 5 };
	struct dbb_client *extra[3] = { 0 };
	struct harness_child hog;

	start_child(f, &hog, child_conn_hog, &h, 'R');
	visit(f, OTHER_UID, false);
	assert_int_equal(0, dbb_client_connect(f->d.socket, "root-2", &extra[0]));
	assert_int_equal(0, dbb_client_connect(f->d.socket, "root-3", &extra[1]));
	/* max_clients: now root too is refused. */
	assert_true(dbb_client_connect(f->d.socket, "root-4", &extra[2]) < 0);
	dbb_client_destroy(extra[0]);
	dbb_client_destroy(extra[1]);
	assert_int_equal(0, harness_post(hog.to_child, 'Q'));
	end_child(&hog);
	assert_int_equal(1, wait_clients(f->root, 1));
	visit(f, OTHER_UID, true);
	finish(f);
}

static const char light_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_clients = 24\n"
	"max_clients_per_uid = 8\n"
	"root_reserved_clients = 4\n";

static int setup_light(void **state)
{
	return start(state, light_config);
}

/*
 * Three uids together try to fill the 20 connections below root's 4:
 * two take their 8 each (with the fixture's root connection, 17 in
 * all); the last 20 / 8 = 2 slots go only to uids holding fewer than 2,
 * so the third gets 2 and no more, and a newcomer uid is still served.
 */
static void test_hogs_together_leave_room(void **state)
{
	struct fixture *f = *state;
	struct hog a = { HOG_UID, 8 }, b = { OTHER_UID, 8 };
	struct hog c = { OTHER_UID + 1, 2 };
	struct harness_child ha, hb, hc;

	start_child(f, &ha, child_conn_hog, &a, 'R');
	start_child(f, &hb, child_conn_hog, &b, 'R');
	start_child(f, &hc, child_conn_hog, &c, 'R');
	assert_int_equal(19, wait_clients(f->root, 19));
	visit(f, OTHER_UID + 2, true);
	/* The newcomer has left: its slot is free for the next one. */
	assert_int_equal(19, wait_clients(f->root, 19));
	visit(f, OTHER_UID + 3, true);
	assert_int_equal(0, harness_post(ha.to_child, 'Q'));
	assert_int_equal(0, harness_post(hb.to_child, 'Q'));
	assert_int_equal(0, harness_post(hc.to_child, 'Q'));
	end_child(&ha);
	end_child(&hb);
	end_child(&hc);
	finish(f);
}

/* ---- large Allocs of connections that close at once ---- */

#define STORM 60
/* Heap the daemon may keep after the storm (its allocator's caches). */
#define RSS_SLACK_KIB (4L * 1024)
#define RSS_SLACK_SANITIZED_KIB (64L * 1024)

/* Sends an Alloc of @size on @sock without waiting for its reply. */
static int send_alloc(int sock, uint64_t seq, uint64_t size)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;

	a.size = size;
	req.seq = seq;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ALLOC;
	req.alloc = &a;
	return harness_raw_send(sock, &req, false);
}

/* As the hog's uid: @arg times connect, ask for a large buffer, close;
 * half-way through, it posts 'H'. */
static int child_alloc_storm(struct harness_ctx *ctx, void *arg)
{
	unsigned n = *(const unsigned *)arg;

	CHILD_CHECK(harness_drop_privileges(HOG_UID, HOG_UID) == 0);
	for (unsigned i = 0; i < n; i++) {
		int s = harness_raw_client(ctx->socket, "alloc-storm");

		CHILD_CHECK(s >= 0);
		CHILD_CHECK(send_alloc(s, 2, harness_big_size()) == 0);
		close(s);
		if (i == n / 2)
			CHILD_CHECK(harness_post(ctx->out, 'H') == 0);
	}
	return 0;
}

/*
 * The storm leaves no buffer and no charge behind (jobs of connections
 * that closed are cancelled, or their buffers dropped), the daemon gets
 * back to its fds and about its memory, and root's own large Alloc made
 * meanwhile is served.
 */
static void test_alloc_storm_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	unsigned n = harness_scaled(STORM, 10);
	struct dbb_stats st = { .struct_size = sizeof(st) };
	struct harness_child storm;
	struct dbb_client *extra = NULL;
	struct dbb_buffer *b = NULL;
	int fds_base, fds_end;
	long rss_base, rss_end, slack;
	int64_t t0;

	fds_base = harness_fd_count(f->d.pid);
	rss_base = harness_rss_kib(f->d.pid);
	assert_true(fds_base > 0 && rss_base > 0);
	start_child(f, &storm, child_alloc_storm, &n, 'H');
	/* Large enough for the worker, as the storm's. */
	assert_int_equal(0, dbb_client_connect(f->d.socket, "root-alloc", &extra));
	t0 = harness_now_ms();
	assert_int_equal(0, alloc_size(extra, 8 * MiB, &b));
	printf("# root's Alloc amid the storm took %lld ms\n",
	       (long long)(harness_now_ms() - t0));
	assert_true(harness_size_ok(8 * MiB, dbb_buffer_get_info(b)->size));
	dbb_buffer_free(b);
	dbb_client_destroy(extra);
	end_child(&storm);

	assert_int_equal(0, wait_charged_at_most(f->root, 0));
	assert_int_equal(0, dbb_stats(f->root, &st));
	assert_int_equal(0, st.buffers);
	assert_int_equal(1, wait_clients(f->root, 1));
	fds_end = harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS);
	rss_end = harness_rss_kib(f->d.pid);
	slack = harness_wrapped() || harness_pid_has_asan(f->d.pid) ?
		RSS_SLACK_SANITIZED_KIB : RSS_SLACK_KIB;
	printf("# %u connections: daemon fds %d -> %d, RSS %ld -> %ld KiB\n",
	       n, fds_base, fds_end, rss_base, rss_end);
	assert_int_equal(fds_base, fds_end);
	assert_true(rss_end - rss_base <= slack);
	finish(f);
}

/* ---- replies one uid never reads ---- */

#define DEAF_CONNS 8
#define DEAF_REQUESTS 250
#define LISTED 30

static const char deaf_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[limits]\n"
	"max_queued_bytes_per_uid = 64K\n"
	"max_queued_fds_per_uid = 64\n";

static int setup_deaf(void **state)
{
	return start(state, deaf_config);
}

/* What the deaf uid floods its connections with. */
enum deaf_kind {
	DEAF_IMPORT,	/* small replies, each with an fd */
	DEAF_LIST,	/* fd-less replies of ~10 KiB */
};

static int send_request(int sock, uint64_t seq, enum deaf_kind kind,
			uint64_t id)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__ImportRequest im = DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;
	DmabufBroker__V1__ListRequest li = DMABUF_BROKER__V1__LIST_REQUEST__INIT;

	req.seq = seq;
	if (kind == DEAF_IMPORT) {
		im.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_ID;
		im.id = id;
		req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_IMPORT;
		req.import = &im;
	} else {
		req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_LIST;
		req.list = &li;
	}
	return harness_raw_send(sock, &req, false);
}

/*
 * As the deaf uid: makes buffers with long names (for List), then on each
 * of its connections sends DEAF_REQUESTS requests without reading a
 * reply.  Each connection alone stays below its own queue's bounds (256
 * frames, 4 MiB) even if the kernel kept none of its replies, but what
 * the kernel does not keep (the broker's send buffer, 208 KiB by default,
 * holds only part of them) queues up, and together they queue more than
 * the uid's share: at least one is hung up on.
 */
static int child_deaf(struct harness_ctx *ctx, void *arg)
{
	enum deaf_kind kind = *(const enum deaf_kind *)arg;
	struct dbb_client *owner = NULL;
	struct dbb_buffer *b[LISTED] = { 0 };
	int s[DEAF_CONNS];
	unsigned hung_up = 0;
	char name[224];

	CHILD_CHECK(child_connect(ctx, HOG_UID, "deaf-owner", &owner) == 0);
	for (unsigned i = 0; i < LISTED; i++) {
		struct dbb_alloc_params p = { .struct_size = sizeof(p),
					      .size = 4096, .name = name };

		snprintf(name, sizeof(name), "deaf/%0200u", i);
		CHILD_CHECK(dbb_alloc(owner, &p, &b[i]) == 0);
	}
	for (unsigned i = 0; i < DEAF_CONNS; i++) {
		s[i] = harness_raw_client(ctx->socket, "deaf");
		CHILD_CHECK(s[i] >= 0);
	}
	for (unsigned i = 0; i < DEAF_CONNS; i++) {
		for (unsigned k = 0; k < DEAF_REQUESTS; k++) {
			if (send_request(s[i], k + 2, kind,
					 dbb_buffer_get_info(b[0])->id) < 0)
				break;	/* hung up on already */
		}
	}
	/* Now read: each connection gives all its replies, or ends early. */
	for (unsigned i = 0; i < DEAF_CONNS; i++) {
		DmabufBroker__V1__ServerMessage *m = NULL;
		unsigned got = 0;
		int r;

		while (got < DEAF_REQUESTS &&
		       (r = harness_raw_recv(s[i], WAIT_MS, &m, NULL)) == 0) {
			dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
			got++;
		}
		if (got < DEAF_REQUESTS) {
			CHILD_CHECK(r == -EPIPE || r == -ECONNRESET);
			hung_up++;
		}
		close(s[i]);
	}
	CHILD_CHECK(hung_up >= 1);
	/* Its own well-behaved connection is still served. */
	CHILD_CHECK(dbb_stats(owner, &(struct dbb_stats){
		.struct_size = sizeof(struct dbb_stats) }) == 0);
	for (unsigned i = 0; i < LISTED; i++)
		dbb_buffer_free(b[i]);
	dbb_client_destroy(owner);
	return 0;
}

/* Another uid, connected all along: served before and after. */
static int child_bystander(struct harness_ctx *ctx, void *arg)
{
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL, *again = NULL;

	(void)arg;
	CHILD_CHECK(child_connect(ctx, OTHER_UID, "bystander", &c) == 0);
	CHILD_CHECK(alloc_size(c, 4096, &b) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'R') == 0);
	CHILD_CHECK(harness_await(ctx->in, WAIT_MS) == 'Q');
	CHILD_CHECK(alloc_size(c, 4096, &again) == 0);
	CHILD_CHECK(dbb_stats(c, &(struct dbb_stats){
		.struct_size = sizeof(struct dbb_stats) }) == 0);
	dbb_buffer_free(again);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void deaf_run(struct fixture *f, enum deaf_kind kind)
{
	struct harness_child deaf, by;
	int fds_base, fds_end;

	fds_base = harness_fd_count(f->d.pid);
	assert_true(fds_base > 0);
	start_child(f, &by, child_bystander, NULL, 'R');
	start_child(f, &deaf, child_deaf, &kind, 0);
	end_child(&deaf);
	assert_int_equal(0, harness_post(by.to_child, 'Q'));
	end_child(&by);
	assert_int_equal(1, wait_clients(f->root, 1));
	fds_end = harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS);
	printf("# daemon fds %d -> %d\n", fds_base, fds_end);
	assert_int_equal(fds_base, fds_end);
	finish(f);
}

static void test_unread_fds_cost_their_uid_only(void **state)
{
	deaf_run(*state, DEAF_IMPORT);
}

static void test_unread_bytes_cost_their_uid_only(void **state)
{
	deaf_run(*state, DEAF_LIST);
}

static int setup_default(void **state)
{
	return start(state, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cap_refuses_and_others_are_served,
						setup_cap, teardown),
		cmocka_unit_test_setup_teardown(test_conn_hog_locks_out_nobody,
						setup_per_uid, teardown),
		cmocka_unit_test_setup_teardown(test_root_reserve,
						setup_reserve, teardown),
		cmocka_unit_test_setup_teardown(test_hogs_together_leave_room,
						setup_light, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_storm_leaves_nothing,
						setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_unread_fds_cost_their_uid_only,
						setup_deaf, teardown),
		cmocka_unit_test_setup_teardown(test_unread_bytes_cost_their_uid_only,
						setup_deaf, teardown),
	};

	return cmocka_run_group_tests_name("shares", tests, NULL, NULL);
}
