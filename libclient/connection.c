/* SPDX-License-Identifier: MIT */
/*
 * The connection to the broker: socket, Hello handshake, and the blocking
 * request/reply exchange that matches replies by seq and queues the events
 * that arrive in between.
 */
#include "client-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Protocol version this library speaks (proto/dmabuf_broker.proto). */
#define CONNECTION_PROTOCOL 1u
/* The broker accepts client names of at most this many bytes. */
#define CONNECTION_NAME_MAX 64u

void connection_set_error(struct dbb_client *client, const char *msg)
{
	snprintf(client->last_error, sizeof(client->last_error), "%s", msg);
}

void connection_reply_clear(struct connection_reply *reply)
{
	if (reply->msg)
		dmabuf_broker__v1__server_message__free_unpacked(reply->msg, NULL);
	wire_close_fds(reply->fds, reply->nfds);
	reply->msg = NULL;
	reply->resp = NULL;
	reply->nfds = 0;
}

static int connection_send(struct dbb_client *client, int send_fd,
			   DmabufBroker__V1__Request *req)
{
	ssize_t len;

	req->seq = ++client->last_seq;
	len = wire_pack(&req->base, client->frame, sizeof(client->frame));
	if (len < 0)
		return (int)len;
	return wire_send(client->sock, client->frame, (size_t)len, &send_fd,
			 send_fd >= 0 ? 1 : 0, 0);
}

int connection_send_only(struct dbb_client *client,
			 DmabufBroker__V1__Request *req)
{
	return connection_send(client, -1, req);
}

/* Reads and decodes one datagram into @reply (msg and fd). */
static int connection_recv(struct dbb_client *client, int flags,
			   struct connection_reply *reply)
{
	ssize_t n;

	n = wire_recv(client->sock, client->frame, sizeof(client->frame),
		      reply->fds, DBB_WIRE_MAX_FDS, &reply->nfds, flags);
	if (n == 0) {
		client->gone = 1;
		connection_set_error(client, "the broker closed the connection");
		return -EPIPE;
	}
	if (n == -EMSGSIZE || n == -EBADMSG) {
		connection_set_error(client, "malformed frame from the broker");
		return -EPROTO;
	}
	if (n == -ECONNRESET)
		client->gone = 1;
	if (n < 0)
		return (int)n;
	reply->msg = dmabuf_broker__v1__server_message__unpack(NULL, (size_t)n,
								client->frame);
	if (!reply->msg ||
	    reply->msg->kind_case == DMABUF_BROKER__V1__SERVER_MESSAGE__KIND__NOT_SET) {
		connection_reply_clear(reply);
		connection_set_error(client, "undecodable frame from the broker");
		return -EPROTO;
	}
	if (reply->msg->kind_case == DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE)
		reply->resp = reply->msg->response;
	return 0;
}

/* Queues the event in @reply and clears it; an fd with an event is a
 * protocol error. */
static int connection_take_event(struct dbb_client *client,
				 struct connection_reply *reply)
{
	int ret = 0;

	if (reply->nfds) {
		connection_set_error(client, "event from the broker carried an fd");
		ret = -EPROTO;
	} else {
		events_push(client, reply->msg->event);
	}
	connection_reply_clear(reply);
	return ret;
}

/* Checks the Response to our request against what the call expects. */
static int connection_check(struct dbb_client *client,
			    struct connection_reply *reply,
			    DmabufBroker__V1__Response__BodyCase body,
			    size_t nfds)
{
	const DmabufBroker__V1__Response *resp = reply->resp;
	size_t got = reply->nfds;
	char why[128];

	if (resp->status < 0 && got == 0) {
		connection_set_error(client, resp->message ? resp->message : "");
		return resp->status;
	}
	if (resp->status > 0) {
		snprintf(why, sizeof(why), "broker replied with status %d",
			 resp->status);
	} else if (got != (resp->status < 0 ? 0 : nfds)) {
		snprintf(why, sizeof(why),
			 "broker reply carried %zu fds, expected %zu", got,
			 resp->status < 0 ? (size_t)0 : nfds);
	} else if (body != DMABUF_BROKER__V1__RESPONSE__BODY__NOT_SET &&
		   resp->body_case != body) {
		snprintf(why, sizeof(why),
			 "broker reply has body %d, expected %d",
			 (int)resp->body_case, (int)body);
	} else {
		return 0;
	}
	connection_set_error(client, why);
	return -EPROTO;
}

int connection_call_fd(struct dbb_client *client,
		       DmabufBroker__V1__Request *req, int send_fd,
		       DmabufBroker__V1__Response__BodyCase body, size_t nfds,
		       struct connection_reply *reply)
{
	int ret;

	*reply = (struct connection_reply){ .nfds = 0 };
	client->last_error[0] = '\0';
	ret = connection_send(client, send_fd, req);
	while (ret == 0) {
		ret = connection_recv(client, 0, reply);
		if (ret < 0)
			break;
		if (!reply->resp) {
			ret = connection_take_event(client, reply);
			continue;
		}
		if (reply->resp->seq < req->seq) {
			/* Stale: the reply to a call that gave up on it. */
			connection_reply_clear(reply);
			continue;
		}
		if (reply->resp->seq > req->seq) {
			connection_set_error(client,
					     "broker replied to a request not sent");
			ret = -EPROTO;
		} else {
			ret = connection_check(client, reply, body, nfds);
			if (ret == 0)
				return 0;
		}
	}
	connection_reply_clear(reply);
	return ret;
}

int connection_read_pending(struct dbb_client *client)
{
	struct connection_reply reply = { .nfds = 0 };
	int ret;

	ret = connection_recv(client, MSG_DONTWAIT, &reply);
	if (ret == -EAGAIN || ret == -EWOULDBLOCK)
		return 0;
	if (ret < 0)
		return ret;
	if (!reply.resp)
		return connection_take_event(client, &reply) < 0 ? -EPROTO : 1;
	/* No call is outstanding: any Response is stale. */
	connection_reply_clear(&reply);
	return 1;
}

/* The default name: the program's, cut to what the broker accepts. */
static void connection_default_name(char *out, size_t cap)
{
	const char *src = program_invocation_short_name;
	size_t i;

	if (!src || !*src)
		src = "libdmabuf-broker";
	for (i = 0; src[i] && i + 1 < cap && i < CONNECTION_NAME_MAX; i++)
		out[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '_';
	out[i] = '\0';
}

static int connection_open(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sock;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(sock);
		return err;
	}
	return sock;
}

static int connection_hello(struct dbb_client *client, const char *name)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello hello = DMABUF_BROKER__V1__HELLO__INIT;
	struct connection_reply reply;
	char fallback[CONNECTION_NAME_MAX + 1];
	int ret;

	if (!name) {
		connection_default_name(fallback, sizeof(fallback));
		name = fallback;
	}
	hello.protocol_version = CONNECTION_PROTOCOL;
	hello.client_name = (char *)name;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	ret = connection_call(client, &req, DMABUF_BROKER__V1__RESPONSE__BODY_HELLO,
			      0, &reply);
	if (ret < 0)
		return ret;
	if (reply.resp->hello->protocol_version != CONNECTION_PROTOCOL)
		ret = -EPROTO;
	client->id = reply.resp->hello->client_id;
	snprintf(client->server_version, sizeof(client->server_version), "%s",
		 reply.resp->hello->server_version ? reply.resp->hello->server_version : "");
	connection_reply_clear(&reply);
	return ret;
}

int dbb_client_connect(const char *socket_path, const char *client_name,
		       struct dbb_client **out)
{
	struct dbb_client *client;
	int ret;

	if (!out)
		return -EINVAL;
	if (!socket_path || !*socket_path)
		socket_path = getenv(DBB_SOCKET_ENV);
	if (!socket_path || !*socket_path)
		socket_path = DBB_DEFAULT_SOCKET;
	client = calloc(1, sizeof(*client));
	if (!client)
		return -ENOMEM;
	client->refs = 1;
	client->sock = connection_open(socket_path);
	if (client->sock < 0) {
		ret = client->sock;
		free(client);
		return ret;
	}
	ret = connection_hello(client, client_name);
	if (ret < 0) {
		dbb_client_destroy(client);
		return ret;
	}
	*out = client;
	return 0;
}

void connection_unref(struct dbb_client *client)
{
	if (--client->refs == 0)
		free(client);
}

/* Closing the socket ends the session: the broker drops the connection's
 * holds itself, so the handles still out need not tell it. */
void dbb_client_destroy(struct dbb_client *client)
{
	if (!client)
		return;
	client->destroyed = true;
	events_clear(client);
	buffer_holds_clear(client);
	if (client->sock >= 0)
		close(client->sock);
	client->sock = -1;
	connection_unref(client);
}

uint64_t dbb_client_get_id(const struct dbb_client *client)
{
	return client->id;
}

const char *dbb_client_get_server_version(const struct dbb_client *client)
{
	return client->server_version;
}

const char *dbb_client_last_error(const struct dbb_client *client)
{
	return client->last_error;
}

int dbb_client_get_fd(const struct dbb_client *client)
{
	return client->sock;
}

int connection_call(struct dbb_client *client, DmabufBroker__V1__Request *req,
		    DmabufBroker__V1__Response__BodyCase body, size_t nfds,
		    struct connection_reply *reply)
{
	return connection_call_fd(client, req, -1, body, nfds, reply);
}
