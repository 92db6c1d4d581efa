/* SPDX-License-Identifier: MIT */
/*
 * The connection to the broker: socket, Hello handshake, the client's lock,
 * and the request/reply exchange that matches replies by seq and queues
 * the events that arrive in between.
 *
 * The socket is non-blocking; every wait is a poll() bounded by the call's
 * deadline.  A call that gives up (timeout, or a signal on an
 * interruptible client) leaves its reply to come later: replies carry the
 * seq of their request and come in request order, so the next call passes
 * over it, releasing any buffer it handed out.
 */
#include "queue-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* The calling thread's last error message, and the client it concerns. */
static __thread const struct dbb_client *connection_error_client;
static __thread char connection_error[CONNECTION_ERROR_MAX];

void connection_set_error(const struct dbb_client *client, const char *msg)
{
	connection_error_client = client;
	snprintf(connection_error, sizeof(connection_error), "%s", msg);
}

const char *dbb_client_last_error(const struct dbb_client *client)
{
	return client && client == connection_error_client ? connection_error : "";
}

static struct timespec connection_deadline(int timeout_ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += timeout_ms / 1000;
	t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Milliseconds left until @deadline (rounded up), 0 once it passed. */
static int connection_remaining_ms(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 +
	     (deadline->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return 0;
	return (int)((ns + 999999) / 1000000);
}

/* Waits for @events on the socket until the call's deadline.  A signal
 * ends the wait only for an interruptible client. */
static int connection_wait(struct dbb_client *client, short events)
{
	struct pollfd pfd = { .fd = client->sock, .events = events };
	int left, n;

	for (;;) {
		left = connection_remaining_ms(&client->deadline);
		if (left == 0) {
			connection_set_error(client, "the broker did not answer in time");
			return -ETIMEDOUT;
		}
		n = poll(&pfd, 1, left);
		if (n > 0)
			return 0;
		if (n < 0 && errno == EINTR && client->interruptible) {
			connection_set_error(client, "interrupted");
			return -EINTR;
		}
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int connection_lock(struct dbb_client *client)
{
	struct timespec deadline;
	int err;

	if (!client)
		return -EINVAL;
	deadline = connection_deadline(__atomic_load_n(&client->timeout_ms,
						       __ATOMIC_RELAXED));
	err = pthread_mutex_clocklock(&client->lock, CLOCK_MONOTONIC, &deadline);
	if (err == ETIMEDOUT) {
		connection_set_error(client, "another thread's call did not end in time");
		return -ETIMEDOUT;
	}
	if (err)
		return -err;
	if (client->destroyed) {
		pthread_mutex_unlock(&client->lock);
		return -EINVAL;
	}
	client->deadline = deadline;
	/* Each call starts with no message of its own. */
	connection_set_error(client, "");
	return 0;
}

void connection_unlock(struct dbb_client *client)
{
	pthread_mutex_unlock(&client->lock);
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
	int ret;

	if (client->gone)
		return -EPIPE;
	req->seq = ++client->last_seq;
	len = wire_pack(&req->base, client->frame, sizeof(client->frame));
	if (len < 0)
		return (int)len;
	for (;;) {
		ret = wire_send(client->sock, client->frame, (size_t)len,
				&send_fd, send_fd >= 0 ? 1 : 0, MSG_DONTWAIT);
		if (ret != -EAGAIN)
			break;
		ret = connection_wait(client, POLLOUT);
		if (ret < 0)
			break;
	}
	if (ret == -EPIPE || ret == -ECONNRESET)
		client->gone = 1;
	return ret;
}

int connection_send_only(struct dbb_client *client,
			 DmabufBroker__V1__Request *req)
{
	return connection_send(client, -1, req);
}

/* Reads and decodes one datagram into @reply (msg and fd), waiting for it
 * until the deadline unless @wait is false (-EAGAIN then). */
static int connection_recv(struct dbb_client *client, bool wait,
			   struct connection_reply *reply)
{
	ssize_t n;

	for (;;) {
		n = wire_recv(client->sock, client->frame, sizeof(client->frame),
			      reply->fds, DBB_WIRE_MAX_FDS, &reply->nfds,
			      MSG_DONTWAIT);
		if (n != -EAGAIN || !wait)
			break;
		n = connection_wait(client, POLLIN);
		if (n < 0)
			return (int)n;
	}
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

	if (link_event_type(reply->msg->event->type)) {
		/* A queue's consumer came or went: the producer's. */
		link_route_event(client, reply->msg->event, reply->fds,
				  reply->nfds);
		reply->nfds = 0;
	} else if (reply->nfds) {
		connection_set_error(client, "event from the broker carried an fd");
		ret = -EPROTO;
	} else {
		events_push(client, reply->msg->event);
	}
	connection_reply_clear(reply);
	return ret;
}

/*
 * Drops the reply to a call that gave up on it (timed out or interrupted).
 * A buffer it handed out is a hold nobody has a handle of: released, so
 * that the broker's holders stay true.
 */
static void connection_drop_stale(struct dbb_client *client,
				  struct connection_reply *reply)
{
	const DmabufBroker__V1__Response *resp = reply->resp;

	if (resp->status == 0 && reply->nfds == 1 &&
	    resp->body_case == DMABUF_BROKER__V1__RESPONSE__BODY_BUFFER &&
	    !buffer_held(client, resp->buffer->id))
		buffer_release(client, resp->buffer->id);
	/* A pool's hold likewise (its queue, if it made one, stays the
	 * connection's until it ends). */
	if (resp->status == 0 && reply->nfds > 0 &&
	    resp->body_case == DMABUF_BROKER__V1__RESPONSE__BODY_POOL &&
	    !buffer_held(client, resp->pool->id))
		buffer_release(client, resp->pool->id);
	connection_reply_clear(reply);
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
	} else if (resp->status < 0 ? got != 0 :
		   nfds != CONNECTION_NFDS_ANY && got != nfds) {
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

static int connection_reconnect(struct dbb_client *client);

static bool connection_broken(int ret)
{
	return ret == -EPIPE || ret == -ECONNRESET;
}

/* Requests that may be sent again when the connection broke after they
 * were sent: doing them twice is doing them once.  The others (Alloc,
 * Pin, Adopt, Publish, Release, Destroy, PoolAlloc, and QueueCreate,
 * QueueAttach and QueueDetach, which make or end a queue's end) may have
 * taken effect. */
static bool connection_idempotent(const DmabufBroker__V1__Request *req)
{
	switch (req->body_case) {
	case DMABUF_BROKER__V1__REQUEST__BODY_IMPORT:
	case DMABUF_BROKER__V1__REQUEST__BODY_GRANT:
	case DMABUF_BROKER__V1__REQUEST__BODY_LIST:
	case DMABUF_BROKER__V1__REQUEST__BODY_INFO:
	case DMABUF_BROKER__V1__REQUEST__BODY_STATS:
	case DMABUF_BROKER__V1__REQUEST__BODY_WATCH:
	case DMABUF_BROKER__V1__REQUEST__BODY_BACKENDS:
	case DMABUF_BROKER__V1__REQUEST__BODY_NAMES:
	/* Listing pools only reads; opening one only hands out fds of a
	 * pool that exists, like Import (a hold is one per connection). */
	case DMABUF_BROKER__V1__REQUEST__BODY_POOLS:
	case DMABUF_BROKER__V1__REQUEST__BODY_POOL_OPEN:
		return true;
	default:
		return false;
	}
}

int connection_call_fd(struct dbb_client *client,
		       DmabufBroker__V1__Request *req, int send_fd,
		       DmabufBroker__V1__Response__BodyCase body, size_t nfds,
		       struct connection_reply *reply)
{
	bool reconnected = false;
	int ret;

	*reply = (struct connection_reply){ .nfds = 0 };
	ret = connection_send(client, send_fd, req);
	/* Not sent: safe to send on a new connection, whatever it is. */
	if (connection_broken(ret) && connection_reconnect(client) == 0) {
		reconnected = true;
		ret = connection_send(client, send_fd, req);
	}
	while (ret == 0) {
		ret = connection_recv(client, true, reply);
		if (connection_broken(ret) && !reconnected &&
		    connection_idempotent(req) &&
		    connection_reconnect(client) == 0) {
			reconnected = true;
			ret = connection_send(client, send_fd, req);
			continue;
		}
		if (ret < 0)
			break;
		if (!reply->resp) {
			ret = connection_take_event(client, reply);
			continue;
		}
		if (reply->resp->seq < req->seq) {
			connection_drop_stale(client, reply);
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

	ret = connection_recv(client, false, &reply);
	if (ret == -EAGAIN)
		return 0;
	if (ret < 0)
		return ret;
	if (!reply.resp)
		return connection_take_event(client, &reply) < 0 ? -EPROTO : 1;
	/* No call is outstanding: any Response is stale. */
	connection_drop_stale(client, &reply);
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

/* A non-blocking socket connected to @path.  A listener whose backlog is
 * full refuses at once (-EAGAIN): tried again until the deadline. */
static int connection_open(struct dbb_client *client, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sock, err, left;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -errno;
	while (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		if (err == -EINTR && !client->interruptible)
			continue;
		if (err != -EAGAIN) {
			close(sock);
			return err;
		}
		left = connection_remaining_ms(&client->deadline);
		if (left == 0) {
			close(sock);
			connection_set_error(client, "the broker's backlog stayed full");
			return -ETIMEDOUT;
		}
		/* Nothing to poll on a socket not yet connected. */
		if (poll(NULL, 0, left < 10 ? left : 10) < 0 &&
		    client->interruptible) {
			close(sock);
			return -EINTR;
		}
	}
	return sock;
}

/* Keeps the broker's features; the protocol has no more than a few. */
static void connection_keep_features(struct dbb_client *client,
				     const DmabufBroker__V1__HelloReply *h)
{
	client->n_features = 0;
	for (size_t i = 0; i < h->n_features &&
			   client->n_features < CONNECTION_FEATURES_MAX; i++)
		snprintf(client->features[client->n_features++],
			 CONNECTION_FEATURE_MAX, "%s", h->features[i]);
}

/* With the lock held. */
static bool connection_has_feature(const struct dbb_client *client,
				   const char *feature)
{
	for (size_t i = 0; i < client->n_features; i++)
		if (strcmp(client->features[i], feature) == 0)
			return true;
	return false;
}

bool dbb_client_has_feature(const struct dbb_client *client,
			    const char *feature)
{
	/* The list changes when a call reconnects: read under the lock. */
	struct dbb_client *locked = (struct dbb_client *)client;
	bool found;

	if (!client || !feature)
		return false;
	connection_lock_always(locked);
	found = connection_has_feature(client, feature);
	connection_unlock(locked);
	return found;
}

int connection_need_feature(const struct dbb_client *client,
			    const char *feature)
{
	char why[96];

	if (dbb_client_has_feature(client, feature))
		return 0;
	snprintf(why, sizeof(why), "the broker lacks feature '%s'", feature);
	connection_set_error(client, why);
	return -EOPNOTSUPP;
}

/* Introduces the client on a new connection, offering the resume token
 * of the last one if it has one; *@resumed tells whether the broker took
 * that session back. */
static int connection_hello(struct dbb_client *client, bool *resumed)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello hello = DMABUF_BROKER__V1__HELLO__INIT;
	const DmabufBroker__V1__HelloReply *h;
	struct connection_reply reply;
	char fallback[CONNECTION_NAME_MAX + 1];
	const char *name = client->client_name;
	int ret;

	if (!name) {
		connection_default_name(fallback, sizeof(fallback));
		name = fallback;
	}
	hello.protocol_version = CONNECTION_PROTOCOL;
	hello.client_name = (char *)name;
	while (client->required_features &&
	       client->required_features[hello.n_required_features])
		hello.n_required_features++;
	hello.required_features = client->required_features;
	hello.resume_token.data = client->token;
	hello.resume_token.len = client->token_len;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	ret = connection_call(client, &req, DMABUF_BROKER__V1__RESPONSE__BODY_HELLO,
			      0, &reply);
	if (ret < 0)
		return ret;
	h = reply.resp->hello;
	if (h->protocol_version != CONNECTION_PROTOCOL)
		ret = -EPROTO;
	client->id = h->client_id;
	snprintf(client->server_version, sizeof(client->server_version), "%s",
		 h->server_version ? h->server_version : "");
	connection_keep_features(client, h);
	/* Each Hello's token replaces the last; none: no resuming. */
	client->token_len = 0;
	if (h->resume_token.len && h->resume_token.len <= sizeof(client->token)) {
		memcpy(client->token, h->resume_token.data, h->resume_token.len);
		client->token_len = h->resume_token.len;
	}
	*resumed = h->resumed;
	connection_reply_clear(&reply);
	return ret;
}

/*
 * With the lock held, within the call's deadline: replaces a broken
 * connection by a new one under the same fd number (pollers keep theirs),
 * offering the resume token, and asks for events again if it watched.
 * The handles' fds are untouched either way.
 */
static int connection_reconnect(struct dbb_client *client)
{
	bool resumed = false;
	char why[160];
	int sock, ret;

	if (!client->may_reconnect || client->reconnecting)
		return -EPIPE;
	sock = connection_open(client, client->socket_path);
	if (sock >= 0 && dup3(sock, client->sock, O_CLOEXEC) < 0) {
		ret = -errno;
		close(sock);
		sock = ret;
	}
	if (sock < 0) {
		snprintf(why, sizeof(why),
			 "the connection broke; reconnecting failed: %s",
			 strerror(-sock));
		connection_set_error(client, why);
		return sock;
	}
	close(sock);
	client->gone = 0;
	client->reconnecting = true;
	ret = connection_hello(client, &resumed);
	if (ret == 0 && client->watching) {
		DmabufBroker__V1__WatchRequest body = DMABUF_BROKER__V1__WATCH_REQUEST__INIT;
		DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
		struct connection_reply reply;

		body.enable = true;
		req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_WATCH;
		req.watch = &body;
		ret = connection_call(client, &req,
				      DMABUF_BROKER__V1__RESPONSE__BODY__NOT_SET,
				      0, &reply);
		connection_reply_clear(&reply);
	}
	client->reconnecting = false;
	if (ret < 0) {
		/* Half a session is none: the next call starts over. */
		client->gone = 1;
		return ret;
	}
	/* Read without the lock by producer queues, which end with the
	 * connection they were made on. */
	__atomic_store_n(&client->generation, client->generation + 1,
			 __ATOMIC_RELAXED);
	client->resumed = resumed;
	buffer_release_unreleased(client, resumed);
	return 0;
}

static void connection_free_params(struct dbb_client *client)
{
	for (size_t i = 0; client->required_features &&
			   client->required_features[i]; i++)
		free(client->required_features[i]);
	free(client->required_features);
	free(client->client_name);
	free(client->socket_path);
}

/* Keeps copies of what a reconnect sends again. */
static int connection_copy_params(struct dbb_client *client,
				  const struct dbb_connect_params *params)
{
	const char *path = params->socket_path;
	size_t n = 0;

	if (!path || !*path)
		path = getenv(DBB_SOCKET_ENV);
	if (!path || !*path)
		path = DBB_DEFAULT_SOCKET;
	client->socket_path = strdup(path);
	if (!client->socket_path)
		return -ENOMEM;
	if (params->client_name) {
		client->client_name = strdup(params->client_name);
		if (!client->client_name)
			return -ENOMEM;
	}
	if (!params->required_features)
		return 0;
	while (params->required_features[n])
		n++;
	client->required_features = calloc(n + 1, sizeof(char *));
	if (!client->required_features)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		client->required_features[i] = strdup(params->required_features[i]);
		if (!client->required_features[i])
			return -ENOMEM;
	}
	return 0;
}

int dbb_client_connect_with(const struct dbb_connect_params *user,
			    struct dbb_client **out)
{
	const uint32_t known = DBB_CONNECT_INTERRUPTIBLE | DBB_CONNECT_NO_RECONNECT;
	struct dbb_connect_params params;
	struct dbb_client *client;
	bool resumed;
	int ret;

	if (!user || !out)
		return -EINVAL;
	ret = structs_copy_in(&params, sizeof(params), STRUCTS_CONNECT_PARAMS_V1,
			      user);
	if (ret < 0)
		return ret;
	if (params.timeout_ms < 0 || (params.flags & ~known))
		return -EINVAL;
	client = calloc(1, sizeof(*client));
	if (!client)
		return -ENOMEM;
	pthread_mutex_init(&client->lock, NULL);
	client->refs = 1;
	client->sock = -1;
	client->timeout_ms = params.timeout_ms ? params.timeout_ms :
						 DBB_DEFAULT_TIMEOUT_MS;
	client->interruptible = params.flags & DBB_CONNECT_INTERRUPTIBLE;
	client->may_reconnect = !(params.flags & DBB_CONNECT_NO_RECONNECT);
	/* Connecting and the Hello share one deadline. */
	client->deadline = connection_deadline(client->timeout_ms);
	connection_set_error(client, "");
	ret = connection_copy_params(client, &params);
	if (ret == 0) {
		client->sock = connection_open(client, client->socket_path);
		ret = client->sock < 0 ? client->sock :
					 connection_hello(client, &resumed);
	}
	if (ret < 0) {
		dbb_client_destroy(client);
		return ret;
	}
	*out = client;
	return 0;
}

int dbb_client_connect(const char *socket_path, const char *client_name,
		       struct dbb_client **out)
{
	struct dbb_connect_params params = {
		.struct_size = sizeof(params),
		.socket_path = socket_path,
		.client_name = client_name,
	};

	return dbb_client_connect_with(&params, out);
}

void connection_lock_always(struct dbb_client *client)
{
	pthread_mutex_lock(&client->lock);
	client->deadline = connection_deadline(client->timeout_ms);
}

void connection_unref(struct dbb_client *client)
{
	unsigned refs;

	pthread_mutex_lock(&client->lock);
	refs = --client->refs;
	pthread_mutex_unlock(&client->lock);
	if (refs)
		return;
	pthread_mutex_destroy(&client->lock);
	connection_free_params(client);
	free(client);
}

/*
 * Says Goodbye to a broker that would otherwise keep the session for a
 * resume, so that its client-lifetime buffers go now.  Its reply is
 * waited for (within the timeout): closing at once would leave replies
 * to earlier requests (Releases) unread, and a broker whose reply then
 * fails takes that for a break, before it reads the Goodbye.
 */
static void connection_goodbye(struct dbb_client *client)
{
	DmabufBroker__V1__GoodbyeRequest body = DMABUF_BROKER__V1__GOODBYE_REQUEST__INIT;
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	struct connection_reply reply;

	if (client->gone || !connection_has_feature(client, "resume"))
		return;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_GOODBYE;
	req.goodbye = &body;
	client->deadline = connection_deadline(client->timeout_ms);
	/* No reconnecting for a goodbye. */
	client->reconnecting = true;
	connection_call(client, &req, DMABUF_BROKER__V1__RESPONSE__BODY__NOT_SET,
			0, &reply);
	connection_reply_clear(&reply);
}

/* Ending the session ends its holds in the broker, so the handles still
 * out need not tell it. */
void dbb_client_destroy(struct dbb_client *client)
{
	if (!client)
		return;
	pthread_mutex_lock(&client->lock);
	if (client->sock >= 0)
		connection_goodbye(client);
	client->destroyed = true;
	events_clear(client);
	buffer_holds_clear(client);
	if (client->sock >= 0)
		close(client->sock);
	client->sock = -1;
	pthread_mutex_unlock(&client->lock);
	connection_unref(client);
}

int dbb_client_set_timeout(struct dbb_client *client, int timeout_ms)
{
	if (!client || timeout_ms <= 0)
		return -EINVAL;
	__atomic_store_n(&client->timeout_ms, timeout_ms, __ATOMIC_RELAXED);
	return 0;
}

int dbb_client_set_interruptible(struct dbb_client *client, bool interruptible)
{
	int ret = connection_lock(client);

	if (ret < 0)
		return ret;
	client->interruptible = interruptible;
	connection_unlock(client);
	return 0;
}

uint32_t dbb_client_get_generation(struct dbb_client *client, bool *resumed)
{
	uint32_t generation;

	connection_lock_always(client);
	generation = client->generation;
	if (resumed)
		*resumed = client->resumed;
	connection_unlock(client);
	return generation;
}

uint64_t dbb_client_get_id(const struct dbb_client *client)
{
	struct dbb_client *locked = (struct dbb_client *)client;
	uint64_t id;

	connection_lock_always(locked);
	id = client->id;
	connection_unlock(locked);
	return id;
}

const char *dbb_client_get_server_version(const struct dbb_client *client)
{
	return client->server_version;
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
