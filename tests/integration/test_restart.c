/* SPDX-License-Identifier: MIT */
/*
 * Crash safety: the daemon under a test supervisor that keeps its fd store
 * and starts it again as systemd does (supervisor.h).  Persistent buffers
 * come back after SIGKILL and after SIGTERM with their ids, names, bytes,
 * grants and quota; client-lifetime ones do not, unless their connection
 * can resume: then its token takes them back; ids are never reused;
 * Destroy takes a buffer out of the store; a corrupt state or a stray fd
 * in the store is survived, and what is not restored is closed.  Pools
 * across a restart are test_restart_pool.c's.
 *
 * Clients speak the raw protocol (harness_raw_*): the tests need the
 * replies' BufferInfo and nothing of the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "restart_kit.h"
#include "supervisor.h"

#define P1_NAME "crash/p1"
#define P2_NAME "crash/p2"
#define C1_NAME "crash/c1"
#define SIZE_2 (192u * 1024u)

typedef DmabufBroker__V1__ServerMessage Msg;

/* ---- requests ---- */

/* The size of the buffer called @name (drm may round an Alloc up). */
static uint64_t size_of(int sock, const char *name)
{
	Msg *m = NULL;
	uint64_t size = 0;

	if (harness_raw_info(sock, name, 0, &m) == 0)
		size = m->response->buffer->size;
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return size;
}

/* The caller's quota usage. */
static int usage(int sock, uint64_t *bytes, uint64_t *buffers)
{
	Msg *m = NULL;
	int r = harness_raw_stats(sock, &m);

	if (r == 0) {
		*bytes = m->response->stats->caller->bytes;
		*buffers = m->response->stats->caller->buffers;
	}
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

/* ---- tests ---- */

/* A child as nobody: the grant survived the crash (READ where the backend
 * enforces read-only, else READ_WRITE). */
static int child_nobody_imports(struct harness_ctx *ctx, void *arg)
{
	uint64_t id = *(uint64_t *)arg;
	int sock, fd = -1;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	sock = harness_raw_client(ctx->socket, "nobody");
	CHILD_CHECK(sock >= 0);
	if (harness_backend_read_only())
		CHILD_CHECK(harness_raw_import_id(sock, id, false, &fd) == -EACCES);
	else
		CHILD_CHECK(harness_raw_import_id(sock, id, false, &fd) == 0);
	if (fd >= 0)
		close(fd);
	CHILD_CHECK(harness_ro_refused(harness_raw_import_id(sock, id, true, &fd), 0));
	if (fd >= 0)
		close(fd);
	close(sock);
	return 0;
}

static void check_restored(int sock, uint64_t id, const char *name,
			   uint64_t size, size_t ngrants)
{
	Msg *m = NULL;
	DmabufBroker__V1__BufferInfo *b;

	assert_int_equal(0, harness_raw_info(sock, name, 0, &m));
	b = m->response->buffer;
	assert_int_equal(id, b->id);
	assert_string_equal(name, b->name);
	assert_int_equal(size, b->size);
	assert_int_equal(getuid(), b->owner_uid);
	assert_string_equal("owner", b->owner_name);
	assert_string_equal(harness_backend(), b->backend);
	assert_int_equal(DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT,
			 b->lifetime);
	assert_int_equal(ngrants, b->n_grants);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
}

static void test_kill_keeps_persistent(void **state)
{
	struct kit *f = *state;
	uint64_t id1, id2, idc, idn, size1, size2, bytes, buffers;
	int sock, fd1, fd2, fdn;
	uint8_t *m1, *m2, *mn;
	struct harness_child child;

	sock = harness_raw_client(f->s.d.socket, "owner");
	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P1_NAME, true, NOBODY, &id1,
				      &fd1));
	assert_int_equal(0, kit_alloc(sock, SIZE_2, NULL, true, 0, &id2, &fd2));
	assert_int_equal(0, harness_raw_publish(sock, id2, P2_NAME));
	assert_int_equal(0, harness_raw_grant_everyone(sock, id2));
	assert_int_equal(0, kit_alloc(sock, SIZE_1, C1_NAME, false, 0, &idc,
				      NULL));
	size1 = size_of(sock, P1_NAME);
	size2 = size_of(sock, P2_NAME);
	assert_true(harness_size_ok(SIZE_1, size1));
	assert_true(harness_size_ok(SIZE_2, size2));
	m1 = kit_map(fd1, SIZE_1);
	m2 = kit_map(fd2, SIZE_2);
	harness_fill(m1, SIZE_1, 1);
	harness_fill(m2, SIZE_2, 2);

	kit_kill_and_restart(f);
	close(sock);
	kit_assert_daemon_fds(f, f->fresh_fds + 2);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	check_restored(sock, id1, P1_NAME, size1, 1);
	check_restored(sock, id2, P2_NAME, size2, 1);
	assert_int_equal(-ENOENT, harness_raw_info(sock, C1_NAME, 0, NULL));
	assert_int_equal(0, usage(sock, &bytes, &buffers));
	assert_int_equal(size1 + size2, bytes);
	assert_int_equal(2, buffers);

	/* The same memory: what the old mapping writes, a new import of
	 * the restarted broker's reads, and the other way round. */
	assert_int_equal(0, harness_raw_import_id(sock, id1, false, &fdn));
	mn = kit_map(fdn, SIZE_1);
	assert_int_equal(-1, harness_check(mn, SIZE_1, 1));
	harness_fill(m1, SIZE_1, 3);
	assert_int_equal(-1, harness_check(mn, SIZE_1, 3));
	harness_fill(mn, SIZE_1, 4);
	assert_int_equal(-1, harness_check(m1, SIZE_1, 4));
	assert_int_equal(-1, harness_check(m2, SIZE_2, 2));

	/* The client-lifetime buffer's id is not handed out again either. */
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, false, 0, &idn,
				      NULL));
	assert_true(idn > idc && idc > id2 && id2 > id1);

	if (getuid() == 0) {
		assert_int_equal(0, harness_child_start(&child, f->s.d.socket,
							child_nobody_imports,
							&id1));
		assert_int_equal(0, harness_child_wait(&child, WAIT_MS));
	}
	munmap(mn, SIZE_1);
	munmap(m1, SIZE_1);
	munmap(m2, SIZE_2);
	close(fdn);
	close(fd1);
	close(fd2);
	close(sock);
}

/*
 * A resumable connection's client-lifetime buffers are kept across a
 * crash: after the restart its token takes them back (same id, same
 * memory), also after it resumed once already and holds a new token.
 */
static void test_resume_after_crash(void **state)
{
	struct kit *f = *state;
	uint8_t token[32];
	ProtobufCBinaryData t = { sizeof(token), token };
	uint64_t id, idn;
	bool resumed;
	int sock = harness_raw_connect(f->s.d.socket), fd, fdn;
	uint8_t *m, *mn;

	assert_true(sock >= 0);
	assert_int_equal(0, kit_hello(sock, NULL, token, &resumed));
	assert_false(resumed);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, C1_NAME, false, 0, &id,
				      &fd));
	m = kit_map(fd, SIZE_1);
	harness_fill(m, SIZE_1, 7);

	for (int round = 0; round < 2; round++) {
		kit_kill_and_restart(f);
		close(sock);
		sock = harness_raw_connect(f->s.d.socket);
		assert_true(sock >= 0);
		assert_int_equal(0, kit_hello(sock, &t, token, &resumed));
		assert_true(resumed);
		assert_int_equal(0, harness_raw_info(sock, NULL, id, NULL));
		assert_int_equal(0, harness_raw_import_id(sock, id, false, &fdn));
		mn = kit_map(fdn, SIZE_1);
		assert_int_equal(-1, harness_check(mn, SIZE_1, 7 + round));
		harness_fill(m, SIZE_1, 8 + round);
		assert_int_equal(-1, harness_check(mn, SIZE_1, 8 + round));
		munmap(mn, SIZE_1);
		close(fdn);
	}
	/* Its id, like every other, is not handed out again. */
	close(sock);
	sock = harness_raw_client(f->s.d.socket, "other");
	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, false, 0, &idn,
				      NULL));
	assert_true(idn > id);
	munmap(m, SIZE_1);
	close(fd);
	close(sock);
}

/* `systemctl restart`: SIGTERM, a clean exit, and the store kept. */
static void test_term_keeps_persistent(void **state)
{
	struct kit *f = *state;
	uint64_t id, size, bytes, buffers;
	int sock = harness_raw_client(f->s.d.socket, "owner");
	int fd, fdn;
	uint8_t *m;

	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P1_NAME, true, NOBODY, &id,
				      &fd));
	size = size_of(sock, P1_NAME);
	m = kit_map(fd, SIZE_1);
	harness_fill(m, SIZE_1, 5);
	close(sock);
	assert_int_equal(0, supervisor_term(&f->s));
	assert_int_equal(0, supervisor_restart(&f->s));
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	check_restored(sock, id, P1_NAME, size, 1);
	assert_int_equal(0, usage(sock, &bytes, &buffers));
	assert_int_equal(size, bytes);
	assert_int_equal(0, harness_raw_import_id(sock, id, false, &fdn));
	munmap(m, SIZE_1);
	m = kit_map(fdn, SIZE_1);
	assert_int_equal(-1, harness_check(m, SIZE_1, 5));
	munmap(m, SIZE_1);
	close(fdn);
	close(fd);
	close(sock);
}

static void test_destroy_leaves_store(void **state)
{
	struct kit *f = *state;
	uint64_t id, keep;
	char name[64];
	int sock = harness_raw_client(f->s.d.socket, "owner");

	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P1_NAME, true, 0, &id,
				      NULL));
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P2_NAME, true, 0, &keep,
				      NULL));
	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)id);
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, true, WAIT_MS));
	assert_int_equal(0, harness_raw_destroy(sock, id));
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, false,
						   WAIT_MS));
	kit_kill_and_restart(f);
	close(sock);
	kit_assert_daemon_fds(f, f->fresh_fds + 1);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(-ENOENT, harness_raw_info(sock, NULL, id, NULL));
	assert_int_equal(0, harness_raw_info(sock, NULL, keep, NULL));
	close(sock);
}

/* Both state slots overwritten: nothing is believed, every buffer fd is
 * closed and taken out of the store, and ids still move on. */
static void test_corrupt_state(void **state)
{
	struct kit *f = *state;
	static const char junk[256] = "not a state";
	uint64_t id, idn;
	int sock = harness_raw_client(f->s.d.socket, "owner");

	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P1_NAME, true, 0, &id,
				      NULL));
	assert_int_equal(0, supervisor_kill(&f->s));
	close(sock);
	for (int slot = 0; slot < 2; slot++) {
		char name[32];
		int fd;

		snprintf(name, sizeof(name), "dbb-state-%d", slot);
		fd = supervisor_stored(&f->s, name);
		assert_true(fd >= 0);
		assert_int_equal(sizeof(junk), pwrite(fd, junk, sizeof(junk), 0));
		close(fd);
	}
	assert_int_equal(0, supervisor_restart(&f->s));
	kit_assert_daemon_fds(f, f->fresh_fds);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(-ENOENT, harness_raw_info(sock, NULL, id, NULL));
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P1_NAME, true, 0, &idn,
				      NULL));
	assert_true(idn > id);
	/* The state is sound again. */
	kit_kill_and_restart(f);
	close(sock);
	sock = harness_raw_client(f->s.d.socket, "again");
	assert_true(sock >= 0);
	assert_int_equal(0, harness_raw_info(sock, NULL, idn, NULL));
	close(sock);
}

/* The generation in the header of state slot @slot (the broker's format:
 * 8 bytes of magic, then the generation); 0 when it cannot be read. */
static uint64_t slot_generation(struct supervisor *s, int slot, int *fd)
{
	char name[32];
	uint64_t gen = 0;

	snprintf(name, sizeof(name), "dbb-state-%d", slot);
	*fd = supervisor_stored(s, name);
	if (*fd < 0 || pread(*fd, &gen, sizeof(gen), 8) != sizeof(gen))
		return 0;
	return gen;
}

/*
 * A write cut short: the newest state slot is damaged past its header.
 * The broker falls back to the slot before it, one change older: the
 * buffer is back, without the grant that was its last change.
 */
static void test_torn_write(void **state)
{
	struct kit *f = *state;
	uint64_t id, g0, g1;
	int sock = harness_raw_client(f->s.d.socket, "owner"), fd0, fd1;
	Msg *m = NULL;

	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, P1_NAME, true, 0, &id,
				      NULL));
	assert_int_equal(0, harness_raw_grant_everyone(sock, id));
	assert_int_equal(0, supervisor_kill(&f->s));
	close(sock);
	g0 = slot_generation(&f->s, 0, &fd0);
	g1 = slot_generation(&f->s, 1, &fd1);
	assert_true(g0 && g1 && g0 != g1);
	/* One byte of the message, as a write stopped half-way leaves it. */
	assert_int_equal(1, pwrite(g0 > g1 ? fd0 : fd1, "\xff", 1, 40));
	close(fd0);
	close(fd1);
	assert_int_equal(0, supervisor_restart(&f->s));
	kit_assert_daemon_fds(f, f->fresh_fds + 1);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(0, harness_raw_info(sock, P1_NAME, 0, &m));
	assert_int_equal(id, m->response->buffer->id);
	assert_int_equal(0, m->response->buffer->n_grants);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	close(sock);
}

/* A buffer fd the state does not describe is closed and dropped; its id
 * is not handed out. */
static void test_stray_fd(void **state)
{
	struct kit *f = *state;
	int stray = memfd_create("stray", MFD_CLOEXEC);
	int bogus = memfd_create("bogus", MFD_CLOEXEC);
	uint64_t idn;
	int sock;

	assert_true(stray >= 0 && bogus >= 0);
	assert_int_equal(0, ftruncate(stray, SIZE_1));
	assert_int_equal(0, supervisor_kill(&f->s));
	assert_int_equal(0, supervisor_add(&f->s, "dbb-buf-5000", stray));
	assert_int_equal(0, supervisor_add(&f->s, "dbb-bogus", bogus));
	close(stray);
	close(bogus);
	assert_int_equal(0, supervisor_restart(&f->s));
	assert_int_equal(0, supervisor_wait_stored(&f->s, "dbb-buf-5000", false,
						   WAIT_MS));
	assert_int_equal(0, supervisor_wait_stored(&f->s, "dbb-bogus", false,
						   WAIT_MS));
	kit_assert_daemon_fds(f, f->fresh_fds);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, true, 0, &idn, NULL));
	assert_true(idn > 5000);
	close(sock);
}

/* A full store refuses persistent Allocs, not client-lifetime ones. */
static void test_store_full(void **state)
{
	struct kit *f = *state;
	uint64_t id1, id2;
	char name[64];
	int sock = harness_raw_client(f->s.d.socket, "owner");

	assert_true(sock >= 0);
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, true, 0, &id1, NULL));
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, true, 0, &id2, NULL));
	assert_int_equal(-ENOSPC, kit_alloc(sock, SIZE_1, NULL, true, 0, NULL,
					    NULL));
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, false, 0, NULL,
				      NULL));
	assert_int_equal(0, harness_raw_destroy(sock, id1));
	assert_int_equal(0, kit_alloc(sock, SIZE_1, NULL, true, 0, &id1, NULL));
	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)id1);
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, true, WAIT_MS));
	assert_int_equal(4, supervisor_nstored(&f->s));
	close(sock);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, kit_setup, kit_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_keeps_persistent,
						kit_setup_no_resume,
						kit_teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_crash,
						kit_setup_resume, kit_teardown),
		T(test_term_keeps_persistent),
		T(test_destroy_leaves_store),
		T(test_corrupt_state),
		T(test_torn_write),
		T(test_stray_fd),
		cmocka_unit_test_setup_teardown(test_store_full,
						kit_setup_small_store,
						kit_teardown),
	};
#undef T
	return cmocka_run_group_tests_name("restart", tests, NULL, NULL);
}
