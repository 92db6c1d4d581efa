/* SPDX-License-Identifier: MIT */
/*
 * One helper thread for work too slow for the event loop (allocating every
 * page of a large buffer).  A job's run() executes on the helper thread and
 * must touch nothing the loop uses; its done() is called back on the loop
 * thread, in the order the jobs finished, through an eventfd the loop
 * watches.  Waiting jobs run in turns by uid, not in arrival order: the
 * next is the oldest of the uid that follows the last one served, so
 * that many jobs of one uid delay another's by at most one each.
 */
#ifndef DBB_WORKER_H
#define DBB_WORKER_H

#include <stdbool.h>
#include <sys/types.h>

#include <event2/event.h>

struct client;
struct worker;

struct worker_job {
	struct worker_job *next;		/* the worker's queues */
	/* On the helper thread. */
	void (*run)(struct worker_job *job);
	/* On the loop thread, once run() returned; or from
	 * worker_destroy() with @cancelled set (run() may not have run).
	 * Owns the job from then on. */
	void (*done)(struct worker_job *job, bool cancelled);
	/* The client waiting for it; set to NULL on the loop thread when
	 * that client dies.  The worker never reads it. */
	struct client *client;
	uid_t uid;				/* whose turn it takes */
};

/*
 * Starts the helper thread and watches its completions on @base at event
 * priority @prio.  Returns NULL on failure (errno set).
 */
struct worker *worker_create(struct event_base *base, int prio);

/* Queues @job (owned by the worker until its done() is called). */
void worker_submit(struct worker *w, struct worker_job *job);

/*
 * Takes @job out of the queue if it has not started, and hands it to its
 * done() with cancelled set at once; a job running or finished is left
 * to complete as usual.  On the loop thread.
 */
void worker_cancel(struct worker *w, struct worker_job *job);

/*
 * Stops the helper thread after the job it is running, joins it, and hands
 * every job not yet reported to its done() with cancelled set.  Accepts
 * NULL.
 */
void worker_destroy(struct worker *w);

#endif
