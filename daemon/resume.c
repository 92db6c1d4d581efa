/* SPDX-License-Identifier: MIT */
#include "resume.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <utlist.h>
#include <uthash.h>

#include "broker.h"
#include "config.h"
#include "log.h"

_Static_assert(SHA256_DIGEST_SIZE == RESUME_HASH_LEN,
	       "a token's digest is SHA-256");

/* A broken connection's record, waiting for its client. */
struct resume_session {
	struct registry_conn *conn;
	uint64_t deadline_usec;			/* CLOCK_MONOTONIC */
	struct resume_uid *uid;
	struct resume_session *prev, *next;	/* all, by deadline */
	struct resume_session *uid_prev, *uid_next;
};

/* The detached sessions of one uid. */
struct resume_uid {
	UT_hash_handle hh;
	uid_t uid;
	uint32_t n;
	struct resume_session *sessions;	/* DL via uid_prev/next */
};

struct resume {
	struct broker *br;
	struct event *ev_expire;		/* at the first deadline */
	struct resume_session *sessions;	/* earliest deadline first */
	struct resume_uid *uids;
};

static struct log_ctx resume_log_ctx(const struct registry_conn *conn)
{
	return (struct log_ctx){
		.client_id = conn->id,
		.uid = (uint32_t)conn->uid,
		.pid = (uint32_t)conn->pid,
	};
}

static bool resume_enabled(const struct resume *rs)
{
	return rs && rs->br->cfg->resume_grace_ms > 0;
}

/* Arms the timer for the earliest deadline, or stops it. */
static void resume_arm(struct resume *rs)
{
	uint64_t now = broker_monotonic_usec();
	uint64_t left;
	struct timeval tv;

	if (!rs->sessions) {
		evtimer_del(rs->ev_expire);
		return;
	}
	left = rs->sessions->deadline_usec > now ?
	       rs->sessions->deadline_usec - now : 0;
	tv.tv_sec = (time_t)(left / 1000000u);
	tv.tv_usec = (suseconds_t)(left % 1000000u);
	evtimer_add(rs->ev_expire, &tv);
}

/* Takes @s out of every list and frees it; returns its record. */
static struct registry_conn *resume_unlink(struct resume *rs,
					   struct resume_session *s)
{
	struct registry_conn *conn = s->conn;
	struct resume_uid *u = s->uid;

	DL_DELETE(rs->sessions, s);
	DL_DELETE2(u->sessions, s, uid_prev, uid_next);
	if (--u->n == 0) {
		HASH_DEL(rs->uids, u);
		free(u);
	}
	free(s);
	return conn;
}

/* Ends @s as a disconnect would: its buffers leave, its holds drop. */
static void resume_end(struct resume *rs, struct resume_session *s,
		       const char *why)
{
	struct registry_conn *conn = resume_unlink(rs, s);
	struct log_ctx ctx = resume_log_ctx(conn);

	log_ctx_msg(LOG_DEBUG, &ctx, "session ends: %s", why);
	registry_conn_close(rs->br->reg, conn);
}

static void resume_on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct resume *rs = arg;
	uint64_t now = broker_monotonic_usec();

	while (rs->sessions && rs->sessions->deadline_usec <= now)
		resume_end(rs, rs->sessions, "not resumed in time");
	resume_arm(rs);
}

struct resume *resume_create(struct broker *br)
{
	struct resume *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	rs->br = br;
	rs->ev_expire = evtimer_new(br->base, resume_on_expire, rs);
	/* Expiry frees buffers: before client requests, as a disconnect. */
	if (!rs->ev_expire ||
	    event_priority_set(rs->ev_expire, BROKER_PRIO_HIGH) < 0) {
		resume_destroy(rs);
		return NULL;
	}
	return rs;
}

void resume_destroy(struct resume *rs)
{
	if (!rs)
		return;
	while (rs->sessions)
		resume_end(rs, rs->sessions, "the broker stops");
	if (rs->ev_expire)
		event_free(rs->ev_expire);
	free(rs);
}

static void resume_digest(const uint8_t token[RESUME_TOKEN_LEN],
			  uint8_t out[RESUME_HASH_LEN])
{
	struct sha256_ctx sha;

	sha256_init(&sha);
	sha256_update(&sha, RESUME_TOKEN_LEN, token);
	sha256_digest(&sha, RESUME_HASH_LEN, out);
}

int resume_issue(struct resume *rs, struct registry_conn *conn,
		 uint8_t token[RESUME_TOKEN_LEN])
{
	ssize_t n;

	conn->has_token = false;
	memset(conn->token_hash, 0, sizeof(conn->token_hash));
	if (!resume_enabled(rs))
		return -EOPNOTSUPP;
	/* Never block the event loop: early in boot, before the kernel's
	 * pool is ready, the connection just cannot be resumed. */
	do {
		n = getrandom(token, RESUME_TOKEN_LEN, GRND_NONBLOCK);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != RESUME_TOKEN_LEN)
		return -EAGAIN;
	resume_digest(token, conn->token_hash);
	conn->has_token = true;
	return 0;
}

static struct resume_uid *resume_uid_find(const struct resume *rs, uid_t uid)
{
	struct resume_uid *u;

	HASH_FIND(hh, rs->uids, &uid, sizeof(uid), u);
	return u;
}

/* Makes room for one more session of @uid: ends its oldest at the limit. */
static void resume_make_room(struct resume *rs, uid_t uid)
{
	struct resume_uid *u = resume_uid_find(rs, uid);
	struct resume_session *s, *oldest = NULL;

	if (!u || u->n < rs->br->cfg->max_detached_per_uid)
		return;
	DL_FOREACH2(u->sessions, s, uid_next) {
		if (!oldest || s->deadline_usec < oldest->deadline_usec)
			oldest = s;
	}
	resume_end(rs, oldest, "its uid has too many detached sessions");
}

/* Keeps @conn detached until @deadline_usec; false on ENOMEM. */
static bool resume_keep(struct resume *rs, struct registry_conn *conn,
			uint64_t deadline_usec)
{
	struct resume_session *s, *at;
	struct resume_uid *u;

	resume_make_room(rs, conn->uid);
	s = calloc(1, sizeof(*s));
	u = resume_uid_find(rs, conn->uid);
	if (!s || (!u && !(u = calloc(1, sizeof(*u))))) {
		free(s);
		return false;
	}
	if (u->n == 0) {
		u->uid = conn->uid;
		HASH_ADD(hh, rs->uids, uid, sizeof(u->uid), u);
	}
	u->n++;
	DL_APPEND2(u->sessions, s, uid_prev, uid_next);
	s->conn = conn;
	s->uid = u;
	s->deadline_usec = deadline_usec;
	/* Breaks come in deadline order (one grace for all): the walk from
	 * the tail stops at once but for restored sessions. */
	for (at = rs->sessions ? rs->sessions->prev : NULL;
	     at && at->deadline_usec > deadline_usec;
	     at = at == rs->sessions ? NULL : at->prev)
		;
	DL_APPEND_ELEM(rs->sessions, at, s);	/* at NULL: first */
	resume_arm(rs);
	return true;
}

static uint64_t resume_grace_usec(const struct resume *rs)
{
	return (uint64_t)rs->br->cfg->resume_grace_ms * 1000u;
}

bool resume_detach(struct resume *rs, struct registry_conn *conn)
{
	struct log_ctx ctx = resume_log_ctx(conn);

	if (!resume_enabled(rs) || !conn->has_token || !conn->owned)
		return false;
	if (!resume_keep(rs, conn,
			 broker_monotonic_usec() + resume_grace_usec(rs)))
		return false;
	log_ctx_msg(LOG_DEBUG, &ctx, "session kept %u ms for a resume",
		    (unsigned)rs->br->cfg->resume_grace_ms);
	return true;
}

struct registry_conn *resume_claim(struct resume *rs, uid_t uid,
				   const uint8_t *token, size_t len)
{
	uint8_t digest[RESUME_HASH_LEN];
	struct resume_session *s, *found = NULL;
	struct resume_uid *u;
	struct registry_conn *conn;

	if (!resume_enabled(rs) || len != RESUME_TOKEN_LEN ||
	    !(u = resume_uid_find(rs, uid)))
		return NULL;
	resume_digest(token, digest);
	/* Every candidate is compared, whole: no early exit. */
	DL_FOREACH2(u->sessions, s, uid_next) {
		if (memeql_sec(s->conn->token_hash, digest, sizeof(digest)))
			found = s;
	}
	if (!found)
		return NULL;
	if (found->deadline_usec <= broker_monotonic_usec()) {
		/* The timer is due but has not run yet. */
		resume_end(rs, found, "resumed after the grace period");
		resume_arm(rs);
		return NULL;
	}
	conn = resume_unlink(rs, found);
	resume_arm(rs);
	/* The token is used up. */
	conn->has_token = false;
	memset(conn->token_hash, 0, sizeof(conn->token_hash));
	return conn;
}

int resume_restore(struct resume *rs, uid_t uid, pid_t pid, const char *name,
		   const uint8_t token_hash[RESUME_HASH_LEN],
		   uint64_t deadline_usec, struct registry_conn **out)
{
	struct registry_conn *conn;

	if (!resume_enabled(rs))
		return -EOPNOTSUPP;
	conn = registry_conn_open(rs->br->reg, rs->br->next_client_id, uid, pid,
				  name);
	if (!conn)
		return -ENOMEM;
	rs->br->next_client_id++;
	memcpy(conn->token_hash, token_hash, RESUME_HASH_LEN);
	conn->has_token = true;
	if (!deadline_usec)
		deadline_usec = broker_monotonic_usec() + resume_grace_usec(rs);
	if (!resume_keep(rs, conn, deadline_usec)) {
		registry_conn_close(rs->br->reg, conn);
		return -ENOMEM;
	}
	*out = conn;
	return 0;
}
