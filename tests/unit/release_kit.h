/* SPDX-License-Identifier: MIT */
/*
 * The kit of the release tracker's tests (test_release.c for the tracker
 * and memfds, test_release_dmabuf.c for dma-bufs): a fixture with its own
 * event base and tracker that counts reports per cookie, and helpers to run
 * the loop and make buffers.  Functions start with kit_.
 */
#ifndef DBB_TESTS_RELEASE_KIT_H
#define DBB_TESTS_RELEASE_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "release.h"

#define KIT_MAX_COOKIE (1u << 17)
#define KIT_BUF_SIZE 65536

struct kit {
	struct event_base *base;
	struct release_tracker *t;
	uint8_t *hits;			/* reports per cookie */
	size_t nfreed, nunknown;
	uint64_t last_cookie;
	enum release_reason last_why;
	/* Optional: run inside the callback, after it is counted. */
	void (*on_report)(struct kit *f, uint64_t cookie);
	uint64_t arg;
	int dev;			/* dma-buf cases: the source's device */
	const struct kit_source *src;	/* dma-buf cases: the prestate */
};

/* cmocka setup and teardown: a fixture in *state; the prestate, if any,
 * becomes its src. */
int kit_setup(void **state);
int kit_teardown(void **state);

/* The tracker's callback: counts the report, then calls on_report. */
void kit_record(void *ctx, uint64_t cookie, enum release_reason why);

/* Reports so far, freed and unknown. */
size_t kit_reports(const struct kit *f);

/* Runs the loop for @ms milliseconds. */
void kit_run_for(struct kit *f, int ms);

/* Runs the loop until @want reports came (or 20 s went), then 50 ms more
 * so that a report too many would show. */
void kit_settle(struct kit *f, size_t want);

/* A memfd of KIT_BUF_SIZE bytes that allows sealing. */
int kit_new_memfd(void);

bool kit_fd_is_open(int fd);

/* Opens @fd's file again, as a holder with only a pid and fd number can. */
int kit_reopen(int fd, int flags);

/* The integer in file @path, or -1. */
int kit_read_int(const char *path);

/*
 * More releases than the kernel queues (max_queued_events): tracks @live
 * under cookies from @first_live on, then that many + 512 memfds, each
 * closed at once, under cookies from 0 on, without running the loop.
 * Returns the number of those memfds; SKIPs when they would not fit.
 */
unsigned kit_flood(struct kit *f, const int *live, unsigned nlive,
		   unsigned first_live);

#endif
