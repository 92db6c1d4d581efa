/* SPDX-License-Identifier: MIT */
/*
 * queue-watch: a pool's queue counters, sampled every --interval ms, with
 * their rates per second over the last interval.  The pool is looked up
 * once and then followed by id, which the broker never reuses, so a new
 * pool that takes the old one's name is not mistaken for it.  Samples are
 * paced by a timerfd polled beside the signalfd, so SIGINT/SIGTERM end the
 * watch between two samples and nothing runs in a signal handler.
 *
 * The counters come from the producer's library through the broker and
 * start from zero with each producer, and a consumer's with each consumer
 * that takes its slot: a counter seen going down, or a new producer or
 * consumer, has no rate for that sample rather than a made-up one.  Who
 * is new only root and the pool's owner are told (others get client id
 * 0 for all); to others a restart shows as counters going down.
 */
#include "ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define QWATCH_DEFAULT_INTERVAL_MS 1000
/* Each sample is a request to the broker: no faster than this. */
#define QWATCH_MIN_INTERVAL_MS 10

/* The counters rates are shown for, as named in the JSON "rates" object. */
enum qwatch_rate { QWATCH_POSTED, QWATCH_DELIVERED, QWATCH_RELEASED,
		   QWATCH_DROPPED, QWATCH_FENCE_TIMEOUTS, QWATCH_N_RATES };

static const char *const qwatch_rate_names[QWATCH_N_RATES] = {
	"posted", "delivered", "released", "dropped", "fence_timeouts",
};

/* The last sample of one end: the producer (the queue's totals) or the
 * consumer in one slot, and who it was. */
struct qwatch_prev {
	bool valid;
	uint64_t client_id;
	struct dbb_queue_counters counters;
};

struct qwatch {
	struct ctl *ctl;
	uint64_t pool_id;
	uint64_t prev_usec;		/* CLOCK_MONOTONIC of the last sample */
	struct qwatch_prev queue;
	struct qwatch_prev consumer[DBB_QUEUE_MAX_CONSUMERS];
};

static uint64_t qwatch_now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t qwatch_value(const struct dbb_queue_counters *c,
			     enum qwatch_rate r)
{
	switch (r) {
	case QWATCH_POSTED: return c->posted;
	case QWATCH_DELIVERED: return c->delivered;
	case QWATCH_RELEASED: return c->released;
	case QWATCH_DROPPED: return c->dropped;
	case QWATCH_FENCE_TIMEOUTS: return c->fence_timeouts;
	default: return 0;
	}
}

/*
 * Fills @rates (per second over @elapsed_usec; NAN where there is none)
 * from @prev to @cur, then makes @cur the last sample of @prev.
 */
static void qwatch_rates(struct qwatch_prev *prev, uint64_t client_id,
			 const struct dbb_queue_counters *cur,
			 uint64_t elapsed_usec, double rates[QWATCH_N_RATES])
{
	bool same = prev->valid && prev->client_id == client_id && elapsed_usec;

	for (int r = 0; r < QWATCH_N_RATES; r++) {
		uint64_t now = qwatch_value(cur, r);
		uint64_t then = qwatch_value(&prev->counters, r);

		rates[r] = same && now >= then ?
			   (double)(now - then) * 1e6 / (double)elapsed_usec : NAN;
	}
	*prev = (struct qwatch_prev){ true, client_id, *cur };
}

static json_object *qwatch_rates_json(const double rates[QWATCH_N_RATES])
{
	json_object *o = json_object_new_object();

	for (int r = 0; r < QWATCH_N_RATES; r++)
		json_object_object_add(o, qwatch_rate_names[r], isnan(rates[r]) ?
				       NULL : json_object_new_double(rates[r]));
	return o;
}

/* "30.0" or "-" for a rate column. */
static const char *qwatch_rate_text(double rate, char *buf, size_t cap)
{
	if (isnan(rate))
		return "-";
	snprintf(buf, cap, "%.1f", rate);
	return buf;
}

static void qwatch_print_header(void)
{
	printf("%-12s %-7s %10s %8s %10s %8s %10s %8s %8s %7s %9s %8s %8s %8s\n",
	       "TIME", "END", "POSTED", "/s", "DELIVERED", "/s", "RELEASED", "/s",
	       "DROPPED", "/s", "IN-FLIGHT", "FENCE-TO", "LAT-AVG", "LAT-MAX");
}

static void qwatch_print_row(const char *time, const char *end,
			     const struct dbb_queue_counters *c,
			     const double rates[QWATCH_N_RATES])
{
	char r[4][24], avg[32], max[32];

	printf("%-12s %-7s %10" PRIu64 " %8s %10" PRIu64 " %8s %10" PRIu64
	       " %8s %8" PRIu64 " %7s %9" PRIu64 " %8" PRIu64 " %8s %8s\n",
	       time, end, c->posted,
	       qwatch_rate_text(rates[QWATCH_POSTED], r[0], sizeof(r[0])),
	       c->delivered,
	       qwatch_rate_text(rates[QWATCH_DELIVERED], r[1], sizeof(r[1])),
	       c->released,
	       qwatch_rate_text(rates[QWATCH_RELEASED], r[2], sizeof(r[2])),
	       c->dropped,
	       qwatch_rate_text(rates[QWATCH_DROPPED], r[3], sizeof(r[3])),
	       c->in_flight, c->fence_timeouts,
	       format_usec(c->latency_avg_usec, avg, sizeof(avg)),
	       format_usec(c->latency_max_usec, max, sizeof(max)));
}

/* "HH:MM:SS.mmm", local time. */
static const char *qwatch_clock(uint64_t realtime_usec, char *buf, size_t cap)
{
	time_t t = (time_t)(realtime_usec / 1000000);
	struct tm tm;
	size_t n;

	if (!localtime_r(&t, &tm) || !(n = strftime(buf, cap, "%H:%M:%S", &tm)))
		return "?";
	snprintf(buf + n, cap - n, ".%03" PRIu64, realtime_usec / 1000 % 1000);
	return buf;
}

/* The rates of one sample: the queue's, and each consumer's in the
 * order of the queue's description; none for what cannot be. */
struct qwatch_sample_rates {
	double queue[QWATCH_N_RATES];
	double consumer[DBB_QUEUE_MAX_CONSUMERS][QWATCH_N_RATES];
	double none[QWATCH_N_RATES];
};

/* Fills @out from @q (NULL: no queue) and remembers @q's counters. */
static void qwatch_update(struct qwatch *w, const struct dbb_queue_info *q,
			  uint64_t elapsed_usec, struct qwatch_sample_rates *out)
{
	for (int r = 0; r < QWATCH_N_RATES; r++)
		out->none[r] = NAN;
	if (!q) {
		/* No producer now: whoever comes next starts from zero. */
		w->queue.valid = false;
		return;
	}
	qwatch_rates(&w->queue, q->producer_client_id, &q->counters,
		     elapsed_usec, out->queue);
	for (size_t i = 0; i < q->n_consumers && i < DBB_QUEUE_MAX_CONSUMERS; i++) {
		const struct dbb_queue_consumer *c = dbb_queue_info_get_consumer(q, i);

		/* The slot is the broker's word: a bad one gets no rates. */
		memcpy(out->consumer[i], out->none, sizeof(out->none));
		if (c->slot < DBB_QUEUE_MAX_CONSUMERS)
			qwatch_rates(&w->consumer[c->slot], c->client_id,
				     &c->counters, elapsed_usec, out->consumer[i]);
	}
}

/* The rates of consumer @i, or none past what a queue may have. */
static const double *qwatch_consumer_rates(const struct qwatch_sample_rates *rates,
					   size_t i)
{
	return i < DBB_QUEUE_MAX_CONSUMERS ? rates->consumer[i] : rates->none;
}

/* One compact line: the queue as pool-info describes it, plus rates. */
static void qwatch_print_json(const struct qwatch *w, uint64_t wall_usec,
			      const struct dbb_queue_info *q,
			      const struct qwatch_sample_rates *rates)
{
	json_object *o = json_object_new_object();
	json_object *qo = q ? jsonout_queue(q) : NULL;
	json_object *consumers = NULL;

	json_object_object_add(o, "time_usec", json_object_new_uint64(wall_usec));
	json_object_object_add(o, "pool_id", json_object_new_uint64(w->pool_id));
	json_object_object_add(o, "queue", qo);
	if (qo) {
		json_object_object_add(qo, "rates", qwatch_rates_json(rates->queue));
		json_object_object_get_ex(qo, "consumers", &consumers);
	}
	for (size_t i = 0; consumers && i < q->n_consumers; i++)
		json_object_object_add(json_object_array_get_idx(consumers, i), "rates",
				       qwatch_rates_json(qwatch_consumer_rates(rates, i)));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* A row for the queue and one per consumer. */
static void qwatch_print_table(uint64_t wall_usec, const struct dbb_queue_info *q,
			       const struct qwatch_sample_rates *rates)
{
	char time[32];

	qwatch_clock(wall_usec, time, sizeof(time));
	if (!q) {
		printf("%-12s no queue\n", time);
		return;
	}
	qwatch_print_row(time, "queue", &q->counters, rates->queue);
	for (size_t i = 0; i < q->n_consumers; i++) {
		const struct dbb_queue_consumer *c = dbb_queue_info_get_consumer(q, i);
		char end[16];

		snprintf(end, sizeof(end), "slot %" PRIu32, c->slot);
		qwatch_print_row("", end, &c->counters, qwatch_consumer_rates(rates, i));
	}
}

/* Prints one sample of @info, as a line of JSON or rows of the table. */
static void qwatch_sample(struct qwatch *w, const struct dbb_pool_info *info)
{
	uint64_t now = qwatch_now_usec(CLOCK_MONOTONIC);
	uint64_t wall = qwatch_now_usec(CLOCK_REALTIME);
	struct qwatch_sample_rates rates;

	qwatch_update(w, info->queue, w->prev_usec ? now - w->prev_usec : 0, &rates);
	w->prev_usec = now;
	if (w->ctl->json)
		qwatch_print_json(w, wall, info->queue, &rates);
	else
		qwatch_print_table(wall, info->queue, &rates);
	fflush(stdout);
}

static int qwatch_timerfd(uint32_t interval_ms)
{
	struct itimerspec its = {
		.it_interval = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000 },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Samples until --count samples were taken or a signal; exit code. */
static int qwatch_loop(struct qwatch *w, struct dbb_pool_info *first)
{
	struct pollfd pfd[2] = { { .fd = -1, .events = POLLIN },
				 { .fd = -1, .events = POLLIN } };
	uint32_t interval = w->ctl->opt.interval_ms ? w->ctl->opt.interval_ms :
						      QWATCH_DEFAULT_INTERVAL_MS;
	uint32_t samples = 0, count = w->ctl->opt.count;
	struct dbb_pool_info *info = first;
	char what[40];
	int ret = 0;

	snprintf(what, sizeof(what), "pool %" PRIu64, w->pool_id);
	pfd[0].fd = loop_signalfd();
	if (pfd[0].fd < 0)
		ret = ctl_fail(w->ctl, pfd[0].fd, "signalfd");
	else if ((pfd[1].fd = qwatch_timerfd(interval)) < 0)
		ret = ctl_fail(w->ctl, pfd[1].fd, "timerfd");
	while (ret == 0) {
		uint64_t ticks;

		qwatch_sample(w, info);
		dbb_pool_info_free(info);
		info = NULL;
		if (count && ++samples == count)
			break;
		if (poll(pfd, 2, -1) < 0) {
			if (errno != EINTR)
				ret = ctl_fail(w->ctl, -errno, "poll");
			continue;
		}
		if (pfd[0].revents)
			break;
		/* Samples missed while stopped are not made up for. */
		if (read(pfd[1].fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
			ret = ctl_fail(w->ctl, -errno, "timerfd");
		else if ((ret = dbb_pool_info_by_id(w->ctl->client, w->pool_id,
						    &info)) < 0)
			ret = ctl_fail(w->ctl, ret, what);
	}
	dbb_pool_info_free(info);
	if (pfd[0].fd >= 0)
		close(pfd[0].fd);
	if (pfd[1].fd >= 0)
		close(pfd[1].fd);
	return ret;
}

int qwatch_run(struct ctl *ctl, int argc, char **argv)
{
	struct qwatch w = { .ctl = ctl };
	struct dbb_pool_info *info;
	struct ctl_target t;
	int ret;

	if (ctl->opt.interval_ms && ctl->opt.interval_ms < QWATCH_MIN_INTERVAL_MS)
		return ctl_usage_error("--interval is at least %d ms",
				       QWATCH_MIN_INTERVAL_MS);
	ret = ctl_parse_target(argv[0], &t);
	if (ret == CTL_EXIT_OK)
		ret = ctl_connect(ctl);
	if (ret != CTL_EXIT_OK)
		return ret;
	ret = ctl_fetch_pool(ctl, &t, &info);
	if (ret < 0)
		return ctl_fail(ctl, ret, argv[0]);
	w.pool_id = info->id;
	if (!ctl->json)
		qwatch_print_header();
	return qwatch_loop(&w, info);
}
