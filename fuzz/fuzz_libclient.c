/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the client library's decoding of what the broker
 * sends (ServerMessage replies and events, with or without fds).
 *
 * A fake broker on a thread of this process listens on a socket in a
 * private directory, and for each input a real struct dbb_client connects
 * to it.  The input is a sequence of records (fuzz_util.h):
 *
 *   - the first answers the Hello (whose seq is 1): when its control bit 7
 *     is set, its bytes and fds are the reply as they are; else the fake
 *     broker sends a valid HelloReply naming every feature, with a resume
 *     token when control bit 6 is set.
 *   - each later record is a datagram the fake broker sends with the fds
 *     its control byte asks for, and a library call the main thread makes,
 *     chosen by control bits 4-7 (enum fuzz_call).
 *
 * The fake broker sends every datagram at once, then shuts its sending
 * side; the calls read them in turn, each until its own reply (seq 2 for
 * the first call, then 3, ...), the end of the stream, or a protocol
 * error.  What the calls return is read in full (ASan checks every
 * pointer) and freed; buffers only after the client is destroyed, as a
 * program may.  No fd may stay open after an input (the fake broker's end
 * included), no memory unfreed.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dmabuf-broker.h"
#include "dmabuf_broker.pb-c.h"
#include "fuzz_util.h"
#include "wire.h"

/* The most records an input may have: more are ignored. */
#define FUZZ_MAX_RECORDS 64
#define FUZZ_MAX_BUFFERS FUZZ_MAX_RECORDS
/* Every frame is queued before the calls read them: a generous bound on
 * the wait for one, never reached unless the library is stuck. */
#define FUZZ_TIMEOUT_MS 20000

enum fuzz_call {
	FUZZ_CALL_INFO_BY_ID,
	FUZZ_CALL_INFO_BY_NAME,
	FUZZ_CALL_LIST,
	FUZZ_CALL_STATS,
	FUZZ_CALL_BACKENDS,
	FUZZ_CALL_ALLOC,
	FUZZ_CALL_ALLOC_IMAGE,
	FUZZ_CALL_OPEN_BY_ID,
	FUZZ_CALL_OPEN_BY_NAME,
	FUZZ_CALL_PIN,
	FUZZ_CALL_REGISTER_FD,
	FUZZ_CALL_GRANT,
	FUZZ_CALL_SET_NAME,
	FUZZ_CALL_REMOVE,
	FUZZ_CALL_WATCH,
	FUZZ_CALL_DISPATCH,
};

static const char *const fuzz_features[] = {
	"alloc-format", "contiguous", "read-only", "pin", "adopt", "resume",
};

/* What the main thread hands the fake broker for one input. */
static struct {
	struct fuzz_record recs[FUZZ_MAX_RECORDS];
	size_t n;
} fuzz_job;

/* Where what was read goes, so that the reads are not optimized out. */
static volatile size_t fuzz_sink;
static char fuzz_sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int fuzz_listen_fd = -1;
static sem_t fuzz_go, fuzz_done;

static void fuzz_send(int sock, const uint8_t *data, size_t len,
		      enum fuzz_fd_kind kind, size_t nfds)
{
	int fds[FUZZ_MAX_FDS];
	int ret;

	fuzz_open_fds(kind, fds, nfds);
	/* Blocking: the library reads as the calls go. */
	ret = wire_send(sock, data, len, fds, nfds, 0);
	fuzz_close_fds(fds, nfds);
	if (ret < 0 && ret != -EPIPE && ret != -ECONNRESET)
		fuzz_fail("fake broker: send: %s", strerror(-ret));
}

/* The valid reply to the Hello request in @buf. */
static void fuzz_hello_reply(int sock, const uint8_t *buf, size_t len,
			     bool token)
{
	static const uint8_t token_bytes[16] = "fuzz-token-0123";
	DmabufBroker__V1__Request *req;
	DmabufBroker__V1__ServerMessage msg = DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	DmabufBroker__V1__Response resp = DMABUF_BROKER__V1__RESPONSE__INIT;
	DmabufBroker__V1__HelloReply hello = DMABUF_BROKER__V1__HELLO_REPLY__INIT;
	uint8_t out[1024];
	ssize_t n;

	req = dmabuf_broker__v1__request__unpack(NULL, len, buf);
	if (!req || req->body_case != DMABUF_BROKER__V1__REQUEST__BODY_HELLO)
		fuzz_fail("the library's first request is not a Hello");
	hello.protocol_version = 1;
	hello.server_version = "fuzz";
	hello.client_id = 7;
	hello.max_frame = DBB_WIRE_MAX_FRAME;
	hello.features = (char **)fuzz_features;
	hello.n_features = sizeof(fuzz_features) / sizeof(fuzz_features[0]);
	if (token) {
		hello.resume_token.data = (uint8_t *)token_bytes;
		hello.resume_token.len = sizeof(token_bytes);
		hello.resume_grace_ms = 1000;
	}
	resp.seq = req->seq;
	resp.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_HELLO;
	resp.hello = &hello;
	msg.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE;
	msg.response = &resp;
	dmabuf_broker__v1__request__free_unpacked(req, NULL);
	n = wire_pack(&msg.base, out, sizeof(out));
	if (n < 0)
		fuzz_fail("the HelloReply does not fit");
	fuzz_send(sock, out, (size_t)n, FUZZ_FD_MEMFD_EMPTY, 0);
}

/* Reads one request (closing its fds); its length, 0 at the end. */
static ssize_t fuzz_recv(int sock, uint8_t *buf, size_t cap)
{
	int fds[DBB_WIRE_MAX_FDS];
	size_t nfds;
	ssize_t n = wire_recv(sock, buf, cap, fds, DBB_WIRE_MAX_FDS, &nfds, 0);

	if (n > 0)
		wire_close_fds(fds, nfds);
	return n == -ECONNRESET ? 0 : n;
}

/* One connection: the Hello, the input's frames, then whatever the
 * library sends until it closes. */
static void fuzz_serve(int sock)
{
	static uint8_t buf[DBB_WIRE_MAX_FRAME];
	const struct fuzz_record *hello = &fuzz_job.recs[0];
	ssize_t n = fuzz_recv(sock, buf, sizeof(buf));

	if (n < 0)
		fuzz_fail("fake broker: reading the Hello: %s",
			  strerror((int)-n));
	if (n == 0)
		return;
	if (hello->ctl & 0x80)
		fuzz_send(sock, hello->data, hello->len,
			  fuzz_record_fd_kind(hello), fuzz_record_nfds(hello));
	else
		fuzz_hello_reply(sock, buf, (size_t)n, hello->ctl & 0x40);
	for (size_t i = 1; i < fuzz_job.n; i++) {
		const struct fuzz_record *r = &fuzz_job.recs[i];

		fuzz_send(sock, r->data, r->len, fuzz_record_fd_kind(r),
			  fuzz_record_nfds(r));
	}
	shutdown(sock, SHUT_WR);
	while (fuzz_recv(sock, buf, sizeof(buf)) > 0)
		;
}

static void *fuzz_broker_thread(void *arg)
{
	for (;;) {
		int sock;

		while (sem_wait(&fuzz_go) < 0)
			;
		sock = accept4(fuzz_listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (sock < 0)
			fuzz_fail("fake broker: accept: %m");
		fuzz_serve(sock);
		close(sock);
		sem_post(&fuzz_done);
	}
	return NULL;
}

static void fuzz_cleanup(void)
{
	unlink(fuzz_sock_path);
	rmdir(fuzz_tmpdir());
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	pthread_t thread;

	fuzz_report_init();
	signal(SIGPIPE, SIG_IGN);
	snprintf(fuzz_sock_path, sizeof(fuzz_sock_path), "%s/socket",
		 fuzz_tmpdir());
	strcpy(addr.sun_path, fuzz_sock_path);
	fuzz_listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fuzz_listen_fd < 0 ||
	    bind(fuzz_listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fuzz_listen_fd, 1) < 0)
		fuzz_fail("fake broker: listen: %m");
	if (sem_init(&fuzz_go, 0, 0) < 0 || sem_init(&fuzz_done, 0, 0) < 0 ||
	    pthread_create(&thread, NULL, fuzz_broker_thread, NULL) != 0)
		fuzz_fail("fake broker: thread: %m");
	atexit(fuzz_cleanup);
	return 0;
}

/* Reads every field of @info, so that ASan sees a bad pointer. */
static size_t fuzz_touch_info(const struct dbb_buffer_info *info)
{
	size_t sum;

	if (!info)
		return 0;
	sum = strlen(info->name) + strlen(info->backend) +
	      strlen(info->owner_name);
	if (info->layout) {
		for (uint32_t i = 0; i < info->layout->n_planes; i++)
			sum += info->layout->planes[i].stride;
	}
	for (size_t i = 0; i < info->n_holders; i++)
		sum += strlen(dbb_buffer_info_get_holder(info, i)->client_name);
	for (size_t i = 0; i < info->n_grants; i++)
		sum += dbb_buffer_info_get_grant(info, i)->id;
	return sum;
}

static void fuzz_on_event(struct dbb_client *client, enum dbb_event_type type,
			  const struct dbb_buffer_info *info, void *userdata)
{
	*(size_t *)userdata += fuzz_touch_info(info);
}

/* What the calls of one input got back. */
struct fuzz_results {
	struct dbb_buffer *buffers[FUZZ_MAX_BUFFERS];
	size_t nbuffers;
	size_t sum;		/* of what was read: keeps the reads */
};

static void fuzz_keep_buffer(struct fuzz_results *res, int ret,
			     struct dbb_buffer *b)
{
	if (ret < 0)
		return;
	res->sum += fuzz_touch_info(dbb_buffer_get_info(b)) +
		    (size_t)dbb_buffer_get_fd(b);
	res->buffers[res->nbuffers++] = b;
}

static void fuzz_call(struct dbb_client *client, enum fuzz_call call,
		      struct fuzz_results *res)
{
	static const struct dbb_event_listener listener = {
		.struct_size = sizeof(listener),
		.buffer_event = fuzz_on_event,
	};
	struct dbb_alloc_params ap = {
		.struct_size = sizeof(ap), .size = 4096, .name = "fuzz",
	};
	struct dbb_stats stats = { .struct_size = sizeof(stats) };
	struct dbb_buffer_info *info = NULL;
	struct dbb_buffer_list *list = NULL;
	struct dbb_backend_list *backends = NULL;
	struct dbb_buffer *b = NULL;
	int fd, ret;

	switch (call) {
	case FUZZ_CALL_INFO_BY_ID:
	case FUZZ_CALL_INFO_BY_NAME:
		ret = call == FUZZ_CALL_INFO_BY_ID ?
		      dbb_info_by_id(client, 1, &info) :
		      dbb_info_by_name(client, "fuzz", &info);
		if (ret == 0)
			res->sum += fuzz_touch_info(info);
		dbb_buffer_info_free(info);
		break;
	case FUZZ_CALL_LIST:
		if (dbb_list(client, &list) == 0) {
			for (size_t i = 0; i < dbb_buffer_list_count(list); i++)
				res->sum += fuzz_touch_info(dbb_buffer_list_get(list, i));
		}
		dbb_buffer_list_free(list);
		break;
	case FUZZ_CALL_STATS:
		if (dbb_stats(client, &stats) == 0)
			res->sum += stats.buffers;
		break;
	case FUZZ_CALL_BACKENDS:
		if (dbb_backends(client, &backends) == 0) {
			for (size_t i = 0; i < dbb_backend_list_count(backends); i++) {
				const struct dbb_backend *be =
					dbb_backend_list_get(backends, i);

				res->sum += strlen(be->name) + strlen(be->detail);
				for (size_t j = 0; j < be->n_formats; j++)
					res->sum += be->formats[j];
			}
		}
		dbb_backend_list_free(backends);
		break;
	case FUZZ_CALL_ALLOC:
		fuzz_keep_buffer(res, dbb_alloc(client, &ap, &b), b);
		break;
	case FUZZ_CALL_ALLOC_IMAGE:
		ap.size = 0;
		ap.fourcc = 0x34325258;	/* XR24 */
		ap.width = 64;
		ap.height = 64;
		fuzz_keep_buffer(res, dbb_alloc(client, &ap, &b), b);
		break;
	case FUZZ_CALL_OPEN_BY_ID:
		fuzz_keep_buffer(res, dbb_open_by_id(client, 1, false, &b), b);
		break;
	case FUZZ_CALL_OPEN_BY_NAME:
		fuzz_keep_buffer(res, dbb_open_by_name(client, "fuzz", true, &b),
				 b);
		break;
	case FUZZ_CALL_PIN:
	case FUZZ_CALL_REGISTER_FD:
		fuzz_open_fds(FUZZ_FD_MEMFD_SEALED, &fd, 1);
		ret = call == FUZZ_CALL_PIN ?
		      dbb_pin_memfd(client, fd, 0, 4096, &ap, &b) :
		      dbb_register_fd(client, fd, &ap, &b);
		close(fd);
		fuzz_keep_buffer(res, ret, b);
		break;
	case FUZZ_CALL_GRANT:
		dbb_grant(client, 1, DBB_GRANT_UID, 1000, DBB_ACCESS_READ);
		break;
	case FUZZ_CALL_SET_NAME:
		dbb_set_name(client, 1, "fuzz");
		break;
	case FUZZ_CALL_REMOVE:
		dbb_remove(client, 1);
		break;
	case FUZZ_CALL_WATCH:
		dbb_client_set_listener(client, &listener, &res->sum);
		dbb_watch(client, true);
		break;
	case FUZZ_CALL_DISPATCH:
		dbb_client_set_listener(client, &listener, &res->sum);
		dbb_client_dispatch(client);
		res->sum += dbb_client_pending_events(client);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbb_connect_params params = {
		.struct_size = sizeof(params),
		.flags = DBB_CONNECT_NO_RECONNECT,
		.timeout_ms = FUZZ_TIMEOUT_MS,
		.socket_path = fuzz_sock_path,
		.client_name = "fuzz",
	};
	int fds_before = fuzz_count_fds();
	struct fuzz_results res = { .nbuffers = 0 };
	struct dbb_client *client = NULL;

	fuzz_job.n = 0;
	while (fuzz_job.n < FUZZ_MAX_RECORDS &&
	       fuzz_next_record(&data, &size, &fuzz_job.recs[fuzz_job.n]))
		fuzz_job.n++;
	if (fuzz_job.n == 0)
		return -1;	/* not even a Hello's answer: not kept */
	sem_post(&fuzz_go);
	if (dbb_client_connect_with(&params, &client) == 0) {
		for (size_t i = 1; i < fuzz_job.n; i++)
			fuzz_call(client, (enum fuzz_call)(fuzz_job.recs[i].ctl >> 4),
				  &res);
		dbb_client_destroy(client);
	}
	for (size_t i = 0; i < res.nbuffers; i++)
		dbb_buffer_free(res.buffers[i]);
	while (sem_wait(&fuzz_done) < 0)
		;
	fuzz_check_fds(fds_before, "libclient");
	fuzz_sink = res.sum;
	return 0;
}
