/* SPDX-License-Identifier: MIT */
/*
 * Raw protocol helpers of the integration harness: frames built and read
 * with protobuf-c and the frame layer directly, for tests that must send
 * what the client library would not.
 */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire.h"

int harness_raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

ssize_t harness_raw_pack(const DmabufBroker__V1__Request *req, uint8_t **out)
{
	size_t len = protobuf_c_message_get_packed_size(&req->base);

	*out = malloc(len ? len : 1);
	if (!*out)
		return -ENOMEM;
	return (ssize_t)protobuf_c_message_pack(&req->base, *out);
}

int harness_raw_send(int sock, const DmabufBroker__V1__Request *req,
		     bool nonblock)
{
	uint8_t buf[DBB_WIRE_MAX_FRAME];
	ssize_t n = wire_pack(&req->base, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	return wire_send(sock, buf, (size_t)n, NULL, 0,
			 nonblock ? MSG_DONTWAIT : 0);
}

int harness_raw_recv_fds(int sock, int timeout_ms,
			 DmabufBroker__V1__ServerMessage **out, int *fds,
			 size_t *nfds)
{
	static uint8_t buf[DBB_WIRE_MAX_FRAME];
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;
	int r;

	*out = NULL;
	*nfds = 0;
	do {
		r = poll(&p, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	n = wire_recv(sock, buf, sizeof(buf), fds, DBB_WIRE_MAX_FDS, nfds,
		      MSG_DONTWAIT);
	if (n == 0)
		return -EPIPE;
	if (n == -ECONNRESET)
		return -EPIPE;
	if (n < 0)
		return (int)n;
	*out = dmabuf_broker__v1__server_message__unpack(NULL, (size_t)n, buf);
	if (!*out) {
		wire_close_fds(fds, *nfds);
		*nfds = 0;
		return -EBADMSG;
	}
	return 0;
}

int harness_raw_recv(int sock, int timeout_ms,
		     DmabufBroker__V1__ServerMessage **out, int *fd)
{
	int fds[DBB_WIRE_MAX_FDS];
	size_t nfds;
	int r = harness_raw_recv_fds(sock, timeout_ms, out, fds, &nfds);

	if (fd)
		*fd = -1;
	if (r < 0)
		return r;
	if (fd && nfds)
		*fd = fds[0];
	else
		wire_close_fds(fds, nfds);
	if (fd && nfds > 1)
		wire_close_fds(fds + 1, nfds - 1);
	return 0;
}

int harness_raw_response(int sock, int timeout_ms,
			 DmabufBroker__V1__ServerMessage **out, int *fd)
{
	for (;;) {
		int r = harness_raw_recv(sock, timeout_ms, out, fd);

		if (r < 0)
			return r;
		if ((*out)->kind_case == DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE)
			return 0;
		if (fd && *fd >= 0)
			close(*fd);
		dmabuf_broker__v1__server_message__free_unpacked(*out, NULL);
		*out = NULL;
	}
}

int harness_raw_call(int sock, const DmabufBroker__V1__Request *req,
		     uint64_t *seq_out, int *fd)
{
	DmabufBroker__V1__ServerMessage *m;
	int r = harness_raw_send(sock, req, false);

	if (fd)
		*fd = -1;
	if (r == -ECONNRESET)
		return -EPIPE;
	if (r < 0)
		return r;
	r = harness_raw_response(sock, harness_timeout_ms(5000), &m, fd);
	if (r < 0)
		return r;
	r = m->response->status;
	if (seq_out)
		*seq_out = m->response->seq;
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

int harness_raw_request(int sock, DmabufBroker__V1__Request *req,
			DmabufBroker__V1__ServerMessage **out, int *fd)
{
	static uint64_t seq = 100;
	DmabufBroker__V1__ServerMessage *m = NULL;
	int r;

	req->seq = seq++;
	if (out)
		*out = NULL;
	if (fd)
		*fd = -1;
	r = harness_raw_send(sock, req, false);
	if (r == -ECONNRESET)
		return -EPIPE;
	if (r == 0)
		r = harness_raw_response(sock, harness_timeout_ms(10000), &m, fd);
	if (r < 0)
		return r;
	r = m->response->status;
	if (out)
		*out = m;
	else
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

int harness_raw_alloc(int sock, uint64_t size, const char *name,
		      DmabufBroker__V1__Lifetime lifetime, const char *backend,
		      DmabufBroker__V1__Grant *grant, uint64_t *id, int *fd)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m;
	int myfd, r;

	a.size = size;
	a.name = (char *)(name ? name : "");
	a.lifetime = lifetime;
	if (backend)
		a.backend = (char *)backend;
	if (grant) {
		a.n_grants = 1;
		a.grants = &grant;
	}
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ALLOC;
	req.alloc = &a;
	r = harness_raw_request(sock, &req, &m, &myfd);
	if (r == 0 && id)
		*id = m->response->buffer->id;
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	if (fd)
		*fd = myfd;
	else if (myfd >= 0)
		close(myfd);
	return r;
}

int harness_raw_publish(int sock, uint64_t id, const char *name)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__PublishRequest p = DMABUF_BROKER__V1__PUBLISH_REQUEST__INIT;

	p.id = id;
	p.name = (char *)name;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_PUBLISH;
	req.publish = &p;
	return harness_raw_request(sock, &req, NULL, NULL);
}

int harness_raw_grant_everyone(int sock, uint64_t id)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__GrantRequest gr = DMABUF_BROKER__V1__GRANT_REQUEST__INIT;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;

	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
	g.everyone = 1;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
	gr.id = id;
	gr.grant = &g;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_GRANT;
	req.grant = &gr;
	return harness_raw_request(sock, &req, NULL, NULL);
}

int harness_raw_destroy(int sock, uint64_t id)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__DestroyRequest d = DMABUF_BROKER__V1__DESTROY_REQUEST__INIT;

	d.id = id;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_DESTROY;
	req.destroy = &d;
	return harness_raw_request(sock, &req, NULL, NULL);
}

int harness_raw_info(int sock, const char *name, uint64_t id,
		     DmabufBroker__V1__ServerMessage **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__InfoRequest i = DMABUF_BROKER__V1__INFO_REQUEST__INIT;

	if (name) {
		i.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME;
		i.name = (char *)name;
	} else {
		i.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_ID;
		i.id = id;
	}
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_INFO;
	req.info = &i;
	return harness_raw_request(sock, &req, out, NULL);
}

int harness_raw_import_id(int sock, uint64_t id, bool read_only, int *fd)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__ImportRequest i = DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;

	i.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_ID;
	i.id = id;
	i.read_only = read_only;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_IMPORT;
	req.import = &i;
	return harness_raw_request(sock, &req, NULL, fd);
}

int harness_raw_stats(int sock, DmabufBroker__V1__ServerMessage **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__StatsRequest st = DMABUF_BROKER__V1__STATS_REQUEST__INIT;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_STATS;
	req.stats = &st;
	return harness_raw_request(sock, &req, out, NULL);
}

int harness_raw_hello(int sock, const char *name)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello hello = DMABUF_BROKER__V1__HELLO__INIT;

	hello.protocol_version = 1;
	hello.client_name = (char *)name;
	req.seq = 1;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &hello;
	return harness_raw_call(sock, &req, NULL, NULL);
}

int harness_raw_client(const char *path, const char *name)
{
	int s = harness_raw_connect(path);
	int r;

	if (s < 0)
		return s;
	r = harness_raw_hello(s, name);
	if (r < 0) {
		close(s);
		return r;
	}
	return s;
}

int harness_raw_wait_eof(int sock, int timeout_ms)
{
	int64_t end = harness_now_ms() + timeout_ms;

	for (;;) {
		int64_t left = end - harness_now_ms();
		struct pollfd p = { .fd = sock, .events = POLLIN };
		static uint8_t buf[DBB_WIRE_MAX_FRAME];
		int fds[DBB_WIRE_MAX_FDS];
		size_t nfds;
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = wire_recv(sock, buf, sizeof(buf), fds, DBB_WIRE_MAX_FDS,
			      &nfds, MSG_DONTWAIT);
		wire_close_fds(fds, nfds);
		if (n == 0 || n == -ECONNRESET)
			return 0;
	}
}

int harness_raw_request_fds(int sock, DmabufBroker__V1__Request *req,
			    DmabufBroker__V1__ServerMessage **out, int *fds,
			    size_t *nfds)
{
	static uint64_t seq = 1000000;
	DmabufBroker__V1__ServerMessage *m = NULL;
	int r;

	req->seq = seq++;
	*out = NULL;
	*nfds = 0;
	r = harness_raw_send(sock, req, false);
	if (r == -ECONNRESET)
		return -EPIPE;
	while (r == 0) {
		r = harness_raw_recv_fds(sock, harness_timeout_ms(10000), &m,
					 fds, nfds);
		if (r < 0)
			break;
		if (m->kind_case ==
		    DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE)
			break;
		wire_close_fds(fds, *nfds);
		*nfds = 0;
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
		m = NULL;
	}
	if (r < 0)
		return r;
	*out = m;
	return m->response->status;
}

/* Keeps the fds in @fds for the caller when it asked, else closes them;
 * frees @m unless the caller takes it. */
static int harness_raw_hand_back(int r, DmabufBroker__V1__ServerMessage *m,
				 DmabufBroker__V1__ServerMessage **out,
				 int *fds, size_t nfds, int *fds_out,
				 size_t *nfds_out)
{
	if (fds_out) {
		memcpy(fds_out, fds, nfds * sizeof(*fds));
		*nfds_out = nfds;
	} else {
		wire_close_fds(fds, nfds);
	}
	if (out)
		*out = m;
	else if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

int harness_raw_pool_alloc(int sock, uint32_t count, uint64_t size,
			   const char *name, DmabufBroker__V1__Lifetime lifetime,
			   DmabufBroker__V1__Grant *grant,
			   DmabufBroker__V1__ServerMessage **out, int *fds,
			   size_t *nfds)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__PoolAllocRequest pa =
		DMABUF_BROKER__V1__POOL_ALLOC_REQUEST__INIT;
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m;
	int got[DBB_WIRE_MAX_FDS];
	size_t ngot;
	int r;

	a.size = size;
	a.name = (char *)(name ? name : "");
	a.lifetime = lifetime;
	if (grant) {
		a.n_grants = 1;
		a.grants = &grant;
	}
	pa.count = count;
	pa.buffer = &a;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_ALLOC;
	req.pool_alloc = &pa;
	r = harness_raw_request_fds(sock, &req, &m, got, &ngot);
	return harness_raw_hand_back(r, m, out, got, ngot, fds, nfds);
}

int harness_raw_pool_open(int sock, uint64_t id, const char *name,
			  bool read_only, DmabufBroker__V1__ServerMessage **out,
			  int *fds, size_t *nfds)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__PoolOpenRequest po =
		DMABUF_BROKER__V1__POOL_OPEN_REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m;
	int got[DBB_WIRE_MAX_FDS];
	size_t ngot;
	int r;

	if (name) {
		po.target_case = DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_NAME;
		po.name = (char *)name;
	} else {
		po.target_case = DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_ID;
		po.id = id;
	}
	po.read_only = read_only;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_OPEN;
	req.pool_open = &po;
	r = harness_raw_request_fds(sock, &req, &m, got, &ngot);
	return harness_raw_hand_back(r, m, out, got, ngot, fds, nfds);
}

int harness_raw_queue_create(int sock, uint64_t pool_id, int policy,
			     uint32_t max_in_flight,
			     DmabufBroker__V1__ServerMessage **out, int *fds,
			     size_t *nfds)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__QueueCreateRequest qc =
		DMABUF_BROKER__V1__QUEUE_CREATE_REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m;
	int got[DBB_WIRE_MAX_FDS];
	size_t ngot;
	int r;

	qc.pool_id = pool_id;
	qc.policy = (DmabufBroker__V1__QueuePolicy)policy;
	qc.max_in_flight = max_in_flight;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_CREATE;
	req.queue_create = &qc;
	r = harness_raw_request_fds(sock, &req, &m, got, &ngot);
	return harness_raw_hand_back(r, m, out, got, ngot, fds, nfds);
}

int harness_raw_queue_attach(int sock, uint64_t pool_id, const char *name,
			     bool read_only,
			     DmabufBroker__V1__ServerMessage **out, int *fds,
			     size_t *nfds)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__QueueAttachRequest qa =
		DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__INIT;
	DmabufBroker__V1__ServerMessage *m;
	int got[DBB_WIRE_MAX_FDS];
	size_t ngot;
	int r;

	if (name) {
		qa.target_case = DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_NAME;
		qa.name = (char *)name;
	} else {
		qa.target_case =
			DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_POOL_ID;
		qa.pool_id = pool_id;
	}
	qa.read_only = read_only;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_ATTACH;
	req.queue_attach = &qa;
	r = harness_raw_request_fds(sock, &req, &m, got, &ngot);
	return harness_raw_hand_back(r, m, out, got, ngot, fds, nfds);
}

int harness_raw_queue_detach(int sock, uint64_t pool_id)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__QueueDetachRequest qd =
		DMABUF_BROKER__V1__QUEUE_DETACH_REQUEST__INIT;

	qd.pool_id = pool_id;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_DETACH;
	req.queue_detach = &qd;
	return harness_raw_request(sock, &req, NULL, NULL);
}

int harness_raw_pools(int sock, uint64_t after_id,
		      DmabufBroker__V1__ServerMessage **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__PoolsRequest pr = DMABUF_BROKER__V1__POOLS_REQUEST__INIT;

	pr.after_id = after_id;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOLS;
	req.pools = &pr;
	return harness_raw_request(sock, &req, out, NULL);
}

int harness_raw_release(int sock, uint64_t id)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__ReleaseRequest rel =
		DMABUF_BROKER__V1__RELEASE_REQUEST__INIT;

	rel.id = id;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_RELEASE;
	req.release = &rel;
	return harness_raw_request(sock, &req, NULL, NULL);
}

int harness_raw_grant(int sock, uint64_t id, DmabufBroker__V1__Grant *g)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__GrantRequest gr = DMABUF_BROKER__V1__GRANT_REQUEST__INIT;

	gr.id = id;
	gr.grant = g;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_GRANT;
	req.grant = &gr;
	return harness_raw_request(sock, &req, NULL, NULL);
}

int harness_raw_event(int sock, int timeout_ms,
		      DmabufBroker__V1__ServerMessage **out, int *fds,
		      size_t *nfds)
{
	int r = harness_raw_recv_fds(sock, timeout_ms, out, fds, nfds);

	if (r == 0 && (*out)->kind_case !=
	    DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT) {
		wire_close_fds(fds, *nfds);
		*nfds = 0;
		dmabuf_broker__v1__server_message__free_unpacked(*out, NULL);
		*out = NULL;
		return -EBADMSG;
	}
	return r;
}
