/* SPDX-License-Identifier: MIT */
/* Hello and Watch: the state of the connection itself. */
#include "handlers.h"

#include <errno.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "registry.h"
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

static bool handlers_session_has_feature(const char *name)
{
	for (const char *const *f = broker_features; *f; f++) {
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
	for (h->n_features = 0; broker_features[h->n_features]; h->n_features++)
		;
	h->features = (char **)broker_features;
	r->resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_HELLO;
	r->resp.hello = h;
	return h;
}

int handlers_session_hello(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds)
{
	const DmabufBroker__V1__Hello *hello = req->hello;
	struct log_ctx ctx = client_log_ctx(c);

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
		if (!handlers_session_has_feature(hello->required_features[i])) {
			/* The reply lists what we do have. */
			handlers_session_hello_body(c, r);
			return reply_error(r, -EOPNOTSUPP,
					   "this broker lacks feature '%.64s'",
					   hello->required_features[i]);
		}
	}
	if (registry_conn_set_name(c->conn, hello->client_name) < 0 ||
	    !handlers_session_hello_body(c, r))
		return reply_error(r, -ENOMEM, "out of memory");
	client_hello_done(c);
	log_ctx_msg(LOG_DEBUG, &ctx, "client '%s' said hello",
		    hello->client_name);
	return 0;
}

int handlers_session_watch(struct client *c,
			   const DmabufBroker__V1__Request *req,
			   struct reply *r, int *fds)
{
	watch_set(c->broker->watch, c, req->watch->enable);
	return 0;
}
