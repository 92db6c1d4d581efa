/* SPDX-License-Identifier: MIT */
/*
 * The crash-safety check of tests/systemd/cases/50-crash-safety.sh, run as
 * root in the systemd guest against the installed broker.
 *
 * One persistent buffer per available backend, named and granted to
 * nobody, mapped by this process with a pattern written; one
 * client-lifetime buffer.  Then, twice (SIGKILL of the MainPID, which
 * systemd restarts under Restart=on-failure; `systemctl restart`): the
 * broker is back under a new pid, every persistent buffer has its id,
 * name, backend, size and grant, the bytes this process's old mapping
 * writes are those a new Import reads and the other way round, nobody
 * may import it and uid 65533 may not, the owner's quota is charged
 * again, and the client-lifetime buffer is back in this process's session
 * when its resume token takes it back (or gone where the broker does not
 * resume connections).  Last, a new Alloc gets an id above every earlier
 * one.
 *
 * Prints TAP result lines without numbers (the case contract) and a table
 * of the buffers.  Exit status 0 when every result is ok.
 */
#include <errno.h>
#include <linux/dma-buf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

#define CHECK_MAX 8
#define CHECK_SIZE (1024u * 1024u)
#define CHECK_NOBODY 65534u
#define CHECK_STRANGER 65533u
#define CHECK_WAIT_MS 60000
#define CHECK_SERVICE "dmabuf-brokerd.service"

typedef DmabufBroker__V1__ServerMessage Msg;

struct check_buf {
	char backend[32];
	char name[64];
	uint64_t id;
	uint64_t size;
	bool is_dmabuf;
	int fd;			/* from the Alloc, kept across the restarts */
	uint8_t *map;
	uint32_t seed;
};

static const char *check_socket;
static unsigned check_failed;
/* The resume token of this process's connection; empty when the broker
 * does not resume. */
static uint8_t check_token[32];
static size_t check_token_len;

static void check_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	check_failed += !ok;
}

/* Sends @req; returns the status, the message in *@out (may be NULL) and
 * the fd in *@fd (may be NULL). */
static int check_call(int sock, DmabufBroker__V1__Request *req, Msg **out,
		      int *fd)
{
	static uint64_t seq = 10;
	Msg *m = NULL;
	int r;

	req->seq = seq++;
	if (fd)
		*fd = -1;
	r = harness_raw_send(sock, req, false);
	if (r == 0)
		r = harness_raw_response(sock, 30000, &m, fd);
	if (r < 0)
		return r;
	r = m->response->status;
	if (out)
		*out = m;
	else
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

/*
 * Connects and says Hello with the token of the last connection, if any:
 * the socket (the new token kept) or a negative errno; *@resumed tells
 * whether the broker took the session back.
 */
static int check_connect(bool *resumed)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__Hello h = DMABUF_BROKER__V1__HELLO__INIT;
	DmabufBroker__V1__HelloReply *hr;
	int sock = harness_raw_connect(check_socket);
	Msg *m = NULL;
	int r;

	if (sock < 0)
		return sock;
	h.protocol_version = 1;
	h.client_name = "crash-check";
	h.resume_token.data = check_token;
	h.resume_token.len = check_token_len;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	req.hello = &h;
	r = check_call(sock, &req, &m, NULL);
	if (r == 0) {
		hr = m->response->hello;
		*resumed = hr->resumed;
		check_token_len = hr->resume_token.len == sizeof(check_token) ?
				  sizeof(check_token) : 0;
		memcpy(check_token, hr->resume_token.data, check_token_len);
	}
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	if (r < 0) {
		close(sock);
		return r;
	}
	return sock;
}

/* The available backends that allocate, into @bufs; their count. */
static size_t check_backends(int sock, struct check_buf *bufs)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__BackendsRequest b =
		DMABUF_BROKER__V1__BACKENDS_REQUEST__INIT;
	Msg *m = NULL;
	size_t n = 0;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_BACKENDS;
	req.backends = &b;
	if (check_call(sock, &req, &m, NULL) < 0)
		return 0;
	for (size_t i = 0; i < m->response->backends->n_backends && n < CHECK_MAX;
	     i++) {
		DmabufBroker__V1__BackendInfo *bi = m->response->backends->backends[i];

		printf("# backend %-8s %s%s\n", bi->name,
		       bi->available ? "available" : "unavailable: ",
		       bi->available ? "" : bi->detail);
		if (!bi->available || !strcmp(bi->name, "adopted"))
			continue;
		snprintf(bufs[n].backend, sizeof(bufs[n].backend), "%s",
			 bi->name);
		bufs[n].is_dmabuf = bi->is_dmabuf;
		n++;
	}
	dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return n;
}

static int check_alloc(int sock, const char *backend, const char *name,
		       bool persistent, uint64_t *id, uint64_t *size, int *fd)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	DmabufBroker__V1__Grant *gp = &g;
	Msg *m = NULL;
	int r;

	a.size = CHECK_SIZE;
	a.name = (char *)(name ? name : "");
	a.backend = (char *)(backend ? backend : "");
	a.lifetime = persistent ? DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT :
				  DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT;
	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = CHECK_NOBODY;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
	a.n_grants = 1;
	a.grants = &gp;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ALLOC;
	req.alloc = &a;
	r = check_call(sock, &req, &m, fd);
	if (r == 0) {
		*id = m->response->buffer->id;
		if (size)
			*size = m->response->buffer->size;
	} else if (m) {
		printf("# alloc on %s: %s\n", backend ? backend : "(preferred)",
		       m->response->message);
	}
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

static int check_import(int sock, uint64_t id, int *fd)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__ImportRequest i = DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;

	i.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_ID;
	i.id = id;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_IMPORT;
	req.import = &i;
	return check_call(sock, &req, NULL, fd);
}

static int check_destroy(int sock, uint64_t id)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__DestroyRequest d = DMABUF_BROKER__V1__DESTROY_REQUEST__INIT;

	d.id = id;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_DESTROY;
	req.destroy = &d;
	return check_call(sock, &req, NULL, NULL);
}

/* Info by name: the message in *@out. */
static int check_info(int sock, const char *name, Msg **out)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__InfoRequest i = DMABUF_BROKER__V1__INFO_REQUEST__INIT;

	i.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME;
	i.name = (char *)name;
	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_INFO;
	req.info = &i;
	return check_call(sock, &req, out, NULL);
}

static int check_usage(int sock, uint64_t *bytes)
{
	DmabufBroker__V1__Request req = DMABUF_BROKER__V1__REQUEST__INIT;
	DmabufBroker__V1__StatsRequest st = DMABUF_BROKER__V1__STATS_REQUEST__INIT;
	Msg *m = NULL;
	int r;

	req.body_case = DMABUF_BROKER__V1__REQUEST__BODY_STATS;
	req.stats = &st;
	r = check_call(sock, &req, &m, NULL);
	if (r == 0)
		*bytes = m->response->stats->caller->bytes;
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return r;
}

/* CPU access brackets for dma-bufs; nothing for memfds. */
static void check_sync(const struct check_buf *b, int fd, bool end)
{
	struct dma_buf_sync s = {
		.flags = DMA_BUF_SYNC_RW | (end ? DMA_BUF_SYNC_END :
					    DMA_BUF_SYNC_START),
	};

	if (b->is_dmabuf)
		ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* The service's MainPID, 0 when it is not running. */
static pid_t check_main_pid(void)
{
	FILE *f = popen("systemctl show -P MainPID " CHECK_SERVICE, "r");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	pclose(f);
	return (pid_t)pid;
}

/* Waits until the broker runs under a pid other than @old and answers a
 * Hello (with the token): the connected socket, or a negative errno. */
static int check_reconnect(pid_t old, pid_t *now, bool *resumed)
{
	int64_t end = harness_now_ms() + CHECK_WAIT_MS;

	while (harness_now_ms() < end) {
		pid_t pid = check_main_pid();
		int sock;

		if (pid > 0 && pid != old) {
			sock = check_connect(resumed);
			if (sock >= 0) {
				*now = pid;
				return sock;
			}
		}
		usleep(100 * 1000);
	}
	return -ETIMEDOUT;
}

/* A child as @uid imports @id read-write: exits 0 when it may, 1 when
 * refused (EACCES, or ENOENT: a buffer is not shown to whom may not open
 * it), 2 otherwise (the reason printed). */
static int check_child_import(struct harness_ctx *ctx, void *arg)
{
	const uint64_t *a = arg;
	int sock, fd = -1, r;

	r = harness_drop_privileges((uid_t)a[1], (gid_t)a[1]);
	if (r < 0) {
		printf("# uid %u: cannot become it: %s\n", (unsigned)a[1],
		       strerror(-r));
		return 2;
	}
	sock = harness_raw_client(ctx->socket, "crash-check-peer");
	if (sock < 0) {
		printf("# uid %u: cannot connect: %s\n", (unsigned)a[1],
		       strerror(-sock));
		return 2;
	}
	r = check_import(sock, a[0], &fd);
	if (fd >= 0)
		close(fd);
	close(sock);
	if (r == 0)
		return 0;
	if (r == -EACCES || r == -ENOENT)
		return 1;
	printf("# uid %u: import: %s\n", (unsigned)a[1], strerror(-r));
	return 2;
}

static int check_as(uint64_t id, uint32_t uid)
{
	uint64_t arg[2] = { id, uid };
	struct harness_child c;

	if (harness_child_start(&c, check_socket, check_child_import, arg) < 0)
		return -1;
	return harness_child_wait(&c, CHECK_WAIT_MS);
}

/* Everything one buffer must still be after @phase. */
static void check_buffer(int sock, struct check_buf *b, const char *phase)
{
	Msg *m = NULL;
	int fd = -1, r = check_info(sock, b->name, &m);
	DmabufBroker__V1__BufferInfo *bi = r == 0 ? m->response->buffer : NULL;
	bool granted = false;
	uint8_t *map = MAP_FAILED;
	long bad_new = 0, bad_old = 0;
	int may, may_not;

	for (size_t i = 0; bi && i < bi->n_grants; i++)
		granted |= bi->grants[i]->subject_case ==
			   DMABUF_BROKER__V1__GRANT__SUBJECT_UID &&
			   bi->grants[i]->uid == CHECK_NOBODY;
	check_result(bi && bi->id == b->id && !strcmp(bi->backend, b->backend) &&
		     bi->size == b->size && bi->lifetime ==
		     DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT,
		     "%s: %s: %s is back as id %llu, %llu bytes", phase,
		     b->backend, b->name, (unsigned long long)b->id,
		     (unsigned long long)b->size);
	check_result(granted, "%s: %s: its grant to uid %u is there", phase,
		     b->backend, CHECK_NOBODY);
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	r = check_import(sock, b->id, &fd);
	if (r == 0)
		map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0);
	if (map != MAP_FAILED) {
		check_sync(b, fd, false);
		bad_new = harness_check(map, b->size, b->seed);
		b->seed++;
		harness_fill(b->map, b->size, b->seed);
		bad_old = harness_check(map, b->size, b->seed);
		check_sync(b, fd, true);
		munmap(map, b->size);
	}
	check_result(r == 0 && map != MAP_FAILED && bad_new < 0 && bad_old < 0,
		     "%s: %s: a new import maps the memory this client kept "
		     "mapped (import %d, bytes %s)", phase, b->backend, r,
		     bad_new < 0 && bad_old < 0 ? "equal" : "differ");
	if (fd >= 0)
		close(fd);
	may = check_as(b->id, CHECK_NOBODY);
	may_not = check_as(b->id, CHECK_STRANGER);
	check_result(may == 0 && may_not == 1,
		     "%s: %s: uid %u may import it, uid %u may not (children "
		     "exited %d, %d)", phase, b->backend, CHECK_NOBODY,
		     CHECK_STRANGER, may, may_not);
}

/*
 * The client-lifetime buffer @id of @size bytes after a restart: back in
 * this session when the broker resumed it (its connection could resume),
 * else gone.  Returns the bytes it is charged.
 */
static uint64_t check_client_buffer(int sock, uint64_t id, uint64_t size,
				    bool could_resume, bool resumed,
				    const char *phase)
{
	Msg *m = NULL;
	int r = check_info(sock, "crash/client", &m);

	if (could_resume) {
		check_result(resumed && r == 0 && m->response->buffer->id == id,
			     "%s: the resume token takes back the "
			     "client-lifetime buffer %llu", phase,
			     (unsigned long long)id);
	} else {
		check_result(r == -ENOENT, "%s: the client-lifetime buffer %llu "
			     "is gone (connections do not resume here)", phase,
			     (unsigned long long)id);
	}
	if (m)
		dmabuf_broker__v1__server_message__free_unpacked(m, NULL);
	return could_resume ? size : 0;
}

static void check_phase(struct check_buf *bufs, size_t n, uint64_t client_id,
			uint64_t client_size, const char *phase, pid_t old,
			int *sock)
{
	uint64_t bytes = 0, want = 0;
	bool could_resume = check_token_len > 0, resumed = false;
	pid_t now = 0;
	int r;

	close(*sock);
	*sock = check_reconnect(old, &now, &resumed);
	check_result(*sock >= 0, "%s: the broker is back (pid %d, was %d)",
		     phase, (int)now, (int)old);
	if (*sock < 0)
		return;
	want = check_client_buffer(*sock, client_id, client_size,
				   could_resume, resumed, phase);
	for (size_t i = 0; i < n; i++) {
		check_buffer(*sock, &bufs[i], phase);
		want += bufs[i].size;
	}
	r = check_usage(*sock, &bytes);
	check_result(r == 0 && bytes == want,
		     "%s: quota charges the owner %llu bytes again (%llu)",
		     phase, (unsigned long long)want, (unsigned long long)bytes);
}

int main(void)
{
	struct check_buf bufs[CHECK_MAX] = { 0 };
	uint64_t client_id = 0, client_size = 0, fresh = 0, top;
	bool resumed;
	int r;
	size_t n;
	int sock;
	pid_t pid;

	check_socket = getenv("BROKER_SOCKET");
	if (!check_socket || !*check_socket)
		check_socket = "/run/dmabuf-broker/socket";
	setvbuf(stdout, NULL, _IOLBF, 0);
	sock = check_connect(&resumed);
	if (sock < 0) {
		printf("not ok - cannot reach the broker: %s\n", strerror(-sock));
		return 1;
	}
	n = check_backends(sock, bufs);
	printf("# %-8s %-18s %6s %9s\n", "backend", "name", "id", "bytes");
	for (size_t i = 0; i < n; i++) {
		struct check_buf *b = &bufs[i];

		snprintf(b->name, sizeof(b->name), "crash/%s", b->backend);
		b->seed = (uint32_t)(i + 1) * 1000;
		r = check_alloc(sock, b->backend, b->name, true, &b->id,
				&b->size, &b->fd);
		if (r == 0)
			b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE,
				      MAP_SHARED, b->fd, 0);
		check_result(r == 0 && b->map != MAP_FAILED,
			     "%s: persistent buffer allocated and mapped",
			     b->backend);
		if (r < 0 || b->map == MAP_FAILED)
			return 1;
		check_sync(b, b->fd, false);
		harness_fill(b->map, b->size, b->seed);
		check_sync(b, b->fd, true);
		printf("# %-8s %-18s %6llu %9llu\n", b->backend, b->name,
		       (unsigned long long)b->id, (unsigned long long)b->size);
	}
	r = check_alloc(sock, NULL, "crash/client", false, &client_id,
			&client_size, NULL);
	check_result(r == 0, "client-lifetime buffer allocated (id %llu)%s",
		     (unsigned long long)client_id, check_token_len ?
		     ", its connection can resume" : "");

	pid = check_main_pid();
	check_result(pid > 0 && kill(pid, SIGKILL) == 0,
		     "kill -9 of the broker (pid %d)", (int)pid);
	check_phase(bufs, n, client_id, client_size, "after kill -9", pid,
		    &sock);

	pid = check_main_pid();
	check_result(system("systemctl restart " CHECK_SERVICE) == 0,
		     "systemctl restart");
	check_phase(bufs, n, client_id, client_size, "after systemctl restart",
		    pid, &sock);

	top = client_id;
	for (size_t i = 0; i < n; i++)
		top = bufs[i].id > top ? bufs[i].id : top;
	if (sock >= 0) {
		r = check_alloc(sock, NULL, NULL, false, &fresh, NULL, NULL);
		check_result(r == 0 && fresh > top,
			     "a new buffer gets a fresh id (%llu > %llu)",
			     (unsigned long long)fresh, (unsigned long long)top);
		for (size_t i = 0; i < n; i++)
			check_destroy(sock, bufs[i].id);
		check_destroy(sock, client_id);
		check_destroy(sock, fresh);
		close(sock);
	}
	for (size_t i = 0; i < n; i++) {
		munmap(bufs[i].map, bufs[i].size);
		close(bufs[i].fd);
	}
	return check_failed ? 1 : 0;
}
