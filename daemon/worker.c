/* SPDX-License-Identifier: MIT */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* Both in arrival order, under lock: waiting to run (taken in
	 * turns by uid, worker_next()), and finished. */
	struct worker_job *pending_head, *pending_tail;
	struct worker_job *done_head, *done_tail;
	uid_t last_uid;			/* whose job ran last */
	bool stop;
	int efd;			/* written once per finished job */
	struct event *ev_done;
};

static void worker_push(struct worker_job **head, struct worker_job **tail,
			struct worker_job *job)
{
	job->next = NULL;
	if (*tail)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

/*
 * Unlinks and returns the next job to run: the oldest of the smallest uid
 * above the last one served, or else of the smallest uid.  Under lock,
 * with jobs pending.
 */
static struct worker_job *worker_next(struct worker *w)
{
	struct worker_job *after = NULL, *lowest = NULL, *job, *prev = NULL;
	struct worker_job *pick;

	for (job = w->pending_head; job; job = job->next) {
		if (job->uid > w->last_uid && (!after || job->uid < after->uid))
			after = job;
		if (!lowest || job->uid < lowest->uid)
			lowest = job;
	}
	pick = after ? after : lowest;
	for (job = w->pending_head; job != pick; job = job->next)
		prev = job;
	if (prev)
		prev->next = pick->next;
	else
		w->pending_head = pick->next;
	if (w->pending_tail == pick)
		w->pending_tail = prev;
	w->last_uid = pick->uid;
	return pick;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct worker_job *job;

		while (!w->stop && !w->pending_head)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		job = worker_next(w);
		pthread_mutex_unlock(&w->lock);
		job->run(job);
		pthread_mutex_lock(&w->lock);
		worker_push(&w->done_head, &w->done_tail, job);
		/* Cannot fail short of 2^64 - 1 unread completions. */
		(void)!write(w->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Takes both queues' contents: finished jobs first, then waiting ones. */
static struct worker_job *worker_take(struct worker *w, bool pending_too)
{
	struct worker_job *list;

	pthread_mutex_lock(&w->lock);
	list = w->done_head;
	if (pending_too && w->pending_head) {
		if (w->done_tail)
			w->done_tail->next = w->pending_head;
		else
			list = w->pending_head;
		w->pending_head = w->pending_tail = NULL;
	}
	w->done_head = w->done_tail = NULL;
	pthread_mutex_unlock(&w->lock);
	return list;
}

static void worker_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_job *job, *next;
	uint64_t n;

	(void)!read(w->efd, &n, sizeof(n));
	for (job = worker_take(w, false); job; job = next) {
		next = job->next;
		job->done(job, false);
	}
}

struct worker *worker_create(struct event_base *base, int prio)
{
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int err;

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0)
		goto err_free;
	w->ev_done = event_new(base, w->efd, EV_READ | EV_PERSIST,
			       worker_on_done, w);
	if (!w->ev_done || event_priority_set(w->ev_done, prio) < 0 ||
	    event_add(w->ev_done, NULL) < 0) {
		errno = ENOMEM;
		goto err_free_event;
	}
	/* Signals are the loop's (libevent): the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		goto err_free_event;
	}
	return w;

err_free_event:
	err = errno;
	if (w->ev_done)
		event_free(w->ev_done);
	close(w->efd);
	errno = err;
err_free:
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return NULL;
}

void worker_submit(struct worker *w, struct worker_job *job)
{
	pthread_mutex_lock(&w->lock);
	worker_push(&w->pending_head, &w->pending_tail, job);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void worker_cancel(struct worker *w, struct worker_job *job)
{
	struct worker_job *j, *prev = NULL;

	pthread_mutex_lock(&w->lock);
	for (j = w->pending_head; j && j != job; j = j->next)
		prev = j;
	if (j) {
		if (prev)
			prev->next = j->next;
		else
			w->pending_head = j->next;
		if (w->pending_tail == j)
			w->pending_tail = prev;
	}
	pthread_mutex_unlock(&w->lock);
	if (j)
		job->done(job, true);
}

void worker_destroy(struct worker *w)
{
	struct worker_job *job, *next;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	for (job = worker_take(w, true); job; job = next) {
		next = job->next;
		job->done(job, true);
	}
	event_free(w->ev_done);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
