/* SPDX-License-Identifier: MIT */
#include "peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <utlist.h>

#include "wire.h"

/*
 * Datagrams read per readable wakeup.  One: clients mostly wait for each
 * reply, so reading on until EAGAIN would cost a second recvmsg() per
 * request; the level-triggered event brings us back for any pipelined
 * rest, which also keeps one busy client from starving the others.
 */
#define PEER_READ_BATCH 1

/* A packed frame waiting for the socket, with the fds it carries. */
struct peer_frame {
	struct peer_frame *next;
	struct fds_set fds;		/* all owned */
	uint32_t len;
	uint8_t data[];
};

struct peer {
	const struct peer_ops *ops;
	void *ctx;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_closed;	/* hung up; watched while paused */
	struct peer_frame *out_head, *out_tail;
	uint32_t nout;
	uint32_t out_bytes;
	uint32_t out_fds;
	struct peer_budget *budget;	/* shared with others; or NULL */
	size_t max_frame;
	int fd;
	bool paused;
	bool stopped;
};

/* One receive buffer for every peer: the loop is single-threaded. */
static uint8_t peer_rx[DBB_WIRE_MAX_FRAME];

static void peer_frame_free(struct peer_frame *f)
{
	fds_drop(&f->fds);
	free(f);
}

void peer_stop(struct peer *p)
{
	p->stopped = true;
	event_del(p->ev_read);
	event_del(p->ev_write);
	event_del(p->ev_closed);
}

static void peer_lose(struct peer *p, enum peer_loss loss, const char *why)
{
	if (p->stopped)
		return;
	peer_stop(p);
	p->ops->lost(p->ctx, loss, why);
}

void peer_free(struct peer *p)
{
	struct peer_frame *f, *tmp;

	if (!p)
		return;
	if (p->budget) {
		p->budget->bytes -= p->out_bytes;
		p->budget->fds -= p->out_fds;
	}
	LL_FOREACH_SAFE(p->out_head, f, tmp)
		peer_frame_free(f);
	if (p->ev_read)
		event_free(p->ev_read);
	if (p->ev_write)
		event_free(p->ev_write);
	if (p->ev_closed)
		event_free(p->ev_closed);
	close(p->fd);
	free(p);
}

/*
 * While reading is paused, a hang-up would go unseen until the request in
 * flight ends, and the connection would hold its slot and have its slow
 * work (a large Alloc) done for nobody: the kernel's EPOLLRDHUP says it
 * at once.
 */
void peer_pause(struct peer *p, bool paused)
{
	p->paused = paused;
	if (paused || p->stopped)
		event_del(p->ev_read);
	else
		event_add(p->ev_read, NULL);
	if (paused && !p->stopped)
		event_add(p->ev_closed, NULL);
	else
		event_del(p->ev_closed);
}

static void peer_on_closed(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	if (p->paused)
		peer_lose(p, PEER_LOST_EOF,
			  "hung up with a request in progress");
}

void peer_set_budget(struct peer *p, struct peer_budget *b)
{
	p->budget = b;
}

bool peer_queued(const struct peer *p)
{
	return p->out_head != NULL;
}

/* Sends queued frames until the socket is full. */
static void peer_flush(struct peer *p)
{
	while (p->out_head) {
		struct peer_frame *f = p->out_head;
		int ret = wire_send(p->fd, f->data, f->len, f->fds.fd,
				    f->fds.n, MSG_DONTWAIT);

		if (ret == -EAGAIN) {
			event_add(p->ev_write, NULL);
			return;
		}
		if (ret < 0) {
			peer_lose(p, PEER_LOST_ERROR, "send failed");
			return;
		}
		p->out_head = f->next;
		if (!p->out_head)
			p->out_tail = NULL;
		p->nout--;
		p->out_bytes -= f->len;
		p->out_fds -= (uint32_t)f->fds.n;
		if (p->budget) {
			p->budget->bytes -= f->len;
			p->budget->fds -= f->fds.n;
		}
		peer_frame_free(f);
	}
	event_del(p->ev_write);
	if (p->ops->drained)
		p->ops->drained(p->ctx);
}

static void peer_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	if (!p->stopped)
		peer_flush(p);
}

/* Appends a frame; borrowed fds are dup'd so that the frame owns what it
 * carries even if the buffer leaves the registry meanwhile. */
static int peer_queue(struct peer *p, const uint8_t *data, size_t len,
		      struct fds_set *fds)
{
	struct peer_budget *b = p->budget;
	struct peer_frame *f;

	if (p->nout >= PEER_MAX_QUEUE_FRAMES ||
	    p->out_bytes + len > PEER_MAX_QUEUE_BYTES) {
		fds_drop(fds);
		peer_lose(p, PEER_LOST_VIOLATION,
			  "output queue overflow (client does not read)");
		return -ENOBUFS;
	}
	if (b && ((b->max_bytes && b->bytes + len > b->max_bytes) ||
		  (b->max_fds && b->fds + fds->n > b->max_fds))) {
		fds_drop(fds);
		peer_lose(p, PEER_LOST_VIOLATION, "output queues of its uid "
			  "over their share (its clients do not read)");
		return -ENOBUFS;
	}
	f = malloc(sizeof(*f) + len);
	if (!f || fds_own(fds) < 0) {
		free(f);
		fds_drop(fds);
		peer_lose(p, PEER_LOST_ERROR, "out of memory or fds");
		return -ENOMEM;
	}
	f->next = NULL;
	fds_move(&f->fds, fds);
	f->len = (uint32_t)len;
	memcpy(f->data, data, len);
	if (p->out_tail)
		p->out_tail->next = f;
	else
		p->out_head = f;
	p->out_tail = f;
	p->nout++;
	p->out_bytes += (uint32_t)len;
	p->out_fds += (uint32_t)f->fds.n;
	if (b) {
		b->bytes += len;
		b->fds += f->fds.n;
	}
	event_add(p->ev_write, NULL);
	return 0;
}

int peer_send(struct peer *p, const uint8_t *data, size_t len,
	      struct fds_set *fds)
{
	struct fds_set none;
	int ret;

	if (!fds) {
		fds_init(&none);
		fds = &none;
	}
	if (p->stopped) {
		fds_drop(fds);
		return -EPIPE;
	}
	if (p->out_head)
		return peer_queue(p, data, len, fds);
	ret = wire_send(p->fd, data, len, fds->fd, fds->n, MSG_DONTWAIT);
	if (ret == -EAGAIN)
		return peer_queue(p, data, len, fds);
	fds_drop(fds);
	if (ret < 0) {
		peer_lose(p, PEER_LOST_ERROR, "send failed");
		return ret;
	}
	if (p->ops->drained)
		p->ops->drained(p->ctx);
	return 0;
}

static void peer_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	for (int i = 0; i < PEER_READ_BATCH && !p->stopped && !p->paused; i++) {
		int fds[PEER_MAX_RX_FDS];
		size_t nfds;
		ssize_t n = wire_recv(p->fd, peer_rx, p->max_frame, fds,
				      PEER_MAX_RX_FDS, &nfds, MSG_DONTWAIT);

		if (n == -EAGAIN)
			return;
		if (n == 0)
			peer_lose(p, PEER_LOST_EOF, "end of stream");
		else if (n == -EMSGSIZE)
			peer_lose(p, PEER_LOST_VIOLATION, "frame over max_request_size");
		else if (n == -EBADMSG)
			peer_lose(p, PEER_LOST_VIOLATION, "frame carried too many fds");
		else if (n < 0)
			peer_lose(p, PEER_LOST_ERROR, "receive failed");
		if (n <= 0 || !p->ops->frame(p->ctx, peer_rx, (size_t)n, fds, nfds))
			return;
	}
}

struct peer *peer_create(struct event_base *base, int fd, int prio,
			 size_t max_frame, const struct peer_ops *ops,
			 void *ctx)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (!p) {
		close(fd);
		return NULL;
	}
	p->fd = fd;
	p->ops = ops;
	p->ctx = ctx;
	p->max_frame = max_frame < sizeof(peer_rx) ? max_frame : sizeof(peer_rx);
	p->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, peer_on_read, p);
	p->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, peer_on_write, p);
	p->ev_closed = event_new(base, fd, EV_CLOSED | EV_PERSIST,
				 peer_on_closed, p);
	if (!p->ev_read || !p->ev_write || !p->ev_closed ||
	    event_priority_set(p->ev_read, prio) < 0 ||
	    event_priority_set(p->ev_write, prio) < 0 ||
	    event_priority_set(p->ev_closed, prio) < 0 ||
	    event_add(p->ev_read, NULL) < 0) {
		peer_free(p);
		return NULL;
	}
	return p;
}
