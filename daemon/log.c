/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <systemd/sd-journal.h>

static struct {
	bool journal;
	bool verbose;
	time_t window_start;
	unsigned in_window;
	unsigned long suppressed;
} log_state;

static const char *const log_level_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* JOURNAL_STREAM is "dev:ino" of the stream systemd gave us as stderr. */
static bool log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(2, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void log_init(bool verbose)
{
	log_state.verbose = verbose;
	log_state.journal = log_stderr_is_journal();
}

bool log_to_journal(void)
{
	return log_state.journal;
}

/* Sends MESSAGE, PRIORITY and the fields of @ctx that are set. */
static void log_journal(int prio, const struct log_ctx *ctx, const char *msg)
{
	char f[7][560];
	struct iovec iov[7];
	int n = 0;

	snprintf(f[n++], sizeof(f[0]), "MESSAGE=%s", msg);
	snprintf(f[n++], sizeof(f[0]), "SYSLOG_IDENTIFIER=dmabuf-brokerd");
	snprintf(f[n++], sizeof(f[0]), "PRIORITY=%d", prio);
	if (ctx && ctx->client_id) {
		snprintf(f[n++], sizeof(f[0]), "DBB_CLIENT_ID=%llu",
			 (unsigned long long)ctx->client_id);
		snprintf(f[n++], sizeof(f[0]), "DBB_UID=%u", ctx->uid);
		snprintf(f[n++], sizeof(f[0]), "DBB_PID=%u", ctx->pid);
	}
	if (ctx && ctx->buffer_id)
		snprintf(f[n++], sizeof(f[0]), "DBB_BUFFER_ID=%llu",
			 (unsigned long long)ctx->buffer_id);
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = f[i];
		iov[i].iov_len = strlen(f[i]);
	}
	sd_journal_sendv(iov, n);
}

static void log_emit(int prio, const struct log_ctx *ctx, const char *msg)
{
	if (log_state.journal) {
		log_journal(prio, ctx, msg);
		return;
	}
	fprintf(stderr, "dmabuf-brokerd: %s: %s", log_level_names[prio & 7],
		msg);
	if (ctx && ctx->client_id)
		fprintf(stderr, " [client=%llu uid=%u pid=%u]",
			(unsigned long long)ctx->client_id, ctx->uid, ctx->pid);
	if (ctx && ctx->buffer_id)
		fprintf(stderr, " [buffer=%llu]",
			(unsigned long long)ctx->buffer_id);
	fputc('\n', stderr);
}

static void log_vmsg(int prio, const struct log_ctx *ctx, const char *fmt,
		     va_list ap)
{
	char msg[512];

	if (prio >= LOG_DEBUG && !log_state.verbose)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_emit(prio, ctx, msg);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, NULL, fmt, ap);
	va_end(ap);
}

void log_ctx_msg(int prio, const struct log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, ctx, fmt, ap);
	va_end(ap);
}

/* Whether a client-triggered message may go out now. */
static bool log_limit_allows(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - log_state.window_start >= LOG_WINDOW_SEC) {
		if (log_state.suppressed)
			log_msg(LOG_NOTICE, "%lu similar messages suppressed",
				log_state.suppressed);
		log_state.window_start = now.tv_sec;
		log_state.in_window = 0;
		log_state.suppressed = 0;
	}
	if (log_state.in_window >= LOG_BURST) {
		log_state.suppressed++;
		return false;
	}
	log_state.in_window++;
	return true;
}

void log_ctx_limited(int prio, const struct log_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (prio >= LOG_DEBUG && !log_state.verbose)
		return;
	if (!log_limit_allows())
		return;
	va_start(ap, fmt);
	log_vmsg(prio, ctx, fmt, ap);
	va_end(ap);
}
