/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the worker thread (daemon/worker.c): waiting jobs run in
 * turns by uid, not in arrival order, so that many jobs of one uid do not
 * hold another's back; a job cancelled before it started never runs and
 * is handed back at once; jobs left at shutdown are handed back cancelled.
 * Links only worker.o and libevent.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <event2/event.h>

#include "worker.h"

#define MAX_RUNS 16

/* What the jobs saw, in order. */
struct log {
	sem_t gate;			/* the first job waits on it */
	uid_t ran[MAX_RUNS];		/* by the worker thread only */
	unsigned nran;
	unsigned ndone, ncancelled;	/* on the test's thread */
};

struct job {
	struct worker_job base;
	struct log *log;
	bool blocks;
};

static void job_run(struct worker_job *wj)
{
	struct job *j = (struct job *)wj;

	if (j->blocks)
		sem_wait(&j->log->gate);
	j->log->ran[j->log->nran++] = wj->uid;
}

static void job_done(struct worker_job *wj, bool cancelled)
{
	struct job *j = (struct job *)wj;

	j->log->ndone++;
	j->log->ncancelled += cancelled;
	free(j);
}

static struct job *job_new(struct log *log, uid_t uid, bool blocks)
{
	struct job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->base.run = job_run;
	j->base.done = job_done;
	j->base.uid = uid;
	j->log = log;
	j->blocks = blocks;
	return j;
}

/* Runs the loop until @n jobs were handed back. */
static void wait_done(struct event_base *base, struct log *log, unsigned n)
{
	while (log->ndone < n)
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
}

static void test_turns_by_uid(void **state)
{
	static const uid_t queued[] = { 1000, 1000, 1000, 0, 1001 };
	/* After the first (uid 5): the next uid above the last one served,
	 * wrapping to the smallest. */
	static const uid_t want[] = { 5, 1000, 1001, 0, 1000, 1000 };
	struct event_base *base = event_base_new();
	struct log log = { .nran = 0 };
	struct worker *w;

	(void)state;
	assert_non_null(base);
	assert_int_equal(0, sem_init(&log.gate, 0, 0));
	w = worker_create(base, 0);
	assert_non_null(w);
	worker_submit(w, &job_new(&log, 5, true)->base);
	for (size_t i = 0; i < sizeof(queued) / sizeof(queued[0]); i++)
		worker_submit(w, &job_new(&log, queued[i], false)->base);
	sem_post(&log.gate);
	wait_done(base, &log, 6);
	assert_int_equal(6, log.nran);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(want[i], log.ran[i]);
	assert_int_equal(0, log.ncancelled);
	worker_destroy(w);
	sem_destroy(&log.gate);
	event_base_free(base);
}

static void test_cancel_before_start(void **state)
{
	struct event_base *base = event_base_new();
	struct log log = { .nran = 0 };
	struct job *first, *doomed;
	struct worker *w;

	(void)state;
	assert_non_null(base);
	assert_int_equal(0, sem_init(&log.gate, 0, 0));
	w = worker_create(base, 0);
	assert_non_null(w);
	first = job_new(&log, 1000, true);
	doomed = job_new(&log, 1000, false);
	worker_submit(w, &first->base);
	worker_submit(w, &doomed->base);
	/* Handed back at once, cancelled, before the first even ends. */
	worker_cancel(w, &doomed->base);
	assert_int_equal(1, log.ndone);
	assert_int_equal(1, log.ncancelled);
	sem_post(&log.gate);
	wait_done(base, &log, 2);
	/* Only the first ran; cancelling a finished job changes nothing. */
	assert_int_equal(1, log.nran);
	assert_int_equal(1, log.ncancelled);
	worker_destroy(w);
	sem_destroy(&log.gate);
	event_base_free(base);
}

static void test_destroy_hands_back_waiting(void **state)
{
	struct event_base *base = event_base_new();
	struct log log = { .nran = 0 };
	struct worker *w;

	(void)state;
	assert_non_null(base);
	assert_int_equal(0, sem_init(&log.gate, 0, 1));	/* no wait */
	w = worker_create(base, 0);
	assert_non_null(w);
	for (int i = 0; i < 4; i++)
		worker_submit(w, &job_new(&log, 1000, false)->base);
	worker_destroy(w);
	/* The loop never ran: each job is handed back once, cancelled,
	 * whether or not it ran. */
	assert_int_equal(4, log.ndone);
	assert_int_equal(4, log.ncancelled);
	assert_true(log.nran <= 4);
	sem_destroy(&log.gate);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_turns_by_uid),
		cmocka_unit_test(test_cancel_before_start),
		cmocka_unit_test(test_destroy_hands_back_waiting),
	};

	return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
