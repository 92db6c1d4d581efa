/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <utlist.h>

#include "backends/backend.h"
#include "client.h"
#include "config.h"
#include "describe.h"
#include "log.h"
#include "peer.h"
#include "persist.h"
#include "quota.h"
#include "registry.h"
#include "resume.h"
#include "shares.h"
#include "streams.h"
#include "watch.h"
#include "wire.h"
#include "worker.h"

/* Pause before accepting again after EMFILE/ENFILE. */
#define SERVER_BACKOFF_MSEC 100
/* Connections accepted per wakeup. */
#define SERVER_ACCEPT_BATCH 32
#define SERVER_BACKLOG 128

/* Each backend's counters, and the release of its private state. */
static void server_on_registry_backend(void *ctx, enum registry_event ev,
				       struct registry_buffer *b)
{
	struct broker *br = ctx;
	struct backend *be = &br->backends->list[b->backend];

	if (ev == REGISTRY_ADDED) {
		be->buffers++;
		be->bytes += b->size;
	} else if (ev == REGISTRY_REMOVED) {
		be->buffers--;
		be->bytes -= b->size;
		if (be->desc->ops->release && b->priv)
			be->desc->ops->release(be, b->priv);
		b->priv = NULL;
	}
}

/* A client died: it is freed from ev_reap, never inside its own
 * callback. */
static void server_on_client_dead(void *ctx, struct client *c)
{
	struct server *s = ctx;

	c->dead_next = s->dead;
	s->dead = c;
	event_active(s->ev_reap, EV_TIMEOUT, 0);
}

static void server_reap_one(struct server *s, struct client *c)
{
	uid_t uid = c->peer.uid;

	watch_set(s->broker.watch, c, false);
	DL_DELETE(s->clients, c);
	s->broker.nclients--;
	client_free(c);
	/* After its queue went: the uid's record may go with this. */
	shares_client_remove(s->broker.shares, uid);
}

static void server_on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	/* Freeing may kill more clients (events they cannot take). */
	while (s->dead) {
		struct client *c = s->dead;

		s->dead = c->dead_next;
		server_reap_one(s, c);
	}
}

/* Connections a uid may hold and still count as a light user, for whom
 * the last slots before root's are kept. */
#define SERVER_LIGHT_CLIENTS 2u

/*
 * Whether a connection of @uid may be served (else logged): past
 * max_clients nobody's; past max_clients less root's reserve, and past
 * max_clients_per_uid of its own, nobody's but root's.  One uid thus
 * cannot lock out root, nor alone the other uids.  And the last eighth of
 * the slots below root's reserve go only to uids holding fewer than
 * SERVER_LIGHT_CLIENTS: several uids filling their per-uid shares
 * together still leave a newcomer (a camera daemon, a viewer) room.
 */
static bool server_may_admit(struct server *s, uid_t uid)
{
	const struct config *cfg = s->broker.cfg;
	uint32_t n = s->broker.nclients, mine, light;
	uint32_t reserve = cfg->root_reserved_clients < cfg->max_clients / 2 ?
			   cfg->root_reserved_clients : cfg->max_clients / 2;

	if (n >= cfg->max_clients) {
		log_ctx_limited(LOG_WARNING, NULL, "refusing a connection of "
				"uid %u: %u clients already", (unsigned)uid, n);
		return false;
	}
	if (uid == 0)
		return true;
	if (n >= cfg->max_clients - reserve) {
		log_ctx_limited(LOG_WARNING, NULL, "refusing a connection of "
				"uid %u: the last %u of %u connections are "
				"root's", (unsigned)uid, reserve,
				cfg->max_clients);
		return false;
	}
	mine = shares_clients_of(s->broker.shares, uid);
	if (mine >= cfg->max_clients_per_uid) {
		log_ctx_limited(LOG_WARNING, NULL, "refusing a connection of "
				"uid %u: it has %u already "
				"(max_clients_per_uid)",
				(unsigned)uid, mine);
		return false;
	}
	light = (cfg->max_clients - reserve) / 8;
	if (n >= cfg->max_clients - reserve - light &&
	    mine >= SERVER_LIGHT_CLIENTS) {
		log_ctx_limited(LOG_WARNING, NULL, "refusing a connection of "
				"uid %u: it has %u already, and the last %u "
				"connections before root's are kept for uids "
				"with fewer than %u", (unsigned)uid, mine, light,
				SERVER_LIGHT_CLIENTS);
		return false;
	}
	return true;
}

static void server_add_client(struct server *s, int fd)
{
	const struct client_owner owner = { server_on_client_dead, s };
	struct policy_peer peer;
	struct client *c;
	int ret;

	ret = policy_peer_from_socket(fd, &peer);
	if (ret < 0) {
		log_msg(LOG_WARNING, "SO_PEERCRED failed: %s", strerror(-ret));
		close(fd);
		return;
	}
	if (!server_may_admit(s, peer.uid) ||
	    shares_client_add(s->broker.shares, peer.uid) < 0) {
		close(fd);
		return;
	}
	c = client_create(&s->broker, &owner, fd, s->broker.next_client_id,
			  &peer);
	if (!c) {
		log_msg(LOG_ERR, "cannot set up a client: out of memory");
		shares_client_remove(s->broker.shares, peer.uid);
		return;
	}
	peer_set_budget(c->peer_conn,
			shares_queue_budget(s->broker.shares, peer.uid));
	s->broker.next_client_id++;
	DL_APPEND(s->clients, c);
	s->broker.nclients++;
}

/* Out of fds: stop accepting for a moment instead of spinning. */
static void server_backoff(struct server *s, int err)
{
	struct timeval tv = { 0, SERVER_BACKOFF_MSEC * 1000 };

	/* Once per episode: it ends when a connection is accepted again. */
	log_msg(s->accept_paused ? LOG_DEBUG : LOG_WARNING,
		"accept: %s; pausing for %d ms", strerror(err),
		SERVER_BACKOFF_MSEC);
	s->accept_paused = true;
	event_del(s->ev_accept);
	evtimer_add(s->ev_backoff, &tv);
}

static void server_on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	event_add(s->ev_accept, NULL);
}

static void server_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < SERVER_ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0) {
			s->accept_paused = false;
			server_add_client(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			server_backoff(s, errno);
		else if (errno != EAGAIN)
			log_msg(LOG_ERR, "accept: %m");
		return;
	}
}

/*
 * The cap on all buffers' bytes: the configured one, else half of the
 * memory the broker may use (shares.h says why).  Logged either way.
 */
static struct shares *server_shares_create(const struct config *cfg)
{
	uint64_t cap = cfg->max_total_bytes;
	char why[PATH_MAX + 128] = "max_total_bytes";

	if (!cap && shares_default_total("", &cap, why, sizeof(why)) < 0) {
		log_msg(LOG_WARNING, "cannot read MemTotal: no cap on the "
			"bytes of all buffers together");
		cap = UINT64_MAX;
	}
	log_msg(LOG_INFO, "all buffers together may take %llu MiB (%s)",
		(unsigned long long)(cap >> 20), why);
	return shares_create(cap, cfg->max_queued_bytes_per_uid,
			     cfg->max_queued_fds_per_uid);
}

int server_init(struct server *s, struct event_base *base,
		const struct config *cfg, struct backend_set *backends)
{
	struct broker *br = &s->broker;

	memset(s, 0, sizeof(*s));
	br->base = base;
	br->cfg = cfg;
	br->backends = backends;
	br->start_usec = broker_monotonic_usec();
	s->listen_fd = -1;
	br->next_client_id = 1;
	broker_init_features(br);
	if (event_base_priority_init(base, BROKER_NPRIO) < 0)
		return -EINVAL;
	br->reg = registry_create();
	if (br->reg)
		registry_subscribe(br->reg, server_on_registry_backend, br);
	br->watch = br->reg ? watch_create(br) : NULL;
	br->streams = br->watch ? streams_create(br) : NULL;
	s->ev_reap = event_new(base, -1, 0, server_on_reap, s);
	s->ev_backoff = evtimer_new(base, server_on_backoff, s);
	br->worker = worker_create(base, BROKER_PRIO_CLIENT);
	br->resume = br->reg ? resume_create(br) : NULL;
	br->shares = server_shares_create(cfg);
	if (!br->reg || !br->watch || !br->streams || !s->ev_reap || !s->ev_backoff ||
	    !br->worker || !br->resume || !br->shares)
		return -ENOMEM;
	event_priority_set(s->ev_reap, BROKER_PRIO_HIGH);
	event_priority_set(s->ev_backoff, BROKER_PRIO_HIGH);
	br->quota = quota_create(base, BROKER_PRIO_HIGH, br->reg, backends);
	if (!br->quota)
		log_msg(LOG_WARNING, "cannot watch buffer releases (%s): quota "
			"is given back when a buffer leaves the registry",
			strerror(errno));
	return 0;
}

/* Creates the directories above @path that are missing. */
static int server_mkdir_parents(const char *path)
{
	char *dir = strdup(path);

	if (!dir)
		return -ENOMEM;
	for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			int err = errno;

			free(dir);
			return -err;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

/* Removes a socket file nobody listens on; -EADDRINUSE if one does. */
static int server_remove_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, ret;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	return unlink(addr->sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

static int server_bind(struct server *s)
{
	const char *path = s->broker.cfg->socket_path;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	if ((ret = server_mkdir_parents(path)) < 0 ||
	    (ret = server_remove_stale(&addr)) < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto err_close_fd;
	s->path = strdup(path);
	s->unlink_path = true;
	if (!s->path) {
		errno = ENOMEM;
		goto err_close_fd;
	}
	if (chmod(path, s->broker.cfg->socket_mode) < 0 ||
	    listen(fd, SERVER_BACKLOG) < 0)
		goto err_close_fd;
	s->listen_fd = fd;
	return 0;

err_close_fd:
	ret = -errno;
	close(fd);
	return ret;
}

/* The path a Unix socket is bound to ("(unnamed)" if none). */
static char *server_sockname(int fd)
{
	struct sockaddr_un addr = { 0 };
	socklen_t len = sizeof(addr);

	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path) || !addr.sun_path[0])
		return strdup("(unnamed socket)");
	addr.sun_path[sizeof(addr.sun_path) - 1] = '\0';
	return strdup(addr.sun_path);
}

/* Uses the first listening SOCK_SEQPACKET socket systemd passed; the fds
 * of the fd store that persist.c took are not ours to close. */
static int server_take_activated(struct server *s, int n, char **names)
{
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (names && persist_fdname_is_ours(names[i]))
			continue;
		if (s->listen_fd < 0 &&
		    sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
			s->listen_fd = fd;
			continue;
		}
		log_msg(LOG_WARNING, "closing unexpected inherited fd %d", fd);
		close(fd);
	}
	if (s->listen_fd < 0)
		return -ENOTSOCK;
	s->path = server_sockname(s->listen_fd);
	if (!s->path)
		return -ENOMEM;
	if (fcntl(s->listen_fd, F_SETFL,
		  fcntl(s->listen_fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int server_listen(struct server *s)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	int ret;

	if (n < 0) {
		log_msg(LOG_ERR, "sd_listen_fds: %s", strerror(-n));
		return n;
	}
	ret = n > 0 ? server_take_activated(s, n, names) : server_bind(s);
	for (char **name = names; name && *name; name++)
		free(*name);
	free(names);
	if (ret < 0) {
		log_msg(LOG_ERR, "cannot listen on %s: %s",
			n > 0 ? "the socket systemd passed" : s->broker.cfg->socket_path,
			strerror(-ret));
		return ret;
	}
	s->ev_accept = event_new(s->broker.base, s->listen_fd, EV_READ | EV_PERSIST,
				 server_on_accept, s);
	if (!s->ev_accept ||
	    event_priority_set(s->ev_accept, BROKER_PRIO_HIGH) < 0 ||
	    event_add(s->ev_accept, NULL) < 0)
		return -ENOMEM;
	log_msg(LOG_INFO, "listening on %s%s", server_socket_path(s),
		n > 0 ? " (socket activation)" : "");
	return 0;
}

const char *server_socket_path(const struct server *s)
{
	return s->path ? s->path : s->broker.cfg->socket_path;
}

void server_fini(struct server *s)
{
	struct client *c, *tmp;

	s->stopping = true;
	watch_stop(s->broker.watch);
	/* Broken connections' sessions end; live ones are not kept. */
	resume_destroy(s->broker.resume);
	s->broker.resume = NULL;
	DL_FOREACH_SAFE(s->clients, c, tmp) {
		if (!c->dead)
			client_kill(c, NULL);
	}
	if (s->ev_reap)
		server_on_reap(-1, 0, s);
	/* Every job's client is gone: their buffers are just closed. */
	worker_destroy(s->broker.worker);
	shares_destroy(s->broker.shares);	/* after the jobs gave back */
	quota_stop(s->broker.quota);
	registry_destroy(s->broker.reg);
	streams_destroy(s->broker.streams);
	quota_destroy(s->broker.quota);
	watch_destroy(s->broker.watch);
	if (s->ev_accept)
		event_free(s->ev_accept);
	if (s->ev_backoff)
		event_free(s->ev_backoff);
	if (s->ev_reap)
		event_free(s->ev_reap);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->path && s->unlink_path)
		unlink(s->path);
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
}
