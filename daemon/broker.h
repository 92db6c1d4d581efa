/* SPDX-License-Identifier: MIT */
/*
 * What request handlers see of the broker: the registry, the config, the
 * backends, the worker, the quota keeper, the watchers, the pools and
 * queues, and the counters
 * Stats reports.  Not the listening socket, the client list or the reaper:
 * those are the server's (server.c), which owns this struct.
 */
#ifndef DBB_BROKER_H
#define DBB_BROKER_H

#include <stdint.h>

#include <event2/event.h>

#define BROKER_VERSION "0.1.0"
#define BROKER_PROTOCOL_VERSION 1u

/* The most features a broker names (struct broker.features). */
#define BROKER_MAX_FEATURES 12

/*
 * Event priorities: accepting connections, freeing dead clients and buffer
 * releases come before client requests, so that a reply (e.g. Stats) never
 * describes a state in which a connection already made or closed, or a
 * buffer already freed, is not yet counted.
 */
#define BROKER_PRIO_HIGH 0
#define BROKER_PRIO_CLIENT 1
#define BROKER_NPRIO 2

struct backend_set;
struct config;
struct persist;
struct quota;
struct registry;
struct resume;
struct shares;
struct streams;
struct watch;
struct worker;

struct broker {
	struct event_base *base;
	const struct config *cfg;
	struct backend_set *backends;
	struct registry *reg;
	struct worker *worker;		/* allocates large buffers */
	struct quota *quota;		/* charges kept until memory is freed */
	struct shares *shares;		/* limits shared by every uid */
	struct watch *watch;		/* clients that asked for events */
	struct persist *persist;	/* the fd store; main.c's */
	struct resume *resume;		/* broken connections' sessions */
	struct streams *streams;	/* pools and their queues */
	/*
	 * What this broker can do beyond protocol version 1's first form,
	 * named in HelloReply.features; a client lists those it relies on
	 * in Hello.required_features.  docs/protocol.md says what each
	 * means.  NULL-terminated; set by broker_init_features().
	 */
	const char *features[BROKER_MAX_FEATURES + 1];
	uint64_t next_client_id;	/* connection ids, never reused */
	uint32_t nclients;		/* connected, for Stats */
	uint64_t requests;
	uint64_t errors;
	uint64_t start_usec;		/* CLOCK_MONOTONIC */
};

/* Fills b->features: those every broker has, and "resume" when b->cfg
 * keeps broken connections' sessions. */
void broker_init_features(struct broker *b);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t broker_monotonic_usec(void);

/* Microseconds since the broker started. */
uint64_t broker_uptime_usec(const struct broker *b);

#endif
