/* SPDX-License-Identifier: MIT */
/*
 * Integration test harness: starts a real dmabuf-brokerd on a private socket
 * with a private config in its own temp dir, waits for READY=1 on its own
 * NOTIFY_SOCKET, stops it with SIGTERM and reports how it exited.  Also:
 * the daemon's open fds and RSS, forked client processes that report
 * through their exit status, and raw protocol helpers for tests that must
 * send what the library would not.
 *
 * Environment:
 *   DBB_BROKERD         the daemon (default: the build tree's)
 *   DBB_DAEMON_WRAPPER  command prefix split on spaces (e.g. valgrind ...)
 *   DBB_TEST_SCALE      percent of the full iteration counts (default 100,
 *                       25 when DBB_DAEMON_WRAPPER is set)
 *   DBB_TEST_BACKEND    the one backend the daemon may use (default memfd);
 *                       tests/vm runs every program once per backend
 *
 * Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef DBB_TEST_HARNESS_H
#define DBB_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dmabuf_broker.pb-c.h"

#define HARNESS_PATH 256

struct harness_daemon {
	pid_t pid;			/* the daemon (or its wrapper, same pid) */
	int status;			/* exit code once reaped early, else 0 */
	char dir[HARNESS_PATH];		/* private temp dir, removed by stop */
	char socket[HARNESS_PATH + 16];
	char config[HARNESS_PATH + 16];
	char log[HARNESS_PATH + 16];	/* the daemon's stdout + stderr */
};

/* A default config: memfd backend, default limits, no resumable sessions. */
extern const char harness_default_config[];

/*
 * Writes @config (NULL: harness_default_config) and starts the daemon with
 * `--backends harness_backend()`, which wins over the config's own
 * `backends =` line: every test runs on the backend under test.
 * Returns 0 once it said READY=1, -ENOENT when the daemon binary is
 * missing, -ETIMEDOUT or -ECHILD (it exited; its log is printed) otherwise.
 */
int harness_daemon_start(struct harness_daemon *d, const char *config);

/* As harness_daemon_start() with `--backends @backends` instead (NULL: no
 * such option; the config or the daemon's default decides). */
int harness_daemon_start_backends(struct harness_daemon *d,
				  const char *config, const char *backends);

/* ---- the backend under test ---- */

/* DBB_TEST_BACKEND, or "memfd" when it is unset or empty. */
const char *harness_backend(void);

/* Whether its buffers are dma-bufs: all but memfd's are. */
bool harness_backend_is_dmabuf(void);

/* Whether it enforces read-only holders (kmod, memfd).  heap, udmabuf and
 * drm cannot: a read-only import or grant there is refused, -EOPNOTSUPP. */
bool harness_backend_read_only(void);

/* Whether @r is the refusal of a read-only import or grant that wants
 * @want (e.g. -EACCES): @want itself, or -EOPNOTSUPP where the backend
 * cannot enforce read-only at all. */
bool harness_ro_refused(int r, int want);

/* Whether a buffer of @got bytes is what an Alloc of @asked gives: @asked
 * rounded up to pages; drm may round up further (the dumb buffer's pitch). */
bool harness_size_ok(uint64_t asked, uint64_t got);

/*
 * The size of the tests' large Allocs (three may live at once): 1 GiB, the
 * broker's default max_buffer_size, or less where that does not fit: an
 * eighth of MemAvailable (a test guest has 3 GiB; the module caps its
 * buffers at half of RAM), udmabuf's size_limit_mb.  Whole MiB.
 */
uint64_t harness_big_size(void);

/*
 * Sends SIGTERM and reaps the daemon.  Returns its exit code (0 is a clean
 * exit; 128 + signal when it was killed by one; -ETIMEDOUT when it did not
 * exit and was killed).  Prints its log when it is not 0.  Removes the temp
 * dir.  Safe to call twice.
 */
int harness_daemon_stop(struct harness_daemon *d);

/* Prints the last lines of the daemon's log as TAP comments. */
void harness_daemon_dump_log(const struct harness_daemon *d);

/* Whether the daemon process is still running (not reaped). */
bool harness_daemon_alive(struct harness_daemon *d);

/* Open fds of process @pid (from /proc/PID/fd), or a negative errno. */
int harness_fd_count(pid_t pid);

/* Resident set size of @pid in KiB (VmRSS), or a negative errno. */
long harness_rss_kib(pid_t pid);

/* Whether @pid maps an ASan runtime (its RSS is then no leak signal). */
bool harness_pid_has_asan(pid_t pid);

/* Prints @pid's open fds and what they point to, as TAP comments. */
void harness_dump_fds(pid_t pid);

/* Polls until @pid has @want open fds or @timeout_ms passed; returns the
 * last count seen. */
int harness_wait_fd_count(pid_t pid, int want, int timeout_ms);

/* True when DBB_DAEMON_WRAPPER is set (the daemon runs ~20-50x slower). */
bool harness_wrapped(void);

/* @n scaled by DBB_TEST_SCALE, at least @min. */
unsigned harness_scaled(unsigned n, unsigned min);

/* @ms, stretched when the daemon runs under a wrapper. */
int harness_timeout_ms(int ms);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t harness_now_ms(void);

/* ---- child processes ---- */

/* What a child function gets: @in to read the parent's posts, @out to
 * post to the parent. */
struct harness_ctx {
	int in;
	int out;
	const char *socket;
};

/* Runs in the child; its return value (0..255) is the exit status. */
typedef int (*harness_child_fn)(struct harness_ctx *ctx, void *arg);

struct harness_child {
	pid_t pid;
	int to_child;
	int from_child;
};

/* Forks a child that runs @fn(ctx, @arg) and exits with its result. */
int harness_child_start(struct harness_child *c, const char *socket,
			harness_child_fn fn, void *arg);

/* Writes one byte @tag to @fd. */
int harness_post(int fd, char tag);

/* Reads one byte from @fd within @timeout_ms: returns it (>= 0),
 * -ETIMEDOUT, or -EPIPE at end of file. */
int harness_await(int fd, int timeout_ms);

/* Reaps the child: its exit status, 128 + signal, or -ETIMEDOUT (then it
 * was killed).  Closes the pipes. */
int harness_child_wait(struct harness_child *c, int timeout_ms);

/* In a child: fail with the line number as exit status, naming the check. */
#define CHILD_CHECK(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			harness_child_fail(__FILE__, __LINE__, #cond);      \
			return 100 + (__LINE__ % 100);                      \
		}                                                           \
	} while (0)

void harness_child_fail(const char *file, int line, const char *what);

/* In a child running as root: becomes @uid/@gid with no supplementary
 * groups.  Returns 0 or a negative errno. */
int harness_drop_privileges(uid_t uid, gid_t gid);

/* ---- bytes ---- */

/* Fills / checks @len bytes with a pattern derived from @seed.  Check
 * returns the offset of the first wrong byte, or -1 when all are right. */
void harness_fill(void *p, size_t len, uint32_t seed);
long harness_check(const void *p, size_t len, uint32_t seed);

/* ---- raw protocol ---- */

/* Connects a SOCK_SEQPACKET socket to @path: the fd or a negative errno. */
int harness_raw_connect(const char *path);

/* Packs and sends @req (no fds).  Uses MSG_DONTWAIT when @nonblock. */
int harness_raw_send(int sock, const DmabufBroker__V1__Request *req,
		     bool nonblock);

/* Packs @req into a malloc'ed buffer: *@out, its length returned. */
ssize_t harness_raw_pack(const DmabufBroker__V1__Request *req, uint8_t **out);

/*
 * Receives one ServerMessage within @timeout_ms.  *@fd gets the fd it
 * carried or -1 (pass NULL to close any).  Returns 0, -EPIPE at end of
 * stream (the broker disconnected us), -ETIMEDOUT, -EBADMSG when it does not
 * decode, or another negative errno.
 */
int harness_raw_recv(int sock, int timeout_ms,
		     DmabufBroker__V1__ServerMessage **out, int *fd);

/* Receives until a Response (events are skipped): as harness_raw_recv. */
int harness_raw_response(int sock, int timeout_ms,
			 DmabufBroker__V1__ServerMessage **out, int *fd);

/* Sends Hello (version 1, @name) and checks the reply: 0 or its status. */
int harness_raw_hello(int sock, const char *name);

/* A connected socket past Hello, or a negative errno. */
int harness_raw_client(const char *path, const char *name);

/*
 * Sends @req and waits for its Response: returns the status in it (0 or a
 * negative errno from the broker) and the seq in *@seq_out (may be NULL);
 * -EPIPE when the broker disconnected instead of answering.
 */
int harness_raw_call(int sock, const DmabufBroker__V1__Request *req,
		     uint64_t *seq_out, int *fd);

/*
 * Numbers @req's seq from a counter of its own, sends it and waits for its
 * Response.  Returns its status, or a negative errno when there was none
 * (-EPIPE: the broker hung up).  *@out (may be NULL) gets the Response
 * whatever its status, for the caller to free, or NULL without one; *@fd
 * (may be NULL) the fd it carried or -1.
 */
int harness_raw_request(int sock, DmabufBroker__V1__Request *req,
			DmabufBroker__V1__ServerMessage **out, int *fd);

/*
 * Request builders over harness_raw_request, each returning its status.
 * Alloc: @name and @backend may be NULL (unnamed, the default backend),
 * @grant a grant to attach or NULL; the id in *@id (may be NULL), the fd
 * in *@fd (NULL: closed).  Info and Stats hand back the Response in *@out
 * (may be NULL) as harness_raw_request does.
 */
int harness_raw_alloc(int sock, uint64_t size, const char *name,
		      DmabufBroker__V1__Lifetime lifetime, const char *backend,
		      DmabufBroker__V1__Grant *grant, uint64_t *id, int *fd);
int harness_raw_publish(int sock, uint64_t id, const char *name);
/* Grants everyone read-write access to @id. */
int harness_raw_grant_everyone(int sock, uint64_t id);
int harness_raw_destroy(int sock, uint64_t id);
/* Info on the buffer called @name, or on @id when @name is NULL. */
int harness_raw_info(int sock, const char *name, uint64_t id,
		     DmabufBroker__V1__ServerMessage **out);
int harness_raw_import_id(int sock, uint64_t id, bool read_only, int *fd);
int harness_raw_stats(int sock, DmabufBroker__V1__ServerMessage **out);

/* Reads and drops whatever arrives until end of stream (0) or
 * @timeout_ms (-ETIMEDOUT). */
int harness_raw_wait_eof(int sock, int timeout_ms);

/* As harness_raw_recv(), keeping every fd: *@nfds of them in @fds (room
 * for DBB_WIRE_MAX_FDS), owned by the caller. */
int harness_raw_recv_fds(int sock, int timeout_ms,
			 DmabufBroker__V1__ServerMessage **out, int *fds,
			 size_t *nfds);
/* As harness_raw_request(), keeping every fd of the Response in @fds
 * (room for DBB_WIRE_MAX_FDS).  *@out is the Response (NULL when none),
 * for the caller to free. */
int harness_raw_request_fds(int sock, DmabufBroker__V1__Request *req,
			    DmabufBroker__V1__ServerMessage **out, int *fds,
			    size_t *nfds);
/* The next message, which must be an Event (-EBADMSG otherwise), with
 * its fds, as harness_raw_recv_fds(). */
int harness_raw_event(int sock, int timeout_ms,
		      DmabufBroker__V1__ServerMessage **out, int *fds,
		      size_t *nfds);

/*
 * Pools and queues.  Each returns the Response's status; *@out (may be
 * NULL) gets the Response to free, @fds (room for DBB_WIRE_MAX_FDS; NULL:
 * closed) and *@nfds the fds it carried.  PoolAlloc allocates @count
 * buffers of @size; PoolOpen and QueueAttach name the pool by @name, or
 * by @id when @name is NULL.
 */
int harness_raw_pool_alloc(int sock, uint32_t count, uint64_t size,
			   const char *name, DmabufBroker__V1__Lifetime lifetime,
			   DmabufBroker__V1__Grant *grant,
			   DmabufBroker__V1__ServerMessage **out, int *fds,
			   size_t *nfds);
int harness_raw_pool_open(int sock, uint64_t id, const char *name,
			  bool read_only, DmabufBroker__V1__ServerMessage **out,
			  int *fds, size_t *nfds);
int harness_raw_queue_create(int sock, uint64_t pool_id, int policy,
			     uint32_t max_in_flight,
			     DmabufBroker__V1__ServerMessage **out, int *fds,
			     size_t *nfds);
int harness_raw_queue_attach(int sock, uint64_t pool_id, const char *name,
			     bool read_only,
			     DmabufBroker__V1__ServerMessage **out, int *fds,
			     size_t *nfds);
int harness_raw_queue_detach(int sock, uint64_t pool_id);
int harness_raw_pools(int sock, uint64_t after_id,
		      DmabufBroker__V1__ServerMessage **out);
int harness_raw_release(int sock, uint64_t id);
int harness_raw_grant(int sock, uint64_t id, DmabufBroker__V1__Grant *g);

#endif
