/* SPDX-License-Identifier: MIT */
/*
 * The kit of the restart tests: see restart_kit.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "restart_kit.h"

#define NO_RESUME_CONFIG \
	"[broker]\nbackends = memfd\nresume_grace_ms = 0\n"
#define RESUME_CONFIG \
	"[broker]\nbackends = memfd\nresume_grace_ms = 60000\n"

typedef DmabufBroker__V1__ServerMessage Msg;

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

static int kit_start(void **state, const char *config, const char *fdstore)
{
	struct kit *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f || supervisor_start(&f->s, config, fdstore) < 0)
		return -1;
	f->fresh_fds = settled_fd_count(f->s.d.pid, f->s.d.socket);
	return f->fresh_fds < 0 ? -1 : 0;
}

int kit_setup(void **state)
{
	return kit_start(state, NULL, NULL);
}

int kit_setup_no_resume(void **state)
{
	return kit_start(state, NO_RESUME_CONFIG, NULL);
}

int kit_setup_resume(void **state)
{
	return kit_start(state, RESUME_CONFIG, NULL);
}

int kit_setup_small_store(void **state)
{
	return kit_start(state, NO_RESUME_CONFIG, "4");
}

int kit_setup_resume_small_store(void **state)
{
	return kit_start(state, RESUME_CONFIG, "8");
}

int kit_teardown(void **state)
{
	struct kit *f = *state;

	if (f) {
		supervisor_fini(&f->s);
		free(f);
	}
	return 0;
}

void kit_assert_daemon_fds(struct kit *f, int want)
{
	int got = harness_wait_fd_count(f->s.d.pid, want, WAIT_MS);

	if (got != want)
		harness_dump_fds(f->s.d.pid);
	assert_int_equal(want, got);
}

void kit_kill_and_restart(struct kit *f)
{
	assert_int_equal(0, supervisor_kill(&f->s));
	assert_int_equal(0, supervisor_restart(&f->s));
}

/* ---- requests ---- */

int kit_alloc(int sock, uint64_t size, const char *name, bool persistent,
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

int kit_hello(int sock, const ProtobufCBinaryData *token, uint8_t *next,
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

void *kit_map(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	assert_true(p != MAP_FAILED);
	return p;
}
