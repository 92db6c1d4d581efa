/* SPDX-License-Identifier: MIT */
/*
 * Resumable connections against a real daemon, in raw protocol frames: a
 * connection that breaks keeps its client-lifetime buffers for the grace
 * period, a Hello with its token takes them back, anything else is a
 * fresh session, and expiry frees them as a disconnect would.
 *
 * Every wait is on a condition (a client count, a buffer gone, an fd
 * count) with a generous timeout.  Where a test must show that something
 * did NOT happen within the grace period, the grace is a minute and the
 * condition is checked once the broker has answered a later request: its
 * replies and the frees they follow are ordered, never timed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define TOKEN_LEN 32
#define BUF_SIZE (64u * 1024u)
#define WAIT_MS harness_timeout_ms(10000)
#define NOBODY 65534

/* Long enough that nothing expires while a test looks. */
static const char long_grace_config[] =
	"[broker]\n"
	"resume_grace_ms = 60000\n";

/* Short enough that a test waits for the expiry. */
static const char short_grace_config[] =
	"[broker]\n"
	"resume_grace_ms = 300\n";

static const char disabled_config[] =
	"[broker]\n"
	"resume_grace_ms = 0\n";

static const char cap_config[] =
	"[broker]\n"
	"resume_grace_ms = 60000\n"
	"[limits]\n"
	"max_detached_per_uid = 2\n";

/* One connection past Hello, and what its HelloReply said. */
struct session {
	int sock;
	uint64_t client_id;
	uint8_t token[TOKEN_LEN];
	size_t token_len;
	uint32_t grace_ms;
	bool resumed;
	bool has_resume_feature;
};

/* A request and every body it may carry, for one call. */
struct rq {
	DmabufBroker__V1__Request r;
	DmabufBroker__V1__Hello hello;
	DmabufBroker__V1__ReleaseRequest release;
	DmabufBroker__V1__StatsRequest stats;
	DmabufBroker__V1__WatchRequest watch;
	DmabufBroker__V1__GoodbyeRequest goodbye;
};

static uint64_t next_seq = 100;

static DmabufBroker__V1__Request *rq_init(struct rq *q, int body)
{
	memset(q, 0, sizeof(*q));
	dmabuf_broker__v1__request__init(&q->r);
	q->r.seq = next_seq++;
	q->r.body_case = body;
	return &q->r;
}

/* Sends @req and returns its Response message (freed by the caller), or
 * NULL when the broker hung up or did not answer. */
static DmabufBroker__V1__ServerMessage *
call(int sock, const DmabufBroker__V1__Request *req, int *fd)
{
	DmabufBroker__V1__ServerMessage *m = NULL;

	if (harness_raw_send(sock, req, false) < 0 ||
	    harness_raw_response(sock, WAIT_MS, &m, fd) < 0)
		return NULL;
	return m;
}

/* Connects and says Hello with @token (NULL: none); 0 or a negative
 * errno. */
static int hello(const char *path, const char *name, const uint8_t *token,
		 size_t len, struct session *s)
{
	DmabufBroker__V1__ServerMessage *m;
	const DmabufBroker__V1__HelloReply *h;
	struct rq q;
	int ret;

	memset(s, 0, sizeof(*s));
	s->sock = harness_raw_connect(path);
	if (s->sock < 0)
		return s->sock;
	rq_init(&q, DMABUF_BROKER__V1__REQUEST__BODY_HELLO);
	dmabuf_broker__v1__hello__init(&q.hello);
	q.hello.protocol_version = 1;
	q.hello.client_name = (char *)name;
	q.hello.resume_token.data = (uint8_t *)token;
	q.hello.resume_token.len = token ? len : 0;
	q.r.hello = &q.hello;
	m = call(s->sock, &q.r, NULL);
	if (!m)
		return -EPIPE;
	ret = m->response->status;
	h = m->response->hello;
	if (ret == 0 && h && h->resume_token.len <= TOKEN_LEN) {
		s->client_id = h->client_id;
		s->token_len = h->resume_token.len;
		if (s->token_len)
			memcpy(s->token, h->resume_token.data, s->token_len);
		s->grace_ms = h->resume_grace_ms;
		s->resumed = h->resumed;
		for (size_t i = 0; i < h->n_features; i++) {
			if (!strcmp(h->features[i], "resume"))
				s->has_resume_feature = true;
		}
	} else if (ret == 0) {
		ret = -EBADMSG;
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return ret;
}

static void hello_ok(const char *path, const char *name, const uint8_t *token,
		     size_t len, struct session *s)
{
	assert_int_equal(0, hello(path, name, token, len, s));
}

/* Allocates a client-lifetime buffer named @name (NULL: unnamed) filled
 * with @seed's pattern, granted read-write to NOBODY; returns its id. */
static uint64_t alloc_filled(int sock, const char *name, uint32_t seed)
{
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	uint64_t id;
	void *p;
	int fd;

	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = NOBODY;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
	assert_int_equal(0, harness_raw_alloc(sock, BUF_SIZE, name,
					      DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT,
					      NULL, &g, &id, &fd));
	assert_true(fd >= 0);
	p = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	harness_fill(p, BUF_SIZE, seed);
	munmap(p, BUF_SIZE);
	close(fd);
	return id;
}

/* Waits until @id has left the registry; returns Info's last status. */
static int wait_gone(int sock, uint64_t id)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	int status;

	while ((status = harness_raw_info(sock, NULL, id, NULL)) == 0 &&
	       harness_now_ms() < end)
		usleep(10000);
	return status;
}

/* Stats of the caller's view: the reply, freed by the caller. */
static DmabufBroker__V1__ServerMessage *stats(int sock)
{
	DmabufBroker__V1__ServerMessage *m;

	assert_int_equal(0, harness_raw_stats(sock, &m));
	return m;
}

/* Waits until the broker counts @want connected clients (a closed socket
 * is handled asynchronously); returns the last count. */
static uint64_t wait_clients(int sock, uint64_t want)
{
	int64_t end = harness_now_ms() + WAIT_MS;
	uint64_t n;

	for (;;) {
		DmabufBroker__V1__ServerMessage *m = stats(sock);

		n = m->response->stats->clients;
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
		if (n == want || harness_now_ms() > end)
			return n;
		usleep(10000);
	}
}

/* Closes @s and waits until the broker has handled it (@others clients
 * remain, counted from @observer). */
static void break_connection(struct session *s, int observer, uint64_t others)
{
	close(s->sock);
	s->sock = -1;
	assert_int_equal(others, wait_clients(observer, others));
}

static void watch_on(int sock)
{
	DmabufBroker__V1__ServerMessage *m;
	struct rq q;

	rq_init(&q, DMABUF_BROKER__V1__REQUEST__BODY_WATCH);
	dmabuf_broker__v1__watch_request__init(&q.watch);
	q.watch.enable = true;
	q.r.watch = &q.watch;
	m = call(sock, &q.r, NULL);
	assert_non_null(m);
	assert_int_equal(0, m->response->status);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
}

/*
 * Sends Stats on the watcher @sock and reads up to its reply: the number
 * of TYPE_DESTROYED events for @id among the events before it.  Every
 * event of what the broker did before it read the Stats comes first.
 */
static unsigned destroyed_events(int sock, uint64_t id)
{
	DmabufBroker__V1__ServerMessage *m = NULL;
	const DmabufBroker__V1__Event *ev;
	unsigned n = 0;
	struct rq q;

	rq_init(&q, DMABUF_BROKER__V1__REQUEST__BODY_STATS);
	dmabuf_broker__v1__stats_request__init(&q.stats);
	q.r.stats = &q.stats;
	assert_int_equal(0, harness_raw_send(sock, &q.r, false));
	for (;;) {
		assert_int_equal(0, harness_raw_recv(sock, WAIT_MS, &m, NULL));
		if (m->kind_case ==
		    DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE)
			break;
		ev = m->event;
		if (ev->type == DMABUF_BROKER__V1__EVENT__TYPE__TYPE_DESTROYED &&
		    ev->buffer->id == id)
			n++;
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return n;
}

/* Imports @id and checks its bytes against @seed's pattern; 0 or the
 * Import status (or -EIO for wrong bytes). */
static int import_check(int sock, uint64_t id, uint32_t seed)
{
	int fd, status;
	void *p;
	long bad;

	status = harness_raw_import_id(sock, id, false, &fd);
	if (status < 0)
		return status;
	p = mmap(NULL, BUF_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	bad = harness_check(p, BUF_SIZE, seed);
	munmap(p, BUF_SIZE);
	return bad < 0 ? 0 : -EIO;
}

static int release(int sock, uint64_t id)
{
	DmabufBroker__V1__ServerMessage *m;
	struct rq q;
	int status;

	rq_init(&q, DMABUF_BROKER__V1__REQUEST__BODY_RELEASE);
	dmabuf_broker__v1__release_request__init(&q.release);
	q.release.id = id;
	q.r.release = &q.release;
	m = call(sock, &q.r, NULL);
	status = m ? m->response->status : -EPIPE;
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return status;
}

/* ---- fixture ---- */

struct fixture {
	struct harness_daemon d;
	struct session obs;		/* observer: Info, Stats, events */
};

static int fixture_start(void **state, const char *config)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (!f || harness_daemon_start(&f->d, config) < 0)
		return -1;
	f->obs.sock = -1;
	return hello(f->d.socket, "observer", NULL, 0, &f->obs);
}

static int setup_long(void **state)
{
	return fixture_start(state, long_grace_config);
}

static int setup_short(void **state)
{
	return fixture_start(state, short_grace_config);
}

static int setup_disabled(void **state)
{
	return fixture_start(state, disabled_config);
}

static int setup_cap(void **state)
{
	return fixture_start(state, cap_config);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		if (f->obs.sock >= 0)
			close(f->obs.sock);
		harness_daemon_stop(&f->d);
		free(f);
	}
	return 0;
}

static void finish(struct fixture *f)
{
	assert_int_equal(0, harness_daemon_stop(&f->d));
}

/* ---- tests ---- */

/* Resuming off: no token, no feature, and a break frees at once. */
static void test_disabled(void **state)
{
	struct fixture *f = *state;
	uint8_t garbage[TOKEN_LEN] = { 1, 2, 3 };
	struct session a, b;
	uint64_t id;

	assert_false(f->obs.has_resume_feature);
	hello_ok(f->d.socket, "app", NULL, 0, &a);
	assert_int_equal(0, a.token_len);
	assert_int_equal(0, a.grace_ms);
	id = alloc_filled(a.sock, "resume/off", 1);
	break_connection(&a, f->obs.sock, 1);
	assert_int_equal(-ENOENT, harness_raw_info(f->obs.sock, NULL, id, NULL));
	hello_ok(f->d.socket, "app", garbage, sizeof(garbage), &b);
	assert_false(b.resumed);
	close(b.sock);
	finish(f);
}

/* A break within the grace keeps the buffers, their bytes, grants, holds
 * and quota charge, and sends no DESTROYED; the token takes them back. */
static void test_resume_keeps_buffers(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__ServerMessage *m;
	const DmabufBroker__V1__BufferInfo *bi;
	struct session a, b, w;
	uint64_t named, unnamed;

	assert_true(f->obs.has_resume_feature);
	hello_ok(f->d.socket, "watcher", NULL, 0, &w);
	watch_on(w.sock);
	hello_ok(f->d.socket, "app", NULL, 0, &a);
	assert_int_equal(TOKEN_LEN, a.token_len);
	assert_int_equal(60000, a.grace_ms);
	assert_false(a.resumed);
	named = alloc_filled(a.sock, "resume/kept", 7);
	unnamed = alloc_filled(a.sock, NULL, 8);
	break_connection(&a, f->obs.sock, 2);

	/* Detached: still listed with its owner, charged, not destroyed. */
	assert_int_equal(0, harness_raw_info(f->obs.sock, NULL, named, &m));
	bi = m->response->buffer;
	assert_string_equal("resume/kept", bi->name);
	assert_string_equal("app", bi->owner_name);
	assert_int_equal(getpid(), bi->owner_pid);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	m = stats(f->obs.sock);
	assert_int_equal(2, m->response->stats->caller->buffers);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_int_equal(0, destroyed_events(w.sock, named));

	hello_ok(f->d.socket, "app-again", a.token, a.token_len, &b);
	assert_true(b.resumed);
	assert_int_equal(a.client_id, b.client_id);
	assert_int_equal(TOKEN_LEN, b.token_len);
	assert_memory_not_equal(a.token, b.token, TOKEN_LEN);

	/* Same ids, name, grants, bytes; owned and held by the new one. */
	assert_int_equal(0, harness_raw_info(b.sock, NULL, named, &m));
	bi = m->response->buffer;
	assert_string_equal("resume/kept", bi->name);
	assert_string_equal("app-again", bi->owner_name);
	assert_int_equal(1, bi->n_grants);
	assert_int_equal(NOBODY, bi->grants[0]->uid);
	assert_int_equal(DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE,
			 bi->grants[0]->access);
	assert_int_equal(1, bi->n_holders);
	assert_int_equal(b.client_id, bi->holders[0]->client_id);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_int_equal(0, import_check(b.sock, named, 7));
	assert_int_equal(0, import_check(b.sock, unnamed, 8));
	/* The hold came back: it can be released. */
	assert_int_equal(0, release(b.sock, unnamed));

	/* Still the connection's: a second break keeps them again. */
	break_connection(&b, f->obs.sock, 2);
	assert_int_equal(0, harness_raw_info(f->obs.sock, NULL, named, NULL));
	hello_ok(f->d.socket, "app", a.token, a.token_len, &a);
	assert_false(a.resumed);	/* used up */
	close(a.sock);
	assert_int_equal(0, destroyed_events(w.sock, named));
	close(w.sock);
	finish(f);
}

/* Nobody comes back: expiry frees everything as a disconnect does, with
 * DESTROYED events, and the daemon's fds return to where they were. */
static void test_expiry_frees(void **state)
{
	struct fixture *f = *state;
	struct session a, b, w;
	int fds_base;
	uint64_t id;

	assert_int_equal(300, f->obs.grace_ms);
	hello_ok(f->d.socket, "watcher", NULL, 0, &w);
	watch_on(w.sock);
	fds_base = harness_fd_count(f->d.pid);
	assert_true(fds_base > 0);
	hello_ok(f->d.socket, "app", NULL, 0, &a);
	id = alloc_filled(a.sock, "resume/expires", 3);
	alloc_filled(a.sock, NULL, 4);
	break_connection(&a, f->obs.sock, 2);
	assert_int_equal(-ENOENT, wait_gone(f->obs.sock, id));
	assert_int_equal(1, destroyed_events(w.sock, id));
	assert_int_equal(fds_base,
			 harness_wait_fd_count(f->d.pid, fds_base, WAIT_MS));
	hello_ok(f->d.socket, "app", a.token, a.token_len, &b);
	assert_false(b.resumed);
	assert_true(b.client_id != a.client_id);
	close(b.sock);
	close(w.sock);
	finish(f);
}

struct other_uid_args {
	const char *socket;
	const uint8_t *token;
};

/* As NOBODY, the right token for someone else's session. */
static int child_other_uid(struct harness_ctx *ctx, void *arg)
{
	const struct other_uid_args *a = arg;
	struct session s;

	CHILD_CHECK(harness_drop_privileges(NOBODY, NOBODY) == 0);
	CHILD_CHECK(hello(a->socket, "thief", a->token, TOKEN_LEN, &s) == 0);
	CHILD_CHECK(!s.resumed);
	close(s.sock);
	return 0;
}

/* Garbage, short, another uid's, reused tokens: fresh sessions, and the
 * detached session waits untouched for its own token. */
static void test_tokens_refused(void **state)
{
	struct fixture *f = *state;
	struct other_uid_args args = { .socket = f->d.socket };
	uint8_t garbage[TOKEN_LEN];
	struct harness_child child;
	struct session a, b, c;
	uint64_t id;

	hello_ok(f->d.socket, "app", NULL, 0, &a);
	id = alloc_filled(a.sock, "resume/refused", 5);
	break_connection(&a, f->obs.sock, 1);

	assert_int_equal(TOKEN_LEN, getrandom(garbage, sizeof(garbage), 0));
	hello_ok(f->d.socket, "app", garbage, sizeof(garbage), &b);
	assert_false(b.resumed);
	close(b.sock);
	hello_ok(f->d.socket, "app", a.token, TOKEN_LEN - 1, &b);
	assert_false(b.resumed);
	close(b.sock);
	if (geteuid() == 0) {
		args.token = a.token;
		assert_int_equal(0, harness_child_start(&child, f->d.socket,
							child_other_uid,
							&args));
		assert_int_equal(0, harness_child_wait(&child, WAIT_MS));
	} else {
		printf("# not root: another uid's attempt not tried\n");
	}
	assert_int_equal(0, harness_raw_info(f->obs.sock, NULL, id, NULL));

	hello_ok(f->d.socket, "app", a.token, a.token_len, &b);
	assert_true(b.resumed);
	hello_ok(f->d.socket, "app", a.token, a.token_len, &c);
	assert_false(c.resumed);	/* used up */
	close(c.sock);
	assert_int_equal(0, import_check(b.sock, id, 5));
	close(b.sock);
	finish(f);
}

/* A connection the broker kicked for a protocol violation keeps nothing,
 * nor does one that owns no client-lifetime buffer. */
static void test_not_kept(void **state)
{
	struct fixture *f = *state;
	struct session a, b;
	uint64_t id;
	struct rq q;

	hello_ok(f->d.socket, "app", NULL, 0, &a);
	id = alloc_filled(a.sock, "resume/kicked", 6);
	/* A second Hello breaks the protocol. */
	rq_init(&q, DMABUF_BROKER__V1__REQUEST__BODY_HELLO);
	dmabuf_broker__v1__hello__init(&q.hello);
	q.hello.protocol_version = 1;
	q.hello.client_name = "app";
	q.r.hello = &q.hello;
	assert_int_equal(0, harness_raw_send(a.sock, &q.r, false));
	assert_int_equal(0, harness_raw_wait_eof(a.sock, WAIT_MS));
	close(a.sock);
	/* Gone at once: the grace is a minute. */
	assert_int_equal(-ENOENT, wait_gone(f->obs.sock, id));
	hello_ok(f->d.socket, "app", a.token, a.token_len, &b);
	assert_false(b.resumed);
	/* b owns nothing: its break keeps nothing either. */
	break_connection(&b, f->obs.sock, 1);
	hello_ok(f->d.socket, "app", b.token, b.token_len, &a);
	assert_false(a.resumed);
	close(a.sock);
	finish(f);
}

/* Goodbye ends the session on purpose: replied to, then disconnected,
 * and nothing kept. */
static void test_goodbye_keeps_nothing(void **state)
{
	struct fixture *f = *state;
	DmabufBroker__V1__ServerMessage *m;
	struct session a, b;
	uint64_t id;
	struct rq q;

	hello_ok(f->d.socket, "app", NULL, 0, &a);
	id = alloc_filled(a.sock, "resume/goodbye", 9);
	rq_init(&q, DMABUF_BROKER__V1__REQUEST__BODY_GOODBYE);
	dmabuf_broker__v1__goodbye_request__init(&q.goodbye);
	q.r.goodbye = &q.goodbye;
	m = call(a.sock, &q.r, NULL);
	assert_non_null(m);
	assert_int_equal(0, m->response->status);
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	assert_int_equal(0, harness_raw_wait_eof(a.sock, WAIT_MS));
	close(a.sock);
	/* Gone at once: the grace is a minute. */
	assert_int_equal(-ENOENT, wait_gone(f->obs.sock, id));
	hello_ok(f->d.socket, "app", a.token, a.token_len, &b);
	assert_false(b.resumed);
	close(b.sock);
	finish(f);
}

/* At the per-uid limit, one more break ends the uid's oldest session. */
static void test_detached_cap(void **state)
{
	struct fixture *f = *state;
	struct session s[3], r;
	uint64_t id[3];

	for (int i = 0; i < 3; i++) {
		hello_ok(f->d.socket, "app", NULL, 0, &s[i]);
		id[i] = alloc_filled(s[i].sock, NULL, 10 + (uint32_t)i);
	}
	for (int i = 0; i < 3; i++)
		break_connection(&s[i], f->obs.sock, 3 - (uint64_t)i);
	assert_int_equal(-ENOENT, harness_raw_info(f->obs.sock, NULL, id[0], NULL));
	hello_ok(f->d.socket, "app", s[0].token, s[0].token_len, &r);
	assert_false(r.resumed);
	close(r.sock);
	for (int i = 1; i < 3; i++) {
		hello_ok(f->d.socket, "app", s[i].token, s[i].token_len, &r);
		assert_true(r.resumed);
		assert_int_equal(0, import_check(r.sock, id[i],
						 10 + (uint32_t)i));
		close(r.sock);
	}
	finish(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disabled, setup_disabled,
						teardown),
		cmocka_unit_test_setup_teardown(test_resume_keeps_buffers,
						setup_long, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_frees, setup_short,
						teardown),
		cmocka_unit_test_setup_teardown(test_tokens_refused, setup_long,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_kept, setup_long,
						teardown),
		cmocka_unit_test_setup_teardown(test_goodbye_keeps_nothing,
						setup_long, teardown),
		cmocka_unit_test_setup_teardown(test_detached_cap, setup_cap,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
