/* SPDX-License-Identifier: MIT */
/*
 * Hostile local users against a real daemon.  The socket is open to every
 * uid, so each test runs the attacker in its own process under its own
 * uid (harness_drop_privileges()) and checks what it got:
 *   - reserved names ([names]) cannot be taken by another uid on any
 *     naming path (Alloc, Pin, Adopt, Publish), and are taken by their
 *     owner, a member of their group, and root; other names are first
 *     come, first served; the Names reply tells each uid which it may
 *     take;
 *   - a uid without a grant sees nothing of another's buffers (List, Info
 *     by id and by name, Import, Watch), a granted uid sees the buffer but
 *     not who holds it, the owner and root see everything;
 *   - a List cursor at the largest id does not wrap to the first buffers.
 * Each test ends by checking that the daemon still serves a bystander and
 * exits 0 on SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "dmabuf-broker.h"
#include "harness.h"

#define WAIT_MS harness_timeout_ms(10000)
#define SIZE 4096u

/* "camera0/" belongs to nobody (the camera service's user here), "gpu/"
 * to group video (gid 44 on Debian); "camera0/public/" is open again. */
#define CAMERA_UID 65534u
#define VIDEO_GID 44u
/* Uids with no account: the broker needs none. */
#define SQUATTER_UID 1000u
#define GRANTED_UID 1001u
#define STRANGER_UID 1002u

static const char names_config[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 0\n"
	"[names]\n"
	"camera0/ = user:nobody\n"
	"camera0/public/ = everyone\n"
	"gpu/ = group:video\n";

struct fixture {
	struct harness_daemon d;
	struct dbb_client *root;	/* a bystander that must be unaffected */
	struct dbb_buffer *root_buf;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = SIZE,
				      .name = "root/bystander" };

	*state = f;
	if (!f || harness_daemon_start(&f->d, names_config) < 0)
		return -1;
	if (dbb_client_connect(f->d.socket, "bystander", &f->root) < 0 ||
	    dbb_alloc(f->root, &p, &f->root_buf) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f) {
		dbb_buffer_free(f->root_buf);
		dbb_client_destroy(f->root);
		harness_daemon_stop(&f->d);
		free(f);
	}
	return 0;
}

/* The end of every test: the daemon is up, the bystander's buffer is
 * still there for it, and the daemon exits 0 on SIGTERM. */
static void finish(struct fixture *f)
{
	struct dbb_buffer_info *info = NULL;

	assert_true(harness_daemon_alive(&f->d));
	assert_int_equal(0, dbb_info_by_name(f->root, "root/bystander", &info));
	assert_int_equal(dbb_buffer_get_info(f->root_buf)->id, info->id);
	dbb_buffer_info_free(info);
	dbb_buffer_free(f->root_buf);
	f->root_buf = NULL;
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

/* A child's identity. */
struct who {
	uid_t uid;
	gid_t gid;
};

static int child_connect(struct harness_ctx *ctx, const struct who *w,
			 const char *name, struct dbb_client **c)
{
	if (harness_drop_privileges(w->uid, w->gid) < 0)
		return -EPERM;
	return dbb_client_connect(ctx->socket, name, c);
}

/* Allocates @size bytes named @name (NULL: unnamed); the result. */
static int alloc_named(struct dbb_client *c, const char *name,
		       struct dbb_buffer **b)
{
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = SIZE,
				      .name = name };

	*b = NULL;
	return dbb_alloc(c, &p, b);
}

/* Whether the broker's last message on @c says who owns @prefix. */
static bool refusal_names(struct dbb_client *c, const char *prefix,
			  const char *owner)
{
	const char *msg = dbb_client_last_error(c);

	return strstr(msg, prefix) && strstr(msg, owner);
}

/* ---- owned names (negative cases first) ---- */

/* Whether the broker's Names reply says @c may take names under @prefix:
 * 1 or 0, or a negative errno (also when the prefix is not listed). */
static int may_take(struct dbb_client *c, const char *prefix)
{
	struct dbb_name_list *list = NULL;
	int ret = dbb_names(c, &list);

	if (ret < 0)
		return ret;
	ret = -ENOENT;
	for (size_t i = 0; i < dbb_name_list_count(list); i++) {
		const struct dbb_name_rule *r = dbb_name_list_get(list, i);

		if (!strcmp(r->prefix, prefix))
			ret = r->caller_may_take;
	}
	dbb_name_list_free(list);
	return ret;
}

/* As a uid that owns nothing: every way of taking a reserved name fails
 * with EACCES and a message naming the owner; the names stay free. */
static int child_squatter(struct harness_ctx *ctx, void *arg)
{
	static const struct who me = { SQUATTER_UID, SQUATTER_UID };
	struct dbb_alloc_params p = { .struct_size = sizeof(p),
				      .name = "camera0/frame0" };
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL;
	int memfd;

	(void)arg;
	CHILD_CHECK(child_connect(ctx, &me, "camera-daemon", &c) == 0);
	CHILD_CHECK(may_take(c, "camera0/") == 0);
	CHILD_CHECK(may_take(c, "gpu/") == 0);
	CHILD_CHECK(may_take(c, "camera0/public/") == 1);
	CHILD_CHECK(alloc_named(c, "camera0/frame0", &b) == -EACCES);
	CHILD_CHECK(b == NULL);
	CHILD_CHECK(refusal_names(c, "camera0/", "user nobody"));
	CHILD_CHECK(alloc_named(c, "gpu/scanout", &b) == -EACCES);
	CHILD_CHECK(refusal_names(c, "gpu/", "group video"));

	/* Pin and Adopt are refused on the name before the fd is looked
	 * at: a sealed memfd serves for both. */
	memfd = memfd_create("squat", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHILD_CHECK(memfd >= 0);
	CHILD_CHECK(ftruncate(memfd, SIZE) == 0);
	CHILD_CHECK(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	CHILD_CHECK(dbb_pin_memfd(c, memfd, 0, SIZE, &p, &b) == -EACCES);
	CHILD_CHECK(refusal_names(c, "camera0/", "nobody"));
	CHILD_CHECK(dbb_register_fd(c, memfd, &p, &b) == -EACCES);
	CHILD_CHECK(refusal_names(c, "camera0/", "nobody"));
	close(memfd);

	/* Naming a buffer it owns. */
	CHILD_CHECK(alloc_named(c, NULL, &b) == 0);
	CHILD_CHECK(dbb_set_name(c, dbb_buffer_get_info(b)->id,
				 "camera0/frame0") == -EACCES);
	CHILD_CHECK(refusal_names(c, "camera0/", "nobody"));
	/* The longer, open prefix wins; unreserved names are free. */
	CHILD_CHECK(dbb_set_name(c, dbb_buffer_get_info(b)->id,
				 "camera0/public/preview") == 0);
	dbb_buffer_free(b);
	CHILD_CHECK(alloc_named(c, "scratch/first", &b) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'R') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'Q');
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

/* As @arg's identity: takes the reserved name it owns, not the other. */
struct owner_args {
	struct who who;
	const char *prefix;		/* the reserved prefix of @mine */
	const char *mine;
	const char *not_mine;
};

static int child_owner(struct harness_ctx *ctx, void *arg)
{
	const struct owner_args *a = arg;
	struct dbb_client *c = NULL;
	struct dbb_buffer *b = NULL, *other = NULL;

	CHILD_CHECK(child_connect(ctx, &a->who, "owner", &c) == 0);
	CHILD_CHECK(may_take(c, a->prefix) == 1);
	CHILD_CHECK(alloc_named(c, a->not_mine, &other) == -EACCES);
	CHILD_CHECK(alloc_named(c, a->mine, &b) == 0);
	CHILD_CHECK(strcmp(dbb_buffer_get_info(b)->name, a->mine) == 0);
	/* First come, first served outside the reserved prefixes. */
	CHILD_CHECK(alloc_named(c, "scratch/first", &other) == -EEXIST);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void test_reserved_names(void **state)
{
	struct fixture *f = *state;
	struct owner_args camera = {
		{ CAMERA_UID, CAMERA_UID }, "camera0/", "camera0/frame0",
		"gpu/scanout" };
	struct owner_args video = {
		{ GRANTED_UID, VIDEO_GID }, "gpu/", "gpu/scanout",
		"camera0/frame1" };
	struct harness_child squatter, owner;
	struct dbb_buffer *b = NULL;
	struct dbb_alloc_params p = { .struct_size = sizeof(p), .size = SIZE,
				      .name = "camera0/by-root" };

	start_child(f, &squatter, child_squatter, NULL, 'R');
	/* The owner uid, and a uid whose group owns gpu/, while the
	 * squatter still holds what it could take. */
	start_child(f, &owner, child_owner, &camera, 0);
	end_child(&owner);
	start_child(f, &owner, child_owner, &video, 0);
	end_child(&owner);
	/* Root may take any name. */
	assert_int_equal(0, dbb_alloc(f->root, &p, &b));
	dbb_buffer_free(b);
	assert_int_equal(0, harness_post(squatter.to_child, 'Q'));
	end_child(&squatter);
	finish(f);
}

/* ---- private views ---- */

/* The owner: a private buffer and one granted to GRANTED_UID, both held;
 * sees its own holders in full. */
static int child_view_owner(struct harness_ctx *ctx, void *arg)
{
	static const struct who me = { SQUATTER_UID, SQUATTER_UID };
	struct dbb_client *c = NULL;
	struct dbb_buffer *priv = NULL, *shared = NULL;
	struct dbb_buffer_info *info = NULL;
	const struct dbb_holder *h;

	(void)arg;
	CHILD_CHECK(child_connect(ctx, &me, "owner", &c) == 0);
	CHILD_CHECK(alloc_named(c, "view/private", &priv) == 0);
	CHILD_CHECK(alloc_named(c, "view/shared", &shared) == 0);
	CHILD_CHECK(dbb_grant(c, dbb_buffer_get_info(shared)->id,
			      DBB_GRANT_UID, GRANTED_UID,
			      DBB_ACCESS_READ_WRITE) == 0);
	CHILD_CHECK(dbb_info_by_name(c, "view/shared", &info) == 0);
	CHILD_CHECK(info->n_holders == 1);
	h = dbb_buffer_info_get_holder(info, 0);
	CHILD_CHECK(h->pid == (uint32_t)getpid());
	CHILD_CHECK(h->uid == SQUATTER_UID);
	CHILD_CHECK(strcmp(h->client_name, "owner") == 0);
	CHILD_CHECK(info->owner_pid == (uint32_t)getpid());
	dbb_buffer_info_free(info);
	CHILD_CHECK(harness_post(ctx->out, 'R') == 0);
	/* Later, everyone may open the private one. */
	CHILD_CHECK(harness_await(ctx->in, -1) == 'E');
	CHILD_CHECK(dbb_grant(c, dbb_buffer_get_info(priv)->id,
			      DBB_GRANT_EVERYONE, 0, DBB_ACCESS_READ_WRITE) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'e') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'Q');
	dbb_buffer_free(priv);
	dbb_buffer_free(shared);
	dbb_client_destroy(c);
	return 0;
}

/* Whether @list has a buffer named @name. */
static bool listed(const struct dbb_buffer_list *list, const char *name)
{
	for (size_t i = 0; i < dbb_buffer_list_count(list); i++) {
		if (!strcmp(dbb_buffer_list_get(list, i)->name, name))
			return true;
	}
	return false;
}

/* Events a stranger heard: counted per name seen. */
struct heard {
	unsigned own;
	unsigned others;
	unsigned granted;
};

static void on_event(struct dbb_client *client, enum dbb_event_type type,
		     const struct dbb_buffer_info *info, void *userdata)
{
	struct heard *h = userdata;

	(void)client;
	if (!strncmp(info->name, "stranger/", 9))
		h->own++;
	else
		h->others++;
	if (type == DBB_EVENT_GRANTED)
		h->granted++;
}

/* Dispatches @c's events until @done says so or the wait ends. */
static bool wait_events(struct dbb_client *c, const unsigned *count,
			unsigned want)
{
	int64_t end = harness_now_ms() + WAIT_MS;

	while (*count < want && harness_now_ms() < end) {
		struct pollfd p = { .fd = dbb_client_get_fd(c), .events = POLLIN };

		if (poll(&p, 1, 100) < 0 || dbb_client_dispatch(c) < 0)
			return false;
	}
	return *count >= want;
}

/* Ids the stranger probes: every buffer the test makes is among them. */
#define PROBED_IDS 64u

/*
 * A uid no grant names: watches from before the owner's buffers were
 * made, then finds nothing of them anywhere, by name or by any id.  Its
 * own buffer's CREATED event, which the broker sends after the owner's,
 * marks the end of what it could have heard.
 */
static int child_stranger(struct harness_ctx *ctx, void *arg)
{
	static const struct who me = { STRANGER_UID, STRANGER_UID };
	struct dbb_event_listener l = { .struct_size = sizeof(l),
					.buffer_event = on_event };
	struct heard heard = { 0 };
	struct dbb_client *c = NULL;
	struct dbb_buffer_info *info = NULL;
	struct dbb_buffer_list *list = NULL;
	struct dbb_buffer *b = NULL;

	CHILD_CHECK(child_connect(ctx, &me, "stranger", &c) == 0);
	CHILD_CHECK(dbb_client_set_listener(c, &l, &heard) == 0);
	CHILD_CHECK(dbb_watch(c, true) == 0);
	CHILD_CHECK(harness_post(ctx->out, 'W') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'G');

	CHILD_CHECK(dbb_list(c, &list) == 0);
	CHILD_CHECK(dbb_buffer_list_count(list) == 0);
	dbb_buffer_list_free(list);
	/* Exactly as for a name or id nobody has. */
	CHILD_CHECK(dbb_info_by_name(c, "view/private", &info) == -ENOENT);
	CHILD_CHECK(strcmp(dbb_client_last_error(c), "no such buffer") == 0);
	CHILD_CHECK(dbb_info_by_name(c, "view/none", &info) == -ENOENT);
	CHILD_CHECK(strcmp(dbb_client_last_error(c), "no such buffer") == 0);
	CHILD_CHECK(dbb_info_by_name(c, "root/bystander", &info) == -ENOENT);
	CHILD_CHECK(dbb_open_by_name(c, "view/shared", false, &b) == -ENOENT);
	for (uint64_t id = 1; id <= PROBED_IDS; id++) {
		CHILD_CHECK(dbb_info_by_id(c, id, &info) == -ENOENT);
		CHILD_CHECK(dbb_open_by_id(c, id, true, &b) == -ENOENT);
		CHILD_CHECK(dbb_remove(c, id) == -ENOENT);
		CHILD_CHECK(dbb_grant(c, id, DBB_GRANT_UID, STRANGER_UID,
				      DBB_ACCESS_READ_WRITE) == -ENOENT);
	}
	CHILD_CHECK(info == NULL && b == NULL);

	CHILD_CHECK(alloc_named(c, "stranger/mark", &b) == 0);
	CHILD_CHECK(dbb_buffer_get_info(b)->id <= PROBED_IDS);
	CHILD_CHECK(wait_events(c, &heard.own, 1));
	CHILD_CHECK(heard.others == 0);
	/* Now one of the owner's buffers is granted to everyone: the grant
	 * is how the stranger hears of it. */
	CHILD_CHECK(harness_post(ctx->out, 'M') == 0);
	CHILD_CHECK(harness_await(ctx->in, -1) == 'E');
	CHILD_CHECK(wait_events(c, &heard.granted, 1));
	CHILD_CHECK(heard.others == 1 && heard.own == 1);
	CHILD_CHECK(dbb_info_by_name(c, "view/private", &info) == 0);
	CHILD_CHECK(info->owner_uid == SQUATTER_UID);
	dbb_buffer_info_free(info);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

/* The granted uid: sees the shared buffer, not the private one, and its
 * holders only as anonymous entries. */
static int child_granted(struct harness_ctx *ctx, void *arg)
{
	static const struct who me = { GRANTED_UID, GRANTED_UID };
	struct dbb_client *c = NULL;
	struct dbb_buffer_info *info = NULL;
	struct dbb_buffer_list *list = NULL;
	struct dbb_buffer *b = NULL;
	const struct dbb_holder *h;

	(void)arg;
	CHILD_CHECK(child_connect(ctx, &me, "granted", &c) == 0);
	CHILD_CHECK(dbb_list(c, &list) == 0);
	CHILD_CHECK(dbb_buffer_list_count(list) == 1);
	CHILD_CHECK(listed(list, "view/shared"));
	dbb_buffer_list_free(list);
	CHILD_CHECK(dbb_info_by_name(c, "view/private", &info) == -ENOENT);
	CHILD_CHECK(dbb_open_by_name(c, "view/shared", false, &b) == 0);
	CHILD_CHECK(dbb_info_by_name(c, "view/shared", &info) == 0);
	CHILD_CHECK(info->owner_uid == SQUATTER_UID);
	CHILD_CHECK(info->owner_pid == 0);
	CHILD_CHECK(strcmp(info->owner_name, "") == 0);
	CHILD_CHECK(info->n_grants == 1);
	/* The owner's hold and its own, neither saying whose. */
	CHILD_CHECK(info->n_holders == 2);
	for (size_t i = 0; i < info->n_holders; i++) {
		h = dbb_buffer_info_get_holder(info, i);
		CHILD_CHECK(h->pid == 0 && h->uid == 0 && h->client_id == 0);
		CHILD_CHECK(strcmp(h->client_name, "") == 0);
		CHILD_CHECK(h->writable);
	}
	dbb_buffer_info_free(info);
	/* The import's own description is as anonymous. */
	CHILD_CHECK(dbb_buffer_get_info(b)->owner_pid == 0);
	/* Seeing is not managing. */
	CHILD_CHECK(dbb_remove(c, dbb_buffer_get_info(b)->id) == -EPERM);
	dbb_buffer_free(b);
	dbb_client_destroy(c);
	return 0;
}

static void test_private_views(void **state)
{
	struct fixture *f = *state;
	struct harness_child owner, stranger, granted;
	struct dbb_buffer_list *list = NULL;
	struct dbb_buffer_info *info = NULL;

	start_child(f, &stranger, child_stranger, NULL, 'W');
	start_child(f, &owner, child_view_owner, NULL, 'R');
	/* Root sees both and who holds them. */
	assert_int_equal(0, dbb_list(f->root, &list));
	assert_true(listed(list, "view/private") && listed(list, "view/shared"));
	dbb_buffer_list_free(list);
	assert_int_equal(0, dbb_info_by_name(f->root, "view/private", &info));
	assert_int_equal(1, info->n_holders);
	assert_int_equal(owner.pid, dbb_buffer_info_get_holder(info, 0)->pid);
	assert_int_equal(owner.pid, info->owner_pid);
	assert_string_equal("owner", info->owner_name);
	dbb_buffer_info_free(info);

	start_child(f, &granted, child_granted, NULL, 0);
	end_child(&granted);
	assert_int_equal(0, harness_post(stranger.to_child, 'G'));
	assert_int_equal('M', harness_await(stranger.from_child, WAIT_MS));
	assert_int_equal(0, harness_post(owner.to_child, 'E'));
	assert_int_equal('e', harness_await(owner.from_child, WAIT_MS));
	assert_int_equal(0, harness_post(stranger.to_child, 'E'));
	end_child(&stranger);
	assert_int_equal(0, harness_post(owner.to_child, 'Q'));
	end_child(&owner);
	finish(f);
}

/* ---- List cursor ---- */

/* Sends List after @after_id; the reply's entry count, or a negative
 * errno. */
static int raw_list(int sock, uint64_t after_id, uint64_t *next)
{
	DmabufBroker__V1__ListRequest l = DMABUF_BROKER__V1__LIST_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m = NULL;
	int r;

	l.after_id = after_id;
	req.seq = 2;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_LIST;
	req.list = &l;
	r = harness_raw_send(sock, &req, false);
	if (r == 0)
		r = harness_raw_response(sock, WAIT_MS, &m, NULL);
	if (r < 0)
		return r;
	r = m->response->status;
	if (r == 0 && m->response->body_case ==
		      DMABUF_BROKER__V1__RESPONSE__BODY_LIST) {
		r = (int)m->response->list->n_buffers;
		*next = m->response->list->next_after_id;
	} else if (r == 0) {
		r = -EBADMSG;
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

/* The largest cursors list nothing; they used to wrap to the first ids. */
static void test_list_cursor_does_not_wrap(void **state)
{
	struct fixture *f = *state;
	uint64_t next = 1;
	int sock = harness_raw_client(f->d.socket, "cursor");

	assert_true(sock >= 0);
	assert_int_equal(0, raw_list(sock, UINT64_MAX, &next));
	assert_int_equal(0, next);
	next = 1;
	assert_int_equal(0, raw_list(sock, UINT64_MAX - 1, &next));
	assert_int_equal(0, next);
	/* The bystander's buffer is there for a cursor before it. */
	assert_int_equal(1, raw_list(sock, 0, &next));
	close(sock);
	finish(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reserved_names),
		T(test_private_views),
		T(test_list_cursor_does_not_wrap),
	};
#undef T
	return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
