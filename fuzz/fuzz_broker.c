/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the broker's request decoding and dispatch.
 *
 * Each input runs a whole broker server (server.c) on a fresh event base:
 * the config a real file gives (BROKER_CONF below, read by config_load),
 * the memfd backend, a registry, the worker thread, the quota keeper, the
 * resumable sessions and the fd store (off, as outside systemd), listening
 * on a socket in a private directory.  The input's records (fuzz_util.h)
 * are sent as datagrams over up to two connections, each with the fds its
 * control byte asks for; after each one the loop runs until the broker has
 * read it, so that every input replays the same way.  Replies are read
 * and must decode as ServerMessages with at most one fd.
 *
 * Control byte bits 4-7: bit 4 picks connection 0 or 1; bit 5 closes that
 * connection first and connects again (a new client, which may try a
 * resume).  Bits 6-7 are unused.
 *
 * After the input every connection is closed, the loop runs until the
 * server has freed every client, and the server is torn down: no fd may
 * stay open (fuzz_check_fds), no memory unfreed (LeakSanitizer).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "backends/backend.h"
#include "config.h"
#include "dmabuf_broker.pb-c.h"
#include "fuzz_util.h"
#include "log.h"
#include "persist.h"
#include "server.h"
#include "wire.h"

#define FUZZ_NCONNS 2
/* How long the broker may take over one frame before the target calls it
 * stuck: far beyond what the smallish buffers this config allows need. */
#define FUZZ_STUCK_SEC 30

/* Small limits, so that inputs reach them: a few buffers of at most 1M. */
static const char BROKER_CONF[] =
	"[broker]\n"
	"backends = memfd\n"
	"resume_grace_ms = 10000\n"
	"[limits]\n"
	"max_clients = 4\n"
	"max_buffer_size = 1M\n"
	"max_holds_per_client = 8\n"
	"hello_timeout = 0\n"
	"max_detached_per_uid = 1\n"
	"[quota]\n"
	"bytes = 4M\n"
	"buffers = 6\n";

static struct config fuzz_cfg;
static struct backend_set fuzz_backends;
static char fuzz_sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char fuzz_conf_path[4096];
/* FUZZ_DUMP=1: each reply's seq, status and message, for checking that
 * a seed reaches the handlers it means to. */
static bool fuzz_dump;

struct fuzz_broker {
	struct event_base *base;
	struct server srv;
	struct persist *persist;
	struct event *ev_stuck;
	int conns[FUZZ_NCONNS];		/* our ends; -1: not connected */
};

static void fuzz_cleanup(void)
{
	backend_set_close(&fuzz_backends);
	config_fini(&fuzz_cfg);
	unlink(fuzz_conf_path);
	unlink(fuzz_sock_path);
	rmdir(fuzz_tmpdir());
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CONFIG_ERR_MAX];
	FILE *f;

	/* Never under systemd: no fd store, no socket activation. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	signal(SIGPIPE, SIG_IGN);
	log_init(false);
	snprintf(fuzz_conf_path, sizeof(fuzz_conf_path), "%s/broker.conf",
		 fuzz_tmpdir());
	snprintf(fuzz_sock_path, sizeof(fuzz_sock_path), "%s/socket",
		 fuzz_tmpdir());
	fuzz_report_init();
	fuzz_dump = getenv("FUZZ_DUMP") != NULL;
	f = fopen(fuzz_conf_path, "w");
	if (!f || fputs(BROKER_CONF, f) < 0 || fclose(f) != 0)
		fuzz_fail("writing the config: %m");
	err[0] = '\0';
	if (config_init(&fuzz_cfg) < 0 ||
	    config_load(&fuzz_cfg, fuzz_conf_path, err, sizeof(err)) < 0 ||
	    config_set_socket(&fuzz_cfg, fuzz_sock_path) < 0)
		fuzz_fail("config: %s", err);
	if (backend_set_probe(&fuzz_backends, &fuzz_cfg) < 0)
		fuzz_fail("the memfd backend is unavailable");
	atexit(fuzz_cleanup);
	return 0;
}

static void fuzz_on_stuck(evutil_socket_t fd, short what, void *arg)
{
	fuzz_fail("the broker did not read a frame, or free a client, "
		  "within %d s", FUZZ_STUCK_SEC);
}


static void fuzz_dump_reply(int sock,
			    const DmabufBroker__V1__ServerMessage *msg,
			    size_t nfds)
{
	const DmabufBroker__V1__Response *r = msg->response;

	if (msg->kind_case != DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE) {
		fuzz_report("socket %d: event %d", sock, (int)msg->event->type);
		return;
	}
	fuzz_report("socket %d: seq %llu status %d body %d fds %zu %s", sock,
		    (unsigned long long)r->seq, (int)r->status,
		    (int)r->body_case, nfds, r->message ? r->message : "");
}

/*
 * Whether @msg carries the fds its kind says (docs/protocol.md): none with
 * an error; a buffer's one; a pool's none (Info), one per member, plus the
 * channel of an attach (consumer_slot is not telling: slot 0 is a slot),
 * or the one stats page of a QueueCreate reply; an event at most one.
 */
static bool fuzz_fds_expected(const DmabufBroker__V1__ServerMessage *msg,
			      size_t nfds)
{
	const DmabufBroker__V1__Response *r = msg->response;

	if (msg->kind_case != DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE)
		return nfds <= 1;
	if (r->status < 0)
		return nfds == 0;
	if (r->body_case == DMABUF_BROKER__V1__RESPONSE__BODY_POOL)
		return nfds <= 1 || nfds == r->pool->count ||
		       nfds == r->pool->count + 1;
	return nfds <= 1;
}

/* Everything the broker sent on @sock: each frame must decode and carry
 * the fds its kind says.  Returns false once the broker closed it. */
static bool fuzz_drain(int sock)
{
	static uint8_t buf[DBB_WIRE_MAX_FRAME];
	DmabufBroker__V1__ServerMessage *msg;
	int fds[DBB_WIRE_MAX_FDS];
	size_t nfds;
	ssize_t n;

	for (;;) {
		n = wire_recv(sock, buf, sizeof(buf), fds, DBB_WIRE_MAX_FDS,
			      &nfds, MSG_DONTWAIT);
		if (n == -EAGAIN)
			return true;
		if (n == 0 || n == -ECONNRESET)
			return false;
		if (n < 0)
			fuzz_fail("reading a reply: %s", strerror((int)-n));
		msg = dmabuf_broker__v1__server_message__unpack(NULL, (size_t)n,
								buf);
		if (!msg || !fuzz_fds_expected(msg, nfds))
			fuzz_fail("the broker sent a bad frame (%zd bytes, "
				  "%zu fds)", n, nfds);
		if (fuzz_dump)
			fuzz_dump_reply(sock, msg, nfds);
		dmabuf_broker__v1__server_message__free_unpacked(msg, NULL);
		wire_close_fds(fds, nfds);
	}
}

static void fuzz_drain_all(struct fuzz_broker *fb)
{
	for (int i = 0; i < FUZZ_NCONNS; i++) {
		if (fb->conns[i] >= 0 && !fuzz_drain(fb->conns[i])) {
			close(fb->conns[i]);
			fb->conns[i] = -1;
		}
	}
}

/* Bytes sent on @sock that the broker has not read yet. */
static int fuzz_unread(int sock)
{
	int n = 0;

	if (ioctl(sock, SIOCOUTQ, &n) < 0)
		fuzz_fail("SIOCOUTQ: %m");
	return n;
}

/* Runs the loop, reading replies, until the broker has read everything
 * sent on connection @i (or closed it). */
static void fuzz_pump(struct fuzz_broker *fb, int i)
{
	struct timeval tv = { FUZZ_STUCK_SEC, 0 };

	evtimer_add(fb->ev_stuck, &tv);
	fuzz_drain_all(fb);
	while (fb->conns[i] >= 0 && fuzz_unread(fb->conns[i]) > 0) {
		event_base_loop(fb->base, EVLOOP_ONCE);
		fuzz_drain_all(fb);
	}
	evtimer_del(fb->ev_stuck);
}

static void fuzz_connect(struct fuzz_broker *fb, int i)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
			  0);

	strcpy(addr.sun_path, fuzz_sock_path);
	if (sock < 0 ||
	    connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fuzz_fail("connecting to the broker: %m");
	fb->conns[i] = sock;
}

static void fuzz_send(struct fuzz_broker *fb, const struct fuzz_record *rec)
{
	int i = (rec->ctl >> 4) & 1;
	size_t nfds = fuzz_record_nfds(rec);
	int fds[FUZZ_MAX_FDS];
	int ret;

	if ((rec->ctl & 0x20) && fb->conns[i] >= 0) {
		close(fb->conns[i]);
		fb->conns[i] = -1;
	}
	if (fb->conns[i] < 0)
		fuzz_connect(fb, i);
	fuzz_open_fds(fuzz_record_fd_kind(rec), fds, nfds);
	for (;;) {
		ret = wire_send(fb->conns[i], rec->data, rec->len, fds, nfds,
				MSG_DONTWAIT);
		if (ret != -EAGAIN)
			break;
		fuzz_pump(fb, i);
		if (fb->conns[i] < 0)
			break;
	}
	fuzz_close_fds(fds, nfds);
	/* A broker that disconnected us first is fine; nothing else is. */
	if (ret < 0 && ret != -EPIPE && ret != -ECONNRESET && ret != -EAGAIN)
		fuzz_fail("sending a frame: %s", strerror(-ret));
	fuzz_pump(fb, i);
}

static void fuzz_start(struct fuzz_broker *fb)
{
	memset(fb, 0, sizeof(*fb));
	for (int i = 0; i < FUZZ_NCONNS; i++)
		fb->conns[i] = -1;
	fb->base = event_base_new();
	if (!fb->base ||
	    server_init(&fb->srv, fb->base, &fuzz_cfg, &fuzz_backends) < 0 ||
	    !(fb->persist = persist_create(&fb->srv.broker)))
		fuzz_fail("cannot set up the server");
	fb->srv.broker.persist = fb->persist;
	fb->ev_stuck = evtimer_new(fb->base, fuzz_on_stuck, NULL);
	if (!fb->ev_stuck || server_listen(&fb->srv) < 0 ||
	    persist_start(fb->persist) < 0)
		fuzz_fail("cannot start the server");
}

/* Closes our ends, waits until the server freed every client, and tears
 * it down as main.c does. */
static void fuzz_stop(struct fuzz_broker *fb)
{
	struct timeval tv = { FUZZ_STUCK_SEC, 0 };

	for (int i = 0; i < FUZZ_NCONNS; i++) {
		if (fb->conns[i] >= 0)
			close(fb->conns[i]);
	}
	evtimer_add(fb->ev_stuck, &tv);
	while (fb->srv.clients)
		event_base_loop(fb->base, EVLOOP_ONCE);
	event_free(fb->ev_stuck);
	persist_stop(fb->persist);
	server_fini(&fb->srv);
	persist_destroy(fb->persist);
	event_base_free(fb->base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds_before = fuzz_count_fds();
	struct fuzz_record rec;
	struct fuzz_broker fb;

	fuzz_start(&fb);
	while (fuzz_next_record(&data, &size, &rec))
		fuzz_send(&fb, &rec);
	fuzz_stop(&fb);
	fuzz_check_fds(fds_before, "broker");
	return 0;
}
