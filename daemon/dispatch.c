/* SPDX-License-Identifier: MIT */
#include "dispatch.h"

#include <errno.h>

#include "client.h"
#include "handlers.h"
#include "broker.h"

#define DISPATCH_BODY(name) DMABUF_BROKER__V1__REQUEST__BODY_##name

/* Each request type's handler and the number of fds it comes with. */
struct dispatch_entry {
	handler_fn fn;
	unsigned nfds;
};

static const struct dispatch_entry dispatch_table[] = {
	[DISPATCH_BODY(HELLO)] = { handlers_session_hello, 0 },
	[DISPATCH_BODY(ALLOC)] = { handlers_buffer_alloc, 0 },
	[DISPATCH_BODY(IMPORT)] = { handlers_buffer_import, 0 },
	[DISPATCH_BODY(PUBLISH)] = { handlers_buffer_publish, 0 },
	[DISPATCH_BODY(GRANT)] = { handlers_buffer_grant, 0 },
	[DISPATCH_BODY(RELEASE)] = { handlers_buffer_release, 0 },
	[DISPATCH_BODY(DESTROY)] = { handlers_buffer_destroy, 0 },
	[DISPATCH_BODY(LIST)] = { handlers_query_list, 0 },
	[DISPATCH_BODY(INFO)] = { handlers_query_info, 0 },
	[DISPATCH_BODY(STATS)] = { handlers_query_stats, 0 },
	[DISPATCH_BODY(WATCH)] = { handlers_session_watch, 0 },
	[DISPATCH_BODY(BACKENDS)] = { handlers_query_backends, 0 },
	[DISPATCH_BODY(PIN)] = { handlers_import_pin, 1 },
	[DISPATCH_BODY(ADOPT)] = { handlers_import_adopt, 1 },
};

#define DISPATCH_NTYPES (sizeof(dispatch_table) / sizeof(dispatch_table[0]))

/* The Hello gate: true when @req may be handled at all. */
static bool dispatch_gate(struct client *c, const DmabufBroker__V1__Request *req)
{
	bool is_hello = req->body_case == DISPATCH_BODY(HELLO);

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

static const struct dispatch_entry *
dispatch_lookup(const DmabufBroker__V1__Request *req)
{
	unsigned type = (unsigned)req->body_case;

	return type < DISPATCH_NTYPES && dispatch_table[type].fn ?
	       &dispatch_table[type] : NULL;
}

void dispatch_send_reply(struct client *c, struct reply *r)
{
	if (r->resp.status < 0) {
		c->broker->errors++;
		fds_drop(&r->fds);	/* an error carries no fd */
	}
	if (!c->dead)
		client_send(c, &r->msg.base, &r->fds);
}

void dispatch_request(struct client *c, const DmabufBroker__V1__Request *req,
		      int *fds, size_t nfds)
{
	const struct dispatch_entry *e;
	struct reply r;

	if (!dispatch_gate(c, req))
		return;
	e = dispatch_lookup(req);
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
		dispatch_send_reply(c, &r);
	reply_fini(&r);
}
