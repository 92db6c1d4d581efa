/* SPDX-License-Identifier: MIT */
/*
 * dmabuf-brokerd: arguments, configuration, resource limits, signals and
 * systemd notification around the server's event loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "backends/backend.h"
#include "config.h"
#include "log.h"
#include "persist.h"
#include "quota.h"
#include "registry.h"
#include "server.h"

#define MAIN_DEFAULT_CONFIG "/etc/dmabuf-broker/broker.conf"
#define MAIN_STATUS_SEC 10

struct main_opts {
	const char *socket;
	const char *config;
	const char *backends;
	bool verbose;
};

/* Everything main() sets up, torn down in reverse by main_fini(). */
struct main_state {
	struct config cfg;
	struct backend_set backends;
	struct event_base *base;
	struct server srv;
	bool srv_ready;
	struct persist *persist;	/* the fd store, in srv.broker too */
	struct event *ev_sigterm, *ev_sigint;
	struct event *ev_watchdog, *ev_status;
	struct timeval watchdog_tv;
};

static void main_usage(FILE *f)
{
	fprintf(f,
		"Usage: dmabuf-brokerd [--socket PATH] [--config FILE] "
		"[--backends LIST] [--verbose]\n"
		"  --socket PATH     listen on PATH (default %s)\n"
		"  --config FILE     read FILE (default %s, if present)\n"
		"  --backends LIST   probe order, e.g. kmod,heap,memfd\n"
		"  --verbose         log debug messages\n",
		CONFIG_DEFAULT_SOCKET, MAIN_DEFAULT_CONFIG);
}

/* Returns 0, 1 for --help (exit 0), or -EINVAL. */
static int main_parse_args(int argc, char **argv, struct main_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "backends", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "s:c:b:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o->socket = optarg; break;
		case 'c': o->config = optarg; break;
		case 'b': o->backends = optarg; break;
		case 'v': o->verbose = true; break;
		case 'h': main_usage(stdout); return 1;
		default: main_usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dmabuf-brokerd: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Defaults, then the config file, then the command line. */
static int main_load_config(struct config *cfg, const struct main_opts *o)
{
	const char *path = o->config ? o->config : MAIN_DEFAULT_CONFIG;
	char err[CONFIG_ERR_MAX];
	int ret = config_init(cfg);

	if (ret < 0)
		return ret;
	if (o->config || access(path, F_OK) == 0) {
		ret = config_load(cfg, path, err, sizeof(err));
		if (ret < 0) {
			log_msg(LOG_ERR, "%s", err);
			return ret;
		}
	}
	if (o->backends &&
	    config_set_backends(cfg, o->backends, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "--backends: %s", err);
		return -EINVAL;
	}
	if (o->socket && (ret = config_set_socket(cfg, o->socket)) < 0)
		return ret;
	return 0;
}

/* Every buffer is an fd: take all the fds the hard limit allows. */
static void main_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_msg(LOG_WARNING, "cannot raise RLIMIT_NOFILE: %m");
}

static int main_probe_backends(struct main_state *st)
{
	int ret = backend_set_probe(&st->backends, &st->cfg);

	quota_probe_backends(&st->backends);

	for (size_t i = 0; i < st->backends.n; i++) {
		const struct backend *be = &st->backends.list[i];

		log_msg(LOG_INFO, "backend %s: %s%s%s",
			be->name, be->available ? "" : "unavailable: ",
			be->detail, !be->available || be->release_tracked ? "" :
			" (releases not reported: quota ends with the registry)");
	}
	if (ret < 0)
		log_msg(LOG_ERR, "no usable backend among those configured");
	return ret;
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base *base = arg;

	log_msg(LOG_INFO, "signal %d: shutting down", (int)sig);
	event_base_loopbreak(base);
}

static void main_on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void main_notify_status(const struct server *srv)
{
	struct registry_totals t = registry_totals(srv->broker.reg);

	sd_notifyf(0, "STATUS=%u clients, %llu buffers, %llu bytes",
		   srv->broker.nclients, (unsigned long long)t.buffers,
		   (unsigned long long)t.bytes);
}

static void main_on_status(evutil_socket_t fd, short what, void *arg)
{
	main_notify_status(arg);
}

/* Signals through libevent, a periodic STATUS, and WATCHDOG=1 at half the
 * interval systemd asked for. */
static int main_add_events(struct main_state *st)
{
	struct timeval status_tv = { MAIN_STATUS_SEC, 0 };
	uint64_t wd_usec = 0;

	st->ev_sigterm = evsignal_new(st->base, SIGTERM, main_on_signal, st->base);
	st->ev_sigint = evsignal_new(st->base, SIGINT, main_on_signal, st->base);
	st->ev_status = event_new(st->base, -1, EV_PERSIST, main_on_status,
				  &st->srv);
	if (!st->ev_sigterm || !st->ev_sigint || !st->ev_status ||
	    evsignal_add(st->ev_sigterm, NULL) < 0 ||
	    evsignal_add(st->ev_sigint, NULL) < 0 ||
	    event_add(st->ev_status, &status_tv) < 0)
		return -ENOMEM;
	if (sd_watchdog_enabled(0, &wd_usec) <= 0 || wd_usec == 0)
		return 0;
	st->watchdog_tv.tv_sec = (time_t)(wd_usec / 2 / 1000000u);
	st->watchdog_tv.tv_usec = (suseconds_t)(wd_usec / 2 % 1000000u);
	st->ev_watchdog = event_new(st->base, -1, EV_PERSIST, main_on_watchdog,
				    NULL);
	if (!st->ev_watchdog || event_add(st->ev_watchdog, &st->watchdog_tv) < 0)
		return -ENOMEM;
	return 0;
}

static void main_fini(struct main_state *st)
{
	struct event *evs[] = { st->ev_sigterm, st->ev_sigint, st->ev_status,
				st->ev_watchdog };

	/* What the registry's teardown removes stays in the fd store for
	 * the next start. */
	persist_stop(st->persist);
	if (st->srv_ready)
		server_fini(&st->srv);
	persist_destroy(st->persist);
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (evs[i])
			event_free(evs[i]);
	}
	if (st->base)
		event_base_free(st->base);
	backend_set_close(&st->backends);
	config_fini(&st->cfg);
	libevent_global_shutdown();
}

/* Everything up to the point where the loop can run. */
static int main_setup(struct main_state *st, const struct main_opts *o)
{
	int ret;

	if ((ret = main_load_config(&st->cfg, o)) < 0)
		return ret;
	main_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if ((ret = main_probe_backends(st)) < 0)
		return ret;
	st->base = event_base_new();
	if (!st->base)
		return -ENOMEM;
	st->srv_ready = true;
	if ((ret = server_init(&st->srv, st->base, &st->cfg, &st->backends)) < 0)
		return ret;
	/* The fd store's fds come in LISTEN_FDS too, which server_listen()
	 * consumes. */
	st->persist = persist_create(&st->srv.broker);
	if (!st->persist)
		return -ENOMEM;
	st->srv.broker.persist = st->persist;
	if ((ret = server_listen(&st->srv)) < 0 ||
	    (ret = persist_start(st->persist)) < 0)
		return ret;
	if ((ret = main_add_events(st)) < 0)
		log_msg(LOG_ERR, "cannot set up events: %s", strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	struct main_opts opts = { 0 };
	struct main_state st = { 0 };
	int ret = main_parse_args(argc, argv, &opts);

	if (ret != 0)
		return ret > 0 ? 0 : 2;
	log_init(opts.verbose);
	ret = main_setup(&st, &opts);
	if (ret < 0) {
		sd_notifyf(0, "STATUS=failed to start: %s\nERRNO=%d",
			   strerror(-ret), -ret);
		main_fini(&st);
		return 1;
	}
	printf("listening on %s\n", server_socket_path(&st.srv));
	fflush(stdout);
	sd_notify(0, "READY=1");
	main_notify_status(&st.srv);
	event_base_dispatch(st.base);
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	main_fini(&st);
	return 0;
}
