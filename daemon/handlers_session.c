/* SPDX-License-Identifier: MIT */
/* Hello (with its resume token), Watch and Goodbye: the state of the
 * connection itself. */
#include "handlers.h"

#include <errno.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "persist.h"
#include "registry.h"
#include "resume.h"
#include "broker.h"
#include "watch.h"

static bool handlers_session_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len > CLIENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] < 0x20 || name[i] > 0x7e)
			return false;
	}
	return true;
}

static bool handlers_session_has_feature(const struct broker *br,
					 const char *name)
{
	for (const char *const *f = br->features; *f; f++) {
		if (strcmp(*f, name) == 0)
			return true;
	}
	return false;
}

static DmabufBroker__V1__HelloReply *
handlers_session_hello_body(struct client *c, struct reply *r)
{
	DmabufBroker__V1__HelloReply *h = reply_alloc(r, sizeof(*h));

	if (!h)
		return NULL;
	dmabuf_broker__v1__hello_reply__init(h);
	h->protocol_version = BROKER_PROTOCOL_VERSION;
	h->server_version = BROKER_VERSION;
	h->client_id = c->id;
	h->max_frame = c->broker->cfg->max_request_size;
	for (h->n_features = 0; c->broker->features[h->n_features];
	     h->n_features++)
		;
	h->features = (char **)c->broker->features;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_HELLO;
	r->resp.hello = h;
	return h;
}

/*
 * Takes back the detached session @token names, if it is the caller's uid's
 * and still in its grace period: the session's record (its buffers, holds
 * and id) becomes @c's, with @c's pid and @name.  False when there is
 * nothing to take back; @c then goes on as a fresh session.
 */
static bool handlers_session_resume(struct client *c,
				    const ProtobufCBinaryData *token,
				    const char *name)
{
	struct broker *br = c->broker;
	struct registry_conn *old;
	struct log_ctx ctx;

	if (!token->len)
		return false;
	old = resume_claim(br->resume, c->peer.uid, token->data, token->len);
	ctx = client_log_ctx(c);
	if (!old) {
		log_ctx_msg(LOG_DEBUG, &ctx, "resume token not honoured");
		return false;
	}
	registry_conn_close(br->reg, c->conn);	/* fresh: owns nothing */
	c->conn = old;
	c->id = old->id;
	old->pid = c->peer.pid;
	/* Out of memory, the session keeps its old name: no reason to fail. */
	registry_conn_set_name(old, name);
	log_ctx_msg(LOG_DEBUG, &ctx, "resumed as client %llu",
		    (unsigned long long)old->id);
	return true;
}

/* Gives @h a fresh resume token for @c's session, drawn into @token
 * (RESUME_TOKEN_LEN bytes of the reply), or none (an empty token and no
 * grace) when the broker cannot resume it. */
static void handlers_session_token(struct client *c,
				   DmabufBroker__V1__HelloReply *h,
				   uint8_t *token)
{
	int ret = resume_issue(c->broker->resume, c->conn, token);
	struct log_ctx ctx;

	if (ret == -EOPNOTSUPP)
		return;
	if (ret < 0) {
		ctx = client_log_ctx(c);
		log_ctx_limited(LOG_WARNING, &ctx,
				"no resume token for this connection: %s",
				strerror(-ret));
		return;
	}
	h->resume_token.data = token;
	h->resume_token.len = RESUME_TOKEN_LEN;
	h->resume_grace_ms = c->broker->cfg->resume_grace_ms;
	/* A resumed session's buffers in the fd store go by the new token. */
	persist_session_changed(c->broker->persist, c->conn);
}

int handlers_session_hello(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds)
{
	const DmabufBroker__V1__Hello *hello = req->hello;
	DmabufBroker__V1__HelloReply *h;
	struct log_ctx ctx;
	uint8_t *token;
	bool resumed;

	if (hello->protocol_version != BROKER_PROTOCOL_VERSION) {
		/* Say which version we speak, then hang up. */
		client_close_after_reply(c);
		handlers_session_hello_body(c, r);
		return reply_error(r, -EPROTO,
				   "protocol version %u not supported (broker speaks %u)",
				   hello->protocol_version,
				   BROKER_PROTOCOL_VERSION);
	}
	if (!handlers_session_name_valid(hello->client_name))
		return reply_error(r, -EINVAL,
				   "client name must be at most %d printable ASCII bytes",
				   CLIENT_NAME_MAX);
	for (size_t i = 0; i < hello->n_required_features; i++) {
		if (!handlers_session_has_feature(c->broker,
						  hello->required_features[i])) {
			/* The reply lists what we do have. */
			handlers_session_hello_body(c, r);
			return reply_error(r, -EOPNOTSUPP,
					   "this broker lacks feature '%.64s'",
					   hello->required_features[i]);
		}
	}
	if (registry_conn_set_name(c->conn, hello->client_name) < 0 ||
	    !(h = handlers_session_hello_body(c, r)) ||
	    !(token = reply_alloc(r, RESUME_TOKEN_LEN)))
		return reply_error(r, -ENOMEM, "out of memory");
	/* Nothing fails from here: a session taken back stays taken. */
	resumed = handlers_session_resume(c, &hello->resume_token,
					  hello->client_name);
	h->client_id = c->id;
	h->resumed = resumed;
	handlers_session_token(c, h, token);
	client_hello_done(c);
	ctx = client_log_ctx(c);
	log_ctx_msg(LOG_DEBUG, &ctx, "client '%s' said hello%s",
		    hello->client_name, resumed ? " (resumed)" : "");
	return 0;
}

int handlers_session_watch(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds)
{
	watch_set(c->broker->watch, c, req->watch->enable);
	return 0;
}

int handlers_session_goodbye(struct client *c,
			     const DmabufBroker__V1__Request *req,
			     struct reply *r, int *fds)
{
	/* The client is done: nothing waits for a resume. */
	c->no_resume = true;
	client_close_after_reply(c);
	return 0;
}
