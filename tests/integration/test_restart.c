/* SPDX-License-Identifier: MIT */
/*
 * Crash safety: the daemon under a test supervisor that keeps its fd store
 * and starts it again as systemd does (supervisor.h).  Persistent buffers
 * come back after SIGKILL and after SIGTERM with their ids, names, bytes,
 * grants and quota; client-lifetime ones do not, unless their session can
 * resume: then they and its pools wait for it through the grace period,
 * for its own uid only, and end with it when it does not come back; ids
 * are never reused; Destroy takes a buffer out of the store; a corrupt
 * state or a stray fd in the store is survived, and what is not restored
 * is closed.
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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "supervisor.h"

#define P1_NAME "crash/p1"
#define P2_NAME "crash/p2"
#define C1_NAME "crash/c1"
#define SIZE_1 (64u * 1024u)
#define SIZE_2 (192u * 1024u)
#define NOBODY 65534u
#define WAIT_MS harness_timeout_ms(10000)

#define NO_RESUME_CONFIG \
	"[broker]\nbackends = memfd\nresume_grace_ms = 0\n"
#define RESUME_CONFIG \
	"[broker]\nbackends = memfd\nresume_grace_ms = 60000\n"
/* Sessions run out as soon as the loop runs: no client comes back. */
#define EXPIRING_CONFIG \
	"[broker]\nbackends = memfd\nresume_grace_ms = 1\n"

typedef DmabufBroker__V1__ServerMessage Msg;

/* ---- requests ---- */

/* Allocates on the backend under test; the id in *@id, the fd in *@fd
 * (NULL: closed).  Grants @grant_uid READ when it is not 0, READ_WRITE on
 * backends that cannot enforce read-only. */
static int alloc(int sock, uint64_t size, const char *name, bool persistent,
		 uint32_t grant_uid, uint64_t *id, int *fd)
{
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;

	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = grant_uid;
	g.access = harness_backend_read_only() ?
		   DMABUF_BROKER__V1__ACCESS__ACCESS_READ :
		   DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
	return harness_raw_alloc(sock, size, name,
				 persistent ? DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT :
					      DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
				 harness_backend(), grant_uid ? &g : NULL, id, fd);
}

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

static void *map(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* ---- fixture ---- */

/*
 * The daemon's fds once it is idle in its loop.  Right after READY=1 it
 * still sends a STATUS through a socket of its own that it closes after,
 * so a count taken then can be one too many.  A client's Hello answered
 * means the daemon is past that; what one connection costs (its socket,
 * its pidfd) is measured with a second client and taken off, and the
 * count must come back to that once both are gone.
 */
static int settled_fd_count(pid_t pid, const char *socket)
{
	int a = harness_raw_client(socket, "settle-a");
	int b = -1, one, two, want = -1;

	if (a < 0)
		return a;
	one = harness_fd_count(pid);
	b = harness_raw_client(socket, "settle-b");
	two = b >= 0 ? harness_fd_count(pid) : -1;
	if (b >= 0 && one >= 0 && two > one)
		want = one - (two - one);
	close(a);
	if (b >= 0)
		close(b);
	if (want < 0 || harness_wait_fd_count(pid, want, WAIT_MS) != want)
		return -1;
	return want;
}


struct fixture {
	struct supervisor s;
	int fresh_fds;		/* the daemon's fds with no buffer */
};

static int fixture_start(void **state, const char *config,
			 const char *fdstore)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f || supervisor_start(&f->s, config, fdstore) < 0)
		return -1;
	f->fresh_fds = settled_fd_count(f->s.d.pid, f->s.d.socket);
	return f->fresh_fds < 0 ? -1 : 0;
}

static int setup(void **state)
{
	return fixture_start(state, NULL, NULL);
}

/* Connections are not resumable: client-lifetime buffers are not kept. */
static int setup_no_resume(void **state)
{
	return fixture_start(state, NO_RESUME_CONFIG, NULL);
}

/* Connections can resume for a minute after they break. */
static int setup_resume(void **state)
{
	return fixture_start(state, RESUME_CONFIG, NULL);
}

/* A resumable session's store of eight fds: the two state slots, and
 * four client-lifetime buffers at most. */
static int setup_resume_small_store(void **state)
{
	return fixture_start(state, RESUME_CONFIG, "8");
}

/* A store of four fds: the two state slots and two buffers. */
static int setup_small_store(void **state)
{
	return fixture_start(state, NO_RESUME_CONFIG, "4");
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		supervisor_fini(&f->s);
		free(f);
	}
	return 0;
}

/* The daemon's fds settle at @want (fresh + buffers it holds). */
static void assert_daemon_fds(struct fixture *f, int want)
{
	int got = harness_wait_fd_count(f->s.d.pid, want, WAIT_MS);

	if (got != want)
		harness_dump_fds(f->s.d.pid);
	assert_int_equal(want, got);
}

static void kill_and_restart(struct fixture *f)
{
	assert_int_equal(0, supervisor_kill(&f->s));
	assert_int_equal(0, supervisor_restart(&f->s));
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
	struct fixture *f = *state;
	uint64_t id1, id2, idc, idn, size1, size2, bytes, buffers;
	int sock, fd1, fd2, fdn;
	uint8_t *m1, *m2, *mn;
	struct harness_child child;

	sock = harness_raw_client(f->s.d.socket, "owner");
	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, P1_NAME, true, NOBODY, &id1,
				  &fd1));
	assert_int_equal(0, alloc(sock, SIZE_2, NULL, true, 0, &id2, &fd2));
	assert_int_equal(0, harness_raw_publish(sock, id2, P2_NAME));
	assert_int_equal(0, harness_raw_grant_everyone(sock, id2));
	assert_int_equal(0, alloc(sock, SIZE_1, C1_NAME, false, 0, &idc, NULL));
	size1 = size_of(sock, P1_NAME);
	size2 = size_of(sock, P2_NAME);
	assert_true(harness_size_ok(SIZE_1, size1));
	assert_true(harness_size_ok(SIZE_2, size2));
	m1 = map(fd1, SIZE_1);
	m2 = map(fd2, SIZE_2);
	harness_fill(m1, SIZE_1, 1);
	harness_fill(m2, SIZE_2, 2);

	kill_and_restart(f);
	close(sock);
	assert_daemon_fds(f, f->fresh_fds + 2);
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
	mn = map(fdn, SIZE_1);
	assert_int_equal(-1, harness_check(mn, SIZE_1, 1));
	harness_fill(m1, SIZE_1, 3);
	assert_int_equal(-1, harness_check(mn, SIZE_1, 3));
	harness_fill(mn, SIZE_1, 4);
	assert_int_equal(-1, harness_check(m1, SIZE_1, 4));
	assert_int_equal(-1, harness_check(m2, SIZE_2, 2));

	/* The client-lifetime buffer's id is not handed out again either. */
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, false, 0, &idn, NULL));
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

/* Hello with @token (may be empty): the new token into @next (32 bytes),
 * whether the broker resumed the session into *@resumed. */
static int hello(int sock, const ProtobufCBinaryData *token, uint8_t *next,
		 bool *resumed)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello h = DMABUF_BROKER__V1__HELLO__INIT;
	DmabufBroker__V1__HelloReply *hr;
	Msg *m = NULL;
	int r;

	h.protocol_version = 1;
	h.client_name = "resumer";
	if (token)
		h.resume_token = *token;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &h;
	r = harness_raw_request(sock, &req, &m, NULL);
	if (r == 0) {
		hr = m->response->hello;
		if (hr->resume_token.len != 32)
			r = -EPROTO;
		else
			memcpy(next, hr->resume_token.data, 32);
		*resumed = hr->resumed;
	}
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

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
static int wait_stored(struct fixture *f, uint64_t id, bool present)
{
	char name[64];

	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)id);
	return supervisor_wait_stored(&f->s, name, present, WAIT_MS);
}

/*
 * A resumable connection's client-lifetime buffers are kept across a
 * crash: after the restart its token takes them back (same id, same
 * memory), also after it resumed once already and holds a new token.
 */
static void test_resume_after_crash(void **state)
{
	struct fixture *f = *state;
	uint8_t token[32];
	ProtobufCBinaryData t = { sizeof(token), token };
	uint64_t id, idn;
	bool resumed;
	int sock = harness_raw_connect(f->s.d.socket), fd, fdn;
	uint8_t *m, *mn;

	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, NULL, token, &resumed));
	assert_false(resumed);
	assert_int_equal(0, alloc(sock, SIZE_1, C1_NAME, false, 0, &id, &fd));
	m = map(fd, SIZE_1);
	harness_fill(m, SIZE_1, 7);

	for (int round = 0; round < 2; round++) {
		kill_and_restart(f);
		close(sock);
		sock = harness_raw_connect(f->s.d.socket);
		assert_true(sock >= 0);
		assert_int_equal(0, hello(sock, &t, token, &resumed));
		assert_true(resumed);
		assert_int_equal(0, harness_raw_info(sock, NULL, id, NULL));
		assert_int_equal(0, harness_raw_import_id(sock, id, false, &fdn));
		mn = map(fdn, SIZE_1);
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
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, false, 0, &idn, NULL));
	assert_true(idn > id);
	munmap(m, SIZE_1);
	close(fd);
	close(sock);
}

/* `systemctl restart`: SIGTERM, a clean exit, and the store kept. */
static void test_term_keeps_persistent(void **state)
{
	struct fixture *f = *state;
	uint64_t id, size, bytes, buffers;
	int sock = harness_raw_client(f->s.d.socket, "owner");
	int fd, fdn;
	uint8_t *m;

	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, P1_NAME, true, NOBODY, &id,
				  &fd));
	size = size_of(sock, P1_NAME);
	m = map(fd, SIZE_1);
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
	m = map(fdn, SIZE_1);
	assert_int_equal(-1, harness_check(m, SIZE_1, 5));
	munmap(m, SIZE_1);
	close(fdn);
	close(fd);
	close(sock);
}

static void test_destroy_leaves_store(void **state)
{
	struct fixture *f = *state;
	uint64_t id, keep;
	char name[64];
	int sock = harness_raw_client(f->s.d.socket, "owner");

	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, P1_NAME, true, 0, &id, NULL));
	assert_int_equal(0, alloc(sock, SIZE_1, P2_NAME, true, 0, &keep, NULL));
	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)id);
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, true, WAIT_MS));
	assert_int_equal(0, harness_raw_destroy(sock, id));
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, false,
						   WAIT_MS));
	kill_and_restart(f);
	close(sock);
	assert_daemon_fds(f, f->fresh_fds + 1);
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
	struct fixture *f = *state;
	static const char junk[256] = "not a state";
	uint64_t id, idn;
	int sock = harness_raw_client(f->s.d.socket, "owner");

	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, P1_NAME, true, 0, &id, NULL));
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
	assert_daemon_fds(f, f->fresh_fds);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(-ENOENT, harness_raw_info(sock, NULL, id, NULL));
	assert_int_equal(0, alloc(sock, SIZE_1, P1_NAME, true, 0, &idn, NULL));
	assert_true(idn > id);
	/* The state is sound again. */
	kill_and_restart(f);
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
	struct fixture *f = *state;
	uint64_t id, g0, g1;
	int sock = harness_raw_client(f->s.d.socket, "owner"), fd0, fd1;
	Msg *m = NULL;

	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, P1_NAME, true, 0, &id, NULL));
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
	assert_daemon_fds(f, f->fresh_fds + 1);
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
	struct fixture *f = *state;
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
	assert_daemon_fds(f, f->fresh_fds);
	sock = harness_raw_client(f->s.d.socket, "after");
	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, true, 0, &idn, NULL));
	assert_true(idn > 5000);
	close(sock);
}

/* A full store refuses persistent Allocs, not client-lifetime ones. */
static void test_store_full(void **state)
{
	struct fixture *f = *state;
	uint64_t id1, id2;
	char name[64];
	int sock = harness_raw_client(f->s.d.socket, "owner");

	assert_true(sock >= 0);
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, true, 0, &id1, NULL));
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, true, 0, &id2, NULL));
	assert_int_equal(-ENOSPC, alloc(sock, SIZE_1, NULL, true, 0, NULL,
					NULL));
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, false, 0, NULL, NULL));
	assert_int_equal(0, harness_raw_destroy(sock, id1));
	assert_int_equal(0, alloc(sock, SIZE_1, NULL, true, 0, &id1, NULL));
	snprintf(name, sizeof(name), "dbb-buf-%llu", (unsigned long long)id1);
	assert_int_equal(0, supervisor_wait_stored(&f->s, name, true, WAIT_MS));
	assert_int_equal(4, supervisor_nstored(&f->s));
	close(sock);
}

/* A persistent pool comes back whole, under its id and name, its members
 * the same memory; a client-lifetime one does not.  Destroying it takes
 * every member out of the store. */
static void test_kill_keeps_persistent_pool(void **state)
{
	struct fixture *f = *state;
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
	m1 = map(fds[1], SIZE_1);
	harness_fill(m1, SIZE_1, 7);

	kill_and_restart(f);
	close(sock);
	assert_daemon_fds(f, f->fresh_fds + 3);
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
	mn = map(after[1], SIZE_1);
	assert_int_equal(-1, harness_check(mn, SIZE_1, 7));
	/* Still a pool: its name taken, its members managed through it. */
	assert_int_equal(-EEXIST, alloc(sock, SIZE_1, "crash/pool", true, 0,
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
static void resumable_pool_crash(struct fixture *f, struct resumable_pool *rp)
{
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	int sock = harness_raw_connect(f->s.d.socket), fds[64];
	DmabufBroker__V1__PoolInfo *pi;
	bool resumed = true;
	size_t n;
	Msg *m;

	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, NULL, rp->token, &resumed));
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
		uint8_t *p = map(fds[i], SIZE_1);

		rp->members[i] = pi->buffers[i]->id;
		harness_fill(p, SIZE_1, 20 + (uint32_t)i);
		munmap(p, SIZE_1);
		close(fds[i]);
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_true(harness_size_ok(SIZE_1, rp->size));
	for (size_t i = 0; i < RP_COUNT; i++)
		assert_int_equal(0, wait_stored(f, rp->members[i], true));

	kill_and_restart(f);
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
static int resume_session(struct fixture *f, struct resumable_pool *rp)
{
	ProtobufCBinaryData t = { sizeof(rp->token), rp->token };
	uint8_t next[32];
	bool resumed = false;
	int sock = harness_raw_connect(f->s.d.socket);

	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, &t, next, &resumed));
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
	CHILD_CHECK(hello(sock, &t, next, &resumed) == 0);
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
	struct fixture *f = *state;
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
	struct fixture *f = *state;
	struct resumable_pool rp;
	int sock = -1, fds[64];
	size_t n;
	Msg *m;

	resumable_pool_crash(f, &rp);
	for (int round = 0; round < 2; round++) {
		if (round > 0) {
			kill_and_restart(f);
			close(sock);
		}
		/* Detached until its client comes back: kept and charged. */
		assert_daemon_fds(f, f->fresh_fds + (int)RP_COUNT);
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
			uint8_t *p = map(fds[i], SIZE_1);

			assert_int_equal(-1, harness_check(p, SIZE_1,
							   20 + (uint32_t)i));
			munmap(p, SIZE_1);
			close(fds[i]);
		}
	}
	/* Still a pool: its name taken, its members managed through it. */
	assert_int_equal(-EEXIST, alloc(sock, SIZE_1, RP_NAME, false, 0, NULL,
					NULL));
	assert_int_equal(-EBUSY, harness_raw_destroy(sock, rp.members[0]));

	/* Ended on purpose: the pool goes with the session, out of the
	 * store, and nothing stays charged. */
	assert_int_equal(0, goodbye(sock));
	close(sock);
	for (size_t i = 0; i < RP_COUNT; i++)
		assert_int_equal(0, wait_stored(f, rp.members[i], false));
	assert_daemon_fds(f, f->fresh_fds);
	assert_charged(f->s.d.socket, 0, 0, 0);
}

/* Rewrites the daemon's config, read at its next start. */
static void set_config(struct fixture *f, const char *config)
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
	struct fixture *f = *state;
	struct resumable_pool rp;
	ProtobufCBinaryData t = { sizeof(rp.token), rp.token };
	uint8_t next[32];
	bool resumed = true;
	int sock;

	resumable_pool_crash(f, &rp);
	assert_daemon_fds(f, f->fresh_fds + (int)RP_COUNT);
	assert_charged(f->s.d.socket, RP_COUNT * rp.size, RP_COUNT, 1);

	set_config(f, EXPIRING_CONFIG);
	kill_and_restart(f);
	for (size_t i = 0; i < RP_COUNT; i++)
		assert_int_equal(0, wait_stored(f, rp.members[i], false));
	assert_daemon_fds(f, f->fresh_fds);
	assert_charged(f->s.d.socket, 0, 0, 0);

	sock = harness_raw_connect(f->s.d.socket);
	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, &t, next, &resumed));
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
	struct fixture *f = *state;
	struct resumable_pool rp;	/* its token only */
	uint64_t big, small;
	int sock = harness_raw_connect(f->s.d.socket);
	bool resumed = true;
	Msg *m;

	assert_true(sock >= 0);
	assert_int_equal(0, hello(sock, NULL, rp.token, &resumed));
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

	kill_and_restart(f);
	close(sock);
	assert_daemon_fds(f, f->fresh_fds + 3);
	sock = resume_session(f, &rp);
	assert_int_equal(0, harness_raw_info(sock, NULL, small, NULL));
	assert_int_equal(-ENOENT, harness_raw_info(sock, NULL, big, NULL));
	assert_int_equal(-ENOENT, harness_raw_info(sock, "crash/big", 0, NULL));
	close(sock);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_keeps_persistent,
						setup_no_resume, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_crash,
						setup_resume, teardown),
		cmocka_unit_test_setup_teardown(test_kill_keeps_persistent_pool,
						setup_no_resume, teardown),
		cmocka_unit_test_setup_teardown(test_restored_pool_other_uid,
						setup_resume, teardown),
		cmocka_unit_test_setup_teardown(test_resume_pool_after_crash,
						setup_resume, teardown),
		cmocka_unit_test_setup_teardown(test_restored_pool_expires,
						setup_resume, teardown),
		cmocka_unit_test_setup_teardown(test_resumable_pool_stored_whole,
						setup_resume_small_store,
						teardown),
		T(test_term_keeps_persistent),
		T(test_destroy_leaves_store),
		T(test_corrupt_state),
		T(test_torn_write),
		T(test_stray_fd),
		cmocka_unit_test_setup_teardown(test_store_full,
						setup_small_store, teardown),
	};
#undef T
	return cmocka_run_group_tests_name("restart", tests, NULL, NULL);
}
