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
#include "reply.h"
#include "registry.h"
#include "broker.h"
#include "wire.h"
#include "worker.h"

/* One receive buffer for every client: the loop is single-threaded. */
static uint8_t client_rx[DBB_WIRE_MAX_FRAME];

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
		/* The job finds no client and cleans up after itself. */
		c->job->client = NULL;
		c->job = NULL;
	}
	if (why) {
		ctx = client_log_ctx(c);
		log_ctx_msg(LOG_DEBUG, &ctx, "disconnecting client: %s", why);
	}
	event_del(c->ev_read);
	event_del(c->ev_write);
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
	event_del(c->ev_read);
}

void client_job_done(struct client *c)
{
	c->job = NULL;
	if (!c->dead && !c->closing)
		event_add(c->ev_read, NULL);
}

void client_close_after_reply(struct client *c)
{
	c->closing = true;
	event_del(c->ev_read);
}

static void client_frame_free(struct client_frame *f)
{
	fds_drop(&f->fds);
	free(f);
}

void client_free(struct client *c)
{
	struct client_frame *f, *tmp;

	if (!c)
		return;
	LL_FOREACH_SAFE(c->out_head, f, tmp)
		client_frame_free(f);
	registry_conn_close(c->broker->reg, c->conn);
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	if (c->ev_hello)
		event_free(c->ev_hello);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* Sends queued frames until the socket is full; 0, or -errno (dead). */
static int client_flush(struct client *c)
{
	while (c->out_head) {
		struct client_frame *f = c->out_head;
		int ret = wire_send(c->fd, f->data, f->len, f->fds.fd,
				    f->fds.n, MSG_DONTWAIT);

		if (ret == -EAGAIN) {
			event_add(c->ev_write, NULL);
			return 0;
		}
		if (ret < 0) {
			client_kill(c, "send failed");
			return ret;
		}
		c->out_head = f->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->nout--;
		c->out_bytes -= f->len;
		client_frame_free(f);
	}
	event_del(c->ev_write);
	if (c->closing)
		client_kill(c, "closed after final reply");
	return 0;
}

static void client_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	if (!c->dead)
		client_flush(c);
}

/* Tries to send a frame straight away: 1 sent, 0 socket full, -errno. */
static int client_send_now(struct client *c, const uint8_t *data, size_t len,
			   struct fds_set *fds)
{
	int ret = wire_send(c->fd, data, len, fds->fd, fds->n, MSG_DONTWAIT);

	if (ret == -EAGAIN)
		return 0;
	fds_drop(fds);
	if (ret < 0) {
		client_kill(c, "send failed");
		return ret;
	}
	if (c->closing)
		client_kill(c, "closed after final reply");
	return 1;
}

/* Appends a frame; borrowed fds are dup'd so that the frame owns what it
 * carries even if the buffer leaves the registry meanwhile. */
static int client_queue(struct client *c, const uint8_t *data, size_t len,
			struct fds_set *fds)
{
	struct client_frame *f;

	if (c->nout >= CLIENT_MAX_QUEUE_FRAMES ||
	    c->out_bytes + len > CLIENT_MAX_QUEUE_BYTES) {
		fds_drop(fds);
		client_violation(c, "output queue overflow (client does not read)");
		return -ENOBUFS;
	}
	f = malloc(sizeof(*f) + len);
	if (!f || fds_own(fds) < 0) {
		free(f);
		fds_drop(fds);
		client_kill(c, "out of memory or fds");
		return -ENOMEM;
	}
	f->next = NULL;
	fds_move(&f->fds, fds);
	f->len = (uint32_t)len;
	memcpy(f->data, data, len);
	if (c->out_tail)
		c->out_tail->next = f;
	else
		c->out_head = f;
	c->out_tail = f;
	c->nout++;
	c->out_bytes += (uint32_t)len;
	event_add(c->ev_write, NULL);
	return 0;
}

int client_send_packed(struct client *c, const uint8_t *data, size_t len,
		       struct fds_set *fds)
{
	struct fds_set none;
	int ret;

	if (!fds) {
		fds_init(&none);
		fds = &none;
	}
	if (c->dead) {
		fds_drop(fds);
		return -EPIPE;
	}
	if (!c->out_head) {
		ret = client_send_now(c, data, len, fds);
		if (ret != 0)
			return ret < 0 ? ret : 0;
	}
	return client_queue(c, data, len, fds);
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
 * Handles @req with the @nfds fds that came with it: a request type that
 * carries another number of fds than its own is a protocol violation.  A
 * handler that keeps an fd sets its slot to -1; the caller closes the rest.
 */
static void client_dispatch(struct client *c,
			    const DmabufBroker__V1__Request *req, int *fds,
			    size_t nfds)
{
	const struct client_entry *e;
	struct reply r;

	if (!client_gate(c, req))
		return;
	e = client_lookup(req);
	if ((e ? e->nfds : 0) != nfds) {
		client_violation(c, "frame carried the wrong number of fds");
		return;
	}
	reply_init(&r, req->seq);
	if (e)
		e->fn(c, req, &r, fds);
	else
		reply_error(&r, -EOPNOTSUPP, "unknown or empty request");
	c->broker->requests++;
	if (!r.deferred)
		client_send_reply(c, &r);
	reply_fini(&r);
}

/* Handles one received datagram and the @nfds fds that came with it
 * (closed here unless a handler took them); false when the client is
 * dead. */
static bool client_handle_frame(struct client *c, size_t len, int *fds,
				size_t nfds)
{
	DmabufBroker__V1__Request *req;

	req = dmabuf_broker__v1__request__unpack(NULL, len, client_rx);
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

static void client_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	const struct config *cfg = c->broker->cfg;

	for (int i = 0; i < CLIENT_READ_BATCH && !c->dead && !c->closing &&
	     !c->job; i++) {
		size_t nfds;
		int fds[CLIENT_MAX_REQUEST_FDS];
		ssize_t n = wire_recv(c->fd, client_rx, cfg->max_request_size,
				      fds, CLIENT_MAX_REQUEST_FDS, &nfds,
				      MSG_DONTWAIT);

		if (n == -EAGAIN)
			return;
		if (n == 0) {
			client_kill(c, "end of stream");
			return;
		}
		if (n == -EMSGSIZE || n == -EBADMSG) {
			client_violation(c, n == -EMSGSIZE ?
					 "frame over max_request_size" :
					 "frame carried too many fds");
			return;
		}
		if (n < 0) {
			client_kill(c, "receive failed");
			return;
		}
		if (!client_handle_frame(c, (size_t)n, fds, nfds))
			return;
	}
}

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
	c->fd = fd;
	c->id = id;
	c->peer = *peer;
	c->conn = registry_conn_open(s->reg, id, peer->uid, peer->pid, "");
	c->ev_read = event_new(s->base, fd, EV_READ | EV_PERSIST,
			       client_on_read, c);
	c->ev_write = event_new(s->base, fd, EV_WRITE | EV_PERSIST,
				client_on_write, c);
	if (!c->conn || !c->ev_read || !c->ev_write ||
	    event_priority_set(c->ev_read, BROKER_PRIO_CLIENT) < 0 ||
	    event_priority_set(c->ev_write, BROKER_PRIO_CLIENT) < 0 ||
	    event_add(c->ev_read, NULL) < 0 || client_arm_hello(c) < 0)
		goto err_free_client;
	return c;

err_free_client:
	client_free(c);
	return NULL;
err_close_fd:
	close(fd);
	return NULL;
}
