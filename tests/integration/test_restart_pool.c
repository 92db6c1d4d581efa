/* SPDX-License-Identifier: MIT */
/*
 * Pools across a restart of the daemon under the test supervisor
 * (supervisor.h), as test_restart.c does for single buffers: a persistent
 * pool comes back whole after SIGKILL, a client-lifetime one does not;
 * a resumable session's client-lifetime pool waits for the session
 * through the grace period, for its own uid only, and ends with it when
 * it does not come back; such a pool goes into the fd store whole or not
 * at all.
 *
 * Clients speak the raw protocol (harness_raw_*): the tests need the
 * replies' PoolInfo and nothing of the library.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "restart_kit.h"
#include "supervisor.h"

/* Sessions run out as soon as the loop runs: no client comes back. */
#define EXPIRING_CONFIG \
	"[broker]\nbackends = memfd\nresume_grace_ms = 1\n"

typedef DmabufBroker__V1__ServerMessage Msg;

/* ---- requests ---- */

/* Goodbye: the client is done, its session is not kept. */
static int goodbye(int sock)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__GoodbyeRequest g =
		DMABUF_BROKER__V1__GOODBYE_REQUEST__INIT;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_GOODBYE;
	req.goodbye = &g;
	return harness_raw_request(sock, &req, NULL, NULL);
}

/* Waits until buffer @id's fd is in the store (@present) or out of it. */
static int wait_stored(struct kit *f, uint64_t id, bool present)
{
	char name[64];

	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)id);
	return supervisor_wait_stored(&f->s, name, present, WAIT_MS);
}

/* ---- tests ---- */

/* A persistent pool comes back whole, under its id and name, its members
 * the same memory; a client-lifetime one does not.  Destroying it takes
 * every member out of the store. */
static void test_kill_keeps_persistent_pool(void **state)
{
	struct kit *f = *state;
	int sock = harness_raw_client(f->s.d.socket, "owner");
	int fds[64], after[64];
	size_t n;
	uint64_t id, member, last;
	char name[64];
	uint8_t *m1, *mn;
	Msg *m;

	assert_true(sock >= 0);
	assert_int_equal(0, harness_raw_pool_alloc(sock, 3, SIZE_1, "crash/pool",
						   DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT,
						   NULL, &m, fds, &n));
	assert_int_equal(3, n);
	id = m->response->pool->id;
	member = m->response->pool->buffers[1]->id;
	last = m->response->pool->buffers[2]->id;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_int_equal(0, harness_raw_pool_alloc(sock, 2, SIZE_1, "crash/cpool",
						   DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
						   NULL, NULL, NULL, NULL));
	m1 = kit_map(fds[1], SIZE_1);
	harness_fill(m1, SIZE_1, 7);

	kit_kill_and_restart(f);
	close(sock);
	kit_assert_daemon_fds(f, f->fresh_fds + 3);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(-ENOENT, harness_raw_info(sock, "crash/cpool", 0, NULL));
	assert_int_equal(0, harness_raw_pool_open(sock, 0, "crash/pool", false,
						  &m, after, &n));
	assert_int_equal(3, n);
	assert_int_equal(id, m->response->pool->id);
	assert_int_equal(3, m->response->pool->count);
	assert_int_equal(DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT,
			 m->response->pool->lifetime);
	assert_int_equal(member, m->response->pool->buffers[1]->id);
	assert_int_equal(id, m->response->pool->buffers[1]->pool_id);
	assert_int_equal(1, m->response->pool->buffers[1]->pool_index);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	mn = kit_map(after[1], SIZE_1);
	assert_int_equal(-1, harness_check(mn, SIZE_1, 7));
	/* Still a pool: its name taken, its members managed through it. */
	assert_int_equal(-EEXIST, kit_alloc(sock, SIZE_1, "crash/pool", true, 0,
					    NULL, NULL));
	assert_int_equal(-EBUSY, harness_raw_destroy(sock, member));
	/* Members leave in index order: the last one's fd goes last. */
	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)last);
	assert_int_equal(0, harness_raw_destroy(sock, id));
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, false,
						   WAIT_MS));
	assert_int_equal(2, supervisor_nstored(&f->s));	/* the state slots */
	munmap(mn, SIZE_1);
	munmap(m1, SIZE_1);
	for (size_t i = 0; i < 3; i++) {
		close(fds[i]);
		close(after[i]);
	}
	close(sock);
}

/* ---- a resumable session's client-lifetime pool ---- */

#define RP_NAME "crash/rpool"
#define RP_COUNT 3u
#define GRANTEE 4242u		/* a uid the pool is granted to, no one's */

/* What the owner knew of its pool before the broker died. */
struct resumable_pool {
	uint8_t token[32];	/* the session's, to resume it with */
	uint64_t id;
	uint64_t members[RP_COUNT];
	uint64_t size;		/* of each member */
	uint64_t created_usec;
	DmabufBroker__V1__Access access;	/* granted to GRANTEE */
};

/*
 * A resumable session allocates RP_NAME (client lifetime, granted to
 * GRANTEE) and writes member i through its fd with seed 20 + i; then the
 * broker is killed and started again with its store.  The connection is
 * closed after the crash, as a client would find it broken.
 */
static void resumable_pool_crash(struct kit *f, struct resumable_pool *rp)
{
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	int sock = harness_raw_connect(f->s.d.socket), fds[64];
	DmabufBroker__V1__PoolInfo *pi;
	bool resumed = true;
	size_t n;
	Msg *m;

	assert_true(sock >= 0);
	assert_int_equal(0, kit_hello(sock, NULL, rp->token, &resumed));
	assert_false(resumed);
	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = GRANTEE;
	g.access = rp->access = harness_backend_read_only() ?
		   DMABUF_BROKER__V1__ACCESS__ACCESS_READ :
		   DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
	assert_int_equal(0, harness_raw_pool_alloc(sock, RP_COUNT, SIZE_1,
						   RP_NAME,
						   DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
						   &g, &m, fds, &n));
	assert_int_equal(RP_COUNT, n);
	pi = m->response->pool;
	rp->id = pi->id;
	rp->size = pi->buffer_size;
	rp->created_usec = pi->created_usec;
	for (size_t i = 0; i < RP_COUNT; i++) {
		uint8_t *p = kit_map(fds[i], SIZE_1);

		rp->members[i] = pi->buffers[i]->id;
		harness_fill(p, SIZE_1, 20 + (uint32_t)i);
		munmap(p, SIZE_1);
		close(fds[i]);
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_true(harness_size_ok(SIZE_1, rp->size));
	for (size_t i = 0; i < RP_COUNT; i++)
		assert_int_equal(0, wait_stored(f, rp->members[i], true));

	kit_kill_and_restart(f);
	close(sock);
}

/* The caller's uid is charged @bytes for @buffers buffers, and the
 * broker counts @pools pools. */
static void assert_charged(const char *socket, uint64_t bytes,
			   uint64_t buffers, uint64_t pools)
{
	int sock = harness_raw_client(socket, "stats");
	Msg *m = NULL;

	assert_true(sock >= 0);
	assert_int_equal(0, harness_raw_stats(sock, &m));
	assert_int_equal(bytes, m->response->stats->caller->bytes);
	assert_int_equal(buffers, m->response->stats->caller->buffers);
	assert_int_equal(pools, m->response->stats->pools);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	close(sock);
}

/* Hello with @rp's token, which it then replaces with the next one; the
 * connection of the resumed session. */
static int resume_session(struct kit *f, struct resumable_pool *rp)
{
	ProtobufCBinaryData t = { sizeof(rp->token), rp->token };
	uint8_t next[32];
	bool resumed = false;
	int sock = harness_raw_connect(f->s.d.socket);

	assert_true(sock >= 0);
	assert_int_equal(0, kit_hello(sock, &t, next, &resumed));
	assert_true(resumed);
	memcpy(rp->token, next, sizeof(next));
	return sock;
}

/* Another uid, with the owner's token: no session of its own to take
 * back, and the pool it was not granted is not there for it. */
static int child_other_uid(struct harness_ctx *ctx, void *arg)
{
	const struct resumable_pool *rp = arg;
	ProtobufCBinaryData t = { sizeof(rp->token), (uint8_t *)rp->token };
	uint8_t next[32];
	bool resumed = true;
	int sock, fds[64];
	size_t n = 0;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	sock = harness_raw_connect(ctx->socket);
	CHILD_CHECK(sock >= 0);
	CHILD_CHECK(kit_hello(sock, &t, next, &resumed) == 0);
	CHILD_CHECK(!resumed);
	CHILD_CHECK(harness_raw_info(sock, RP_NAME, 0, NULL) == -ENOENT);
	CHILD_CHECK(harness_raw_info(sock, NULL, rp->id, NULL) == -ENOENT);
	CHILD_CHECK(harness_raw_pool_open(sock, 0, RP_NAME, true, NULL, fds,
					  &n) == -ENOENT && n == 0);
	CHILD_CHECK(harness_raw_pool_open(sock, rp->id, NULL, true, NULL, fds,
					  &n) == -ENOENT && n == 0);
	CHILD_CHECK(harness_raw_import_id(sock, rp->members[0], true,
					  &fds[0]) == -ENOENT);
	close(sock);
	return 0;
}

/* Another uid cannot take the restored session, nor open its pool; the
 * owner's token still works after it tried. */
static void test_restored_pool_other_uid(void **state)
{
	struct kit *f = *state;
	struct resumable_pool rp;
	struct harness_child child;
	int sock;

	if (getuid() != 0)
		skip();		/* needs root to become another uid */
	resumable_pool_crash(f, &rp);
	assert_int_equal(0, harness_child_start(&child, f->s.d.socket,
						child_other_uid, &rp));
	assert_int_equal(0, harness_child_wait(&child, WAIT_MS));
	sock = resume_session(f, &rp);
	assert_int_equal(0, harness_raw_info(sock, NULL, rp.id, NULL));
	close(sock);
}

/* @p is the restored RP_NAME of @rp, owned by this process's session. */
static void check_restored_pool(const DmabufBroker__V1__PoolInfo *p,
				const struct resumable_pool *rp)
{
	assert_int_equal(rp->id, p->id);
	assert_string_equal(RP_NAME, p->name);
	assert_int_equal(RP_COUNT, p->count);
	assert_int_equal(rp->size, p->buffer_size);
	assert_string_equal(harness_backend(), p->backend);
	assert_int_equal(getuid(), p->owner_uid);
	assert_int_equal(getpid(), p->owner_pid);
	assert_string_equal("resumer", p->owner_name);
	assert_int_equal(DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
			 p->lifetime);
	assert_int_equal(rp->created_usec, p->created_usec);
	assert_int_equal(1, p->n_grants);
	assert_int_equal(DMABUF_BROKER__V1__GRANT__SUBJECT_UID,
			 p->grants[0]->subject_case);
	assert_int_equal(GRANTEE, p->grants[0]->uid);
	assert_int_equal(rp->access, p->grants[0]->access);
	assert_int_equal(RP_COUNT, p->n_buffers);
	for (uint32_t i = 0; i < RP_COUNT; i++) {
		assert_int_equal(rp->members[i], p->buffers[i]->id);
		assert_int_equal(rp->id, p->buffers[i]->pool_id);
		assert_int_equal(i, p->buffers[i]->pool_index);
		assert_int_equal(rp->size, p->buffers[i]->size);
	}
}

/*
 * The session resumed after the restart has its pool back: Info as before
 * the crash, PoolOpen hands out the members with what was written into
 * them; again after a second crash, with the session's new token.  The
 * pool is still the session's: a Goodbye ends it.
 */
static void test_resume_pool_after_crash(void **state)
{
	struct kit *f = *state;
	struct resumable_pool rp;
	int sock = -1, fds[64];
	size_t n;
	Msg *m;

	resumable_pool_crash(f, &rp);
	for (int round = 0; round < 2; round++) {
		if (round > 0) {
			kit_kill_and_restart(f);
			close(sock);
		}
		/* Detached until its client comes back: kept and charged. */
		kit_assert_daemon_fds(f, f->fresh_fds + (int)RP_COUNT);
		assert_charged(f->s.d.socket, RP_COUNT * rp.size, RP_COUNT, 1);
		sock = resume_session(f, &rp);
		assert_int_equal(0, harness_raw_info(sock, RP_NAME, 0, &m));
		check_restored_pool(m->response->pool, &rp);
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);

		assert_int_equal(0, harness_raw_pool_open(sock, rp.id, NULL,
							  false, &m, fds, &n));
		assert_int_equal(RP_COUNT, n);
		check_restored_pool(m->response->pool, &rp);
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
		for (size_t i = 0; i < n; i++) {
			uint8_t *p = kit_map(fds[i], SIZE_1);

			assert_int_equal(-1, harness_check(p, SIZE_1,
							   20 + (uint32_t)i));
			munmap(p, SIZE_1);
			close(fds[i]);
		}
	}
	/* Still a pool: its name taken, its members managed through it. */
	assert_int_equal(-EEXIST, kit_alloc(sock, SIZE_1, RP_NAME, false, 0,
					    NULL, NULL));
	assert_int_equal(-EBUSY, harness_raw_destroy(sock, rp.members[0]));

	/* Ended on purpose: the pool goes with the session, out of the
	 * store, and nothing stays charged. */
	assert_int_equal(0, goodbye(sock));
	close(sock);
	for (size_t i = 0; i < RP_COUNT; i++)
		assert_int_equal(0, wait_stored(f, rp.members[i], false));
	kit_assert_daemon_fds(f, f->fresh_fds);
	assert_charged(f->s.d.socket, 0, 0, 0);
}

/* Rewrites the daemon's config, read at its next start. */
static void set_config(struct kit *f, const char *config)
{
	FILE *cf = fopen(f->s.d.config, "w");

	assert_non_null(cf);
	assert_true(fputs(config, cf) >= 0);
	assert_int_equal(0, fclose(cf));
}

/*
 * A session that does not come back within the grace period ends with its
 * pool: members closed and out of the store, the quota uncharged, the
 * name free, the token no longer honoured.  The first restart shows the
 * pool came back; the second starts with a grace of 1 ms, so that the
 * session restored from the store runs out at once.
 */
static void test_restored_pool_expires(void **state)
{
	struct kit *f = *state;
	struct resumable_pool rp;
	ProtobufCBinaryData t = { sizeof(rp.token), rp.token };
	uint8_t next[32];
	bool resumed = true;
	int sock;

	resumable_pool_crash(f, &rp);
	kit_assert_daemon_fds(f, f->fresh_fds + (int)RP_COUNT);
	assert_charged(f->s.d.socket, RP_COUNT * rp.size, RP_COUNT, 1);

	set_config(f, EXPIRING_CONFIG);
	kit_kill_and_restart(f);
	for (size_t i = 0; i < RP_COUNT; i++)
		assert_int_equal(0, wait_stored(f, rp.members[i], false));
	kit_assert_daemon_fds(f, f->fresh_fds);
	assert_charged(f->s.d.socket, 0, 0, 0);

	sock = harness_raw_connect(f->s.d.socket);
	assert_true(sock >= 0);
	assert_int_equal(0, kit_hello(sock, &t, next, &resumed));
	assert_false(resumed);
	assert_int_equal(-ENOENT, harness_raw_info(sock, RP_NAME, 0, NULL));
	assert_int_equal(-ENOENT, harness_raw_info(sock, NULL, rp.id, NULL));
	assert_int_equal(0, harness_raw_pool_alloc(sock, 1, SIZE_1, RP_NAME,
						   DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
						   NULL, NULL, NULL, NULL));
	close(sock);
}

/*
 * A resumable session's pool goes into the store whole or not at all: a
 * pool comes back only whole, so members stored without the rest would
 * take the store's fds for nothing.  The store holds 8 fds, two of them
 * the state; client-lifetime buffers may take half of it, 4.  (At most 5
 * are stored: valgrind keeps an fd of its own when it starts with fds 3
 * to 9 taken, which the fd count would see.)
 */
static void test_resumable_pool_stored_whole(void **state)
{
	struct kit *f = *state;
	struct resumable_pool rp;	/* its token only */
	uint64_t big, small;
	int sock = harness_raw_connect(f->s.d.socket);
	bool resumed = true;
	Msg *m;

	assert_true(sock >= 0);
	assert_int_equal(0, kit_hello(sock, NULL, rp.token, &resumed));
	/* 5 members: over the half, none of them stored. */
	assert_int_equal(0, harness_raw_pool_alloc(sock, 5, SIZE_1, "crash/big",
						   DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
						   NULL, &m, NULL, NULL));
	big = m->response->pool->id;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	/* 3: all of them. */
	assert_int_equal(0, harness_raw_pool_alloc(sock, 3, SIZE_1, "crash/small",
						   DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
						   NULL, &m, NULL, NULL));
	small = m->response->pool->id;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(0, wait_stored(f, m->response->pool->buffers[i]->id,
						true));
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	/* The notify socket keeps order: what was sent before is in. */
	assert_int_equal(2 + 3, supervisor_nstored(&f->s));

	kit_kill_and_restart(f);
	close(sock);
	kit_assert_daemon_fds(f, f->fresh_fds + 3);
	sock = resume_session(f, &rp);
	assert_int_equal(0, harness_raw_info(sock, NULL, small, NULL));
	assert_int_equal(-ENOENT, harness_raw_info(sock, NULL, big, NULL));
	assert_int_equal(-ENOENT, harness_raw_info(sock, "crash/big", 0, NULL));
	close(sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_keeps_persistent_pool,
						kit_setup_no_resume,
						kit_teardown),
		cmocka_unit_test_setup_teardown(test_restored_pool_other_uid,
						kit_setup_resume, kit_teardown),
		cmocka_unit_test_setup_teardown(test_resume_pool_after_crash,
						kit_setup_resume, kit_teardown),
		cmocka_unit_test_setup_teardown(test_restored_pool_expires,
						kit_setup_resume, kit_teardown),
		cmocka_unit_test_setup_teardown(test_resumable_pool_stored_whole,
						kit_setup_resume_small_store,
						kit_teardown),
	};
	return cmocka_run_group_tests_name("restart_pool", tests, NULL, NULL);
}
