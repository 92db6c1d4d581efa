/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utlist.h>

#include "config.h"
#include "handlers.h"
#include "peer.h"
#include "pidfd.h"
#include "reply.h"
#include "registry.h"
#include "resume.h"
#include "streams.h"
#include "broker.h"
#include "wire.h"
#include "worker.h"

struct log_ctx client_log_ctx(const struct client *c)
{
	return (struct log_ctx){
		.client_id = c->id,
		.uid = (uint32_t)c->peer.uid,
		.pid = (uint32_t)c->peer.pid,
	};
}

void client_kill(struct client *c, const char *why)
{
	struct log_ctx ctx;

	if (c->dead)
		return;
	c->dead = true;
	if (c->job) {
		struct worker_job *job = c->job;

		/* Nobody waits for it: one not started never runs; one
		 * running finds no client and drops what it made. */
		job->client = NULL;
		c->job = NULL;
		worker_cancel(c->broker->worker, job);
	}
	if (why) {
		ctx = client_log_ctx(c);
		log_ctx_msg(LOG_DEBUG, &ctx, "disconnecting client: %s", why);
	}
	if (c->peer_conn)
		peer_stop(c->peer_conn);
	if (c->ev_hello)
		event_del(c->ev_hello);
	c->owner.dead(c->owner.ctx, c);
}

void client_violation(struct client *c, const char *why)
{
	struct log_ctx ctx = client_log_ctx(c);

	if (c->dead)
		return;
	log_ctx_limited(LOG_NOTICE, &ctx, "disconnecting client: %s", why);
	c->no_resume = true;
	client_kill(c, NULL);
}

void client_hello_done(struct client *c)
{
	c->hello = true;
	if (c->ev_hello) {
		event_free(c->ev_hello);	/* not inside its own callback */
		c->ev_hello = NULL;
	}
}

void client_wait_job(struct client *c, struct worker_job *job)
{
	job->client = c;
	c->job = job;
	peer_pause(c->peer_conn, true);
}

void client_job_done(struct client *c)
{
	c->job = NULL;
	if (!c->dead && !c->closing)
		peer_pause(c->peer_conn, false);
}

void client_close_after_reply(struct client *c)
{
	c->closing = true;
	peer_pause(c->peer_conn, true);
}

void client_free(struct client *c)
{
	if (!c)
		return;
	peer_free(c->peer_conn);
	if (c->pidfd >= 0)
		close(c->pidfd);
	streams_client_gone(c->broker->streams, c);
	if (c->no_resume || !resume_detach(c->broker->resume, c->conn))
		registry_conn_close(c->broker->reg, c->conn);
	if (c->ev_hello)
		event_free(c->ev_hello);
	free(c);
}

int client_send_packed(struct client *c, const uint8_t *data, size_t len,
		       struct fds_set *fds)
{
	if (c->dead) {
		fds_drop(fds);
		return -EPIPE;
	}
	return peer_send(c->peer_conn, data, len, fds);
}

int client_send(struct client *c, const ProtobufCMessage *msg,
		struct fds_set *fds)
{
	static uint8_t tx[DBB_WIRE_MAX_FRAME];
	ssize_t len = wire_pack(msg, tx, sizeof(tx));

	if (len < 0) {
		/* A reply we built too big is our bug, not the client's. */
		struct log_ctx ctx = client_log_ctx(c);

		fds_drop(fds);
		log_ctx_msg(LOG_ERR, &ctx, "reply does not fit in a frame");
		client_kill(c, NULL);
		return (int)len;
	}
	return client_send_packed(c, tx, (size_t)len, fds);
}

#define CLIENT_BODY(name) DMABUF_BROKER__V1__REQUEST__BODY_##name

/* Each request type's handler and the number of fds it comes with. */
struct client_entry {
	handler_fn fn;
	unsigned nfds;
};

static const struct client_entry client_table[] = {
	[CLIENT_BODY(HELLO)] = { handlers_session_hello, 0 },
	[CLIENT_BODY(ALLOC)] = { handlers_buffer_alloc, 0 },
	[CLIENT_BODY(IMPORT)] = { handlers_buffer_import, 0 },
	[CLIENT_BODY(PUBLISH)] = { handlers_buffer_publish, 0 },
	[CLIENT_BODY(GRANT)] = { handlers_buffer_grant, 0 },
	[CLIENT_BODY(RELEASE)] = { handlers_buffer_release, 0 },
	[CLIENT_BODY(DESTROY)] = { handlers_buffer_destroy, 0 },
	[CLIENT_BODY(LIST)] = { handlers_query_list, 0 },
	[CLIENT_BODY(INFO)] = { handlers_query_info, 0 },
	[CLIENT_BODY(STATS)] = { handlers_query_stats, 0 },
	[CLIENT_BODY(WATCH)] = { handlers_session_watch, 0 },
	[CLIENT_BODY(BACKENDS)] = { handlers_query_backends, 0 },
	[CLIENT_BODY(PIN)] = { handlers_import_pin, 1 },
	[CLIENT_BODY(ADOPT)] = { handlers_import_adopt, 1 },
	[CLIENT_BODY(GOODBYE)] = { handlers_session_goodbye, 0 },
	[CLIENT_BODY(NAMES)] = { handlers_query_names, 0 },
	[CLIENT_BODY(POOL_ALLOC)] = { handlers_pool_alloc, 0 },
	[CLIENT_BODY(POOL_OPEN)] = { handlers_pool_open, 0 },
	[CLIENT_BODY(QUEUE_CREATE)] = { handlers_queue_create, 0 },
	[CLIENT_BODY(QUEUE_ATTACH)] = { handlers_queue_attach, 0 },
	[CLIENT_BODY(QUEUE_DETACH)] = { handlers_queue_detach, 0 },
	[CLIENT_BODY(POOLS)] = { handlers_pool_list, 0 },
};

#define CLIENT_NTYPES (sizeof(client_table) / sizeof(client_table[0]))

/* The Hello gate: true when @req may be handled at all. */
static bool client_gate(struct client *c, const DmabufBroker__V1__Request *req)
{
	bool is_hello = req->body_case == CLIENT_BODY(HELLO);

	if (!c->hello && !is_hello) {
		client_violation(c, "request before Hello");
		return false;
	}
	if (c->hello && is_hello) {
		client_violation(c, "second Hello");
		return false;
	}
	return true;
}

static const struct client_entry *
client_lookup(const DmabufBroker__V1__Request *req)
{
	unsigned type = (unsigned)req->body_case;

	return type < CLIENT_NTYPES && client_table[type].fn ?
	       &client_table[type] : NULL;
}

void client_send_reply(struct client *c, struct reply *r)
{
	if (r->resp.status < 0) {
		c->broker->errors++;
		fds_drop(&r->fds);	/* an error carries no fd */
	}
	if (!c->dead)
		client_send(c, &r->msg.base, &r->fds);
}

/*
 * The number of the first field in @m (or a message inside it) that this
 * broker's protocol does not know, 0 when there is none.  protobuf-c keeps
 * such fields aside; a newer client's request that relies on one must
 * fail rather than be half-done.
 */
static uint32_t client_unknown_field(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields)
		return m->unknown_fields[0].tag;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const ProtobufCMessage *const *subs;
		size_t n = 1;
		uint32_t tag;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		subs = (const ProtobufCMessage *const *)(base + f->offset);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			subs = *(const ProtobufCMessage *const *const *)subs;
		}
		for (size_t j = 0; j < n; j++) {
			if (subs[j] && (tag = client_unknown_field(subs[j])))
				return tag;
		}
	}
	return 0;
}

/*
 * Handles @req with the @nfds fds that came with it: a request type that
 * carries another number of fds than its own is a protocol violation.  A
 * handler that keeps an fd sets its slot to -1; the caller closes the rest.
 */
static void client_dispatch(struct client *c,
			    const DmabufBroker__V1__Request *req, int *fds,
			    size_t nfds)
{
	const struct client_entry *e;
	uint32_t unknown;
	struct reply r;

	if (!client_gate(c, req))
		return;
	e = client_lookup(req);
	if ((e ? e->nfds : 0) != nfds) {
		client_violation(c, "frame carried the wrong number of fds");
		return;
	}
	reply_init(&r, req->seq);
	if (e && (unknown = client_unknown_field(&req->base)))
		reply_error(&r, -EOPNOTSUPP,
			    "request carries field %u, unknown to this broker",
			    unknown);
	else if (e)
		e->fn(c, req, &r, fds);
	else
		reply_error(&r, -EOPNOTSUPP, "unknown or empty request");
	c->broker->requests++;
	if (!r.deferred)
		client_send_reply(c, &r);
	reply_fini(&r);
}

/* The peer's datagram: one request and the fds that came with it (closed
 * here unless a handler took them).  False when reading must stop. */
static bool client_on_frame(void *ctx, const uint8_t *data, size_t len,
			    int *fds, size_t nfds)
{
	struct client *c = ctx;
	DmabufBroker__V1__Request *req;

	req = dmabuf_broker__v1__request__unpack(NULL, len, data);
	if (!req) {
		wire_close_fds(fds, nfds);
		client_violation(c, "undecodable frame");
		return false;
	}
	client_dispatch(c, req, fds, nfds);
	wire_close_fds(fds, nfds);
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	return !c->dead;
}

static void client_on_lost(void *ctx, enum peer_loss loss, const char *why)
{
	struct client *c = ctx;

	if (loss == PEER_LOST_VIOLATION)
		client_violation(c, why);
	else
		client_kill(c, why);
}

/* Everything queued went out: a client closing after its reply goes. */
static void client_on_drained(void *ctx)
{
	struct client *c = ctx;

	if (c->closing)
		client_kill(c, "closed after final reply");
}

static const struct peer_ops client_peer_ops = {
	.frame = client_on_frame,
	.lost = client_on_lost,
	.drained = client_on_drained,
};

static void client_on_hello_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	char why[64];

	if (c->hello || c->dead)
		return;
	snprintf(why, sizeof(why), "no Hello within %u s",
		 (unsigned)c->broker->cfg->hello_timeout);
	client_violation(c, why);
}

/* Starts the Hello deadline unless the config disables it; 0 or -1. */
static int client_arm_hello(struct client *c)
{
	struct broker *s = c->broker;
	struct timeval tv = { .tv_sec = (time_t)s->cfg->hello_timeout };
	const struct timeval *common;

	if (!s->cfg->hello_timeout)
		return 0;
	/* Every client has the same timeout: libevent keeps those in a
	 * queue instead of its heap. */
	common = event_base_init_common_timeout(s->base, &tv);
	c->ev_hello = evtimer_new(s->base, client_on_hello_timeout, c);
	if (!c->ev_hello ||
	    event_priority_set(c->ev_hello, BROKER_PRIO_CLIENT) < 0 ||
	    evtimer_add(c->ev_hello, common ? common : &tv) < 0)
		return -1;
	return 0;
}

struct client *client_create(struct broker *s,
			     const struct client_owner *owner, int fd,
			     uint64_t id, const struct policy_peer *peer)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		goto err_close_fd;
	c->broker = s;
	c->owner = *owner;
	c->id = id;
	c->peer = *peer;
	c->peer_conn = peer_create(s->base, fd, BROKER_PRIO_CLIENT,
				   s->cfg->max_request_size, &client_peer_ops, c);
	if (!c->peer_conn) {
		free(c);
		return NULL;	/* the peer closed @fd */
	}
	c->pidfd = pidfd_of_peer(fd, peer->pid);
	c->conn = registry_conn_open(s->reg, id, peer->uid, peer->pid, "");
	if (!c->conn || client_arm_hello(c) < 0) {
		client_free(c);
		return NULL;
	}
	return c;

err_close_fd:
	close(fd);
	return NULL;
}
