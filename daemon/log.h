/* SPDX-License-Identifier: MIT */
/*
 * Logging: to the journal with structured fields when stderr is connected
 * to it (JOURNAL_STREAM), else one line per message on stderr.  The daemon
 * logs once, where it decides.
 */
#ifndef DBB_LOG_H
#define DBB_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

/* Chooses the sink; @verbose enables LOG_DEBUG messages. */
void log_init(bool verbose);

/* Whether messages go to the journal. */
bool log_to_journal(void);

/* A message with no fields beyond MESSAGE and PRIORITY. */
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A message about a client and/or buffer: in the journal with the fields
 * DBB_CLIENT_ID, DBB_UID, DBB_PID, DBB_BUFFER_ID (those that are non-zero;
 * uid 0 is logged when @client_id is set).  On stderr the same fields are
 * appended as "client=N uid=N pid=N buffer=N".
 */
struct log_ctx {
	uint64_t client_id;
	uint32_t uid;
	uint32_t pid;
	uint64_t buffer_id;
};

void log_ctx_msg(int prio, const struct log_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The same, for messages a client can trigger at will (protocol
 * violations): at most LOG_BURST per LOG_WINDOW_SEC seconds; the number
 * suppressed is logged with the next one let through.
 */
#define LOG_BURST 20
#define LOG_WINDOW_SEC 10
void log_ctx_limited(int prio, const struct log_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
