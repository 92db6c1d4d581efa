/* SPDX-License-Identifier: MIT */
/*
 * Writes the fuzz targets' seed corpus: valid sessions in the input format
 * of fuzz_util.h, one file per scene, under DIR/broker and DIR/libclient.
 * Usage: gen_seeds DIR (make fuzz-seeds: DIR is fuzz/corpus).
 *
 * Broker seeds are requests as a client sends them (control bit 4: the
 * second connection, bit 5: connect again first).  Library seeds are what
 * a broker answers: the first record stands for the Hello's reply, each
 * later one is a ServerMessage and the call (control bits 4-7) that reads
 * it, with seq 2 for the first call's reply, 3 for the next...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dmabuf_broker.pb-c.h"
#include "fuzz_util.h"

#define SEED_MAX (256u * 1024u)
#define XR24 0x34325258u

/* Control bits: connection, reconnect, fds, library calls. */
#define CONN1 0x10
#define RECONNECT 0x20
#define ONE_FD(kind) (1u | (unsigned)(kind) << 2)
#define CALL(c) ((unsigned)(c) << 4)

/* The library target's calls (enum fuzz_call in fuzz_libclient.c). */
enum { INFO_BY_ID, INFO_BY_NAME, LIST, STATS, BACKENDS, ALLOC, ALLOC_IMAGE,
       OPEN_BY_ID, OPEN_BY_NAME, PIN, REGISTER_FD, GRANT, SET_NAME, REMOVE,
       WATCH, DISPATCH };

static uint8_t seed[SEED_MAX];
static size_t seed_len;
static const char *out_dir;

static void seed_record(unsigned ctl, const ProtobufCMessage *msg)
{
	size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;

	if (seed_len + 3 + len > SEED_MAX || len > 0xffff) {
		fprintf(stderr, "gen_seeds: seed too large\n");
		exit(1);
	}
	seed[seed_len++] = (uint8_t)ctl;
	seed[seed_len++] = (uint8_t)len;
	seed[seed_len++] = (uint8_t)(len >> 8);
	if (msg)
		protobuf_c_message_pack(msg, seed + seed_len);
	seed_len += len;
}

static void seed_write(const char *target, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(seed, 1, seed_len, f) != seed_len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	seed_len = 0;
}

/* ---- requests ---- */

typedef DmabufBroker__V1__Request Request;

static uint64_t next_seq;

static void req_send(unsigned ctl, Request *r)
{
	r->seq = ++next_seq;
	seed_record(ctl, &r->base);
}

static void req_hello(unsigned ctl, const char *feature)
{
	DmabufBroker__V1__Hello h = DMABUF_BROKER__V1__HELLO__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;
	char *features[] = { (char *)feature };

	h.protocol_version = 1;
	h.client_name = "seed";
	if (feature) {
		h.required_features = features;
		h.n_required_features = 1;
	}
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_HELLO;
	r.hello = &h;
	req_send(ctl, &r);
}

static void req_alloc(unsigned ctl, uint64_t size, const char *name,
		      bool persistent, bool everyone)
{
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	DmabufBroker__V1__Grant *gs[] = { &g };
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	a.size = size;
	a.name = (char *)(name ? name : "");
	a.lifetime = persistent ? DMABUF_BROKER__V1__LIFETIME__LIFETIME_PERSISTENT :
				  DMABUF_BROKER__V1__LIFETIME__LIFETIME_CLIENT;
	if (everyone) {
		g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
		g.everyone = true;
		g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ_WRITE;
		a.grants = gs;
		a.n_grants = 1;
	}
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ALLOC;
	r.alloc = &a;
	req_send(ctl, &r);
}

static void req_alloc_image(unsigned ctl, bool own_layout)
{
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__ImageLayout l = DMABUF_BROKER__V1__IMAGE_LAYOUT__INIT;
	DmabufBroker__V1__Plane p = DMABUF_BROKER__V1__PLANE__INIT;
	DmabufBroker__V1__Plane *ps[] = { &p };
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	if (own_layout) {
		l.fourcc = XR24;
		l.width = 64;
		l.height = 64;
		p.stride = 256;
		l.planes = ps;
		l.n_planes = 1;
		a.layout = &l;
		a.size = 64 * 256;
	} else {
		a.fourcc = XR24;
		a.width = 64;
		a.height = 48;
	}
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ALLOC;
	r.alloc = &a;
	req_send(ctl, &r);
}

static void req_import(unsigned ctl, uint64_t id, const char *name,
		       bool read_only)
{
	DmabufBroker__V1__ImportRequest i = DMABUF_BROKER__V1__IMPORT_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	if (name) {
		i.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_NAME;
		i.name = (char *)name;
	} else {
		i.target_case = DMABUF_BROKER__V1__IMPORT_REQUEST__TARGET_ID;
		i.id = id;
	}
	i.read_only = read_only;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_IMPORT;
	r.import = &i;
	req_send(ctl, &r);
}

static void req_info(unsigned ctl, uint64_t id, const char *name)
{
	DmabufBroker__V1__InfoRequest i = DMABUF_BROKER__V1__INFO_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	if (name) {
		i.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_NAME;
		i.name = (char *)name;
	} else {
		i.target_case = DMABUF_BROKER__V1__INFO_REQUEST__TARGET_ID;
		i.id = id;
	}
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_INFO;
	r.info = &i;
	req_send(ctl, &r);
}

static void req_list(unsigned ctl, uint64_t after, uint32_t max)
{
	DmabufBroker__V1__ListRequest l = DMABUF_BROKER__V1__LIST_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	l.after_id = after;
	l.max_entries = max;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_LIST;
	r.list = &l;
	req_send(ctl, &r);
}

static void req_grant(unsigned ctl, uint64_t id, uint32_t uid, int access)
{
	DmabufBroker__V1__GrantRequest gr = DMABUF_BROKER__V1__GRANT_REQUEST__INIT;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_UID;
	g.uid = uid;
	g.access = (DmabufBroker__V1__Access)access;
	gr.id = id;
	gr.grant = &g;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_GRANT;
	r.grant = &gr;
	req_send(ctl, &r);
}

static void req_publish(unsigned ctl, uint64_t id, const char *name)
{
	DmabufBroker__V1__PublishRequest p = DMABUF_BROKER__V1__PUBLISH_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	p.id = id;
	p.name = (char *)name;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_PUBLISH;
	r.publish = &p;
	req_send(ctl, &r);
}

/* Release or Destroy of @id. */
static void req_release(unsigned ctl, uint64_t id, bool destroy)
{
	DmabufBroker__V1__ReleaseRequest rel = DMABUF_BROKER__V1__RELEASE_REQUEST__INIT;
	DmabufBroker__V1__DestroyRequest des = DMABUF_BROKER__V1__DESTROY_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	if (destroy) {
		des.id = id;
		r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_DESTROY;
		r.destroy = &des;
	} else {
		rel.id = id;
		r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_RELEASE;
		r.release = &rel;
	}
	req_send(ctl, &r);
}

static void req_simple(unsigned ctl, DmabufBroker__V1__Request__BodyCase body)
{
	DmabufBroker__V1__StatsRequest s = DMABUF_BROKER__V1__STATS_REQUEST__INIT;
	DmabufBroker__V1__BackendsRequest b = DMABUF_BROKER__V1__BACKENDS_REQUEST__INIT;
	DmabufBroker__V1__GoodbyeRequest g = DMABUF_BROKER__V1__GOODBYE_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	r.body_case = body;
	if (body == DMABUF_BROKER__V1__REQUEST__BODY_STATS)
		r.stats = &s;
	else if (body == DMABUF_BROKER__V1__REQUEST__BODY_BACKENDS)
		r.backends = &b;
	else
		r.goodbye = &g;
	req_send(ctl, &r);
}

static void req_watch(unsigned ctl, bool enable)
{
	DmabufBroker__V1__WatchRequest w = DMABUF_BROKER__V1__WATCH_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	w.enable = enable;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_WATCH;
	r.watch = &w;
	req_send(ctl, &r);
}

static void req_pin(unsigned ctl, uint64_t length)
{
	DmabufBroker__V1__PinRequest p = DMABUF_BROKER__V1__PIN_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	p.length = length;
	p.name = "pinned";
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_PIN;
	r.pin = &p;
	req_send(ctl, &r);
}

static void req_adopt(unsigned ctl)
{
	DmabufBroker__V1__AdoptRequest a = DMABUF_BROKER__V1__ADOPT_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	a.name = "adopted";
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_ADOPT;
	r.adopt = &a;
	req_send(ctl, &r);
}

static void req_pool_alloc(unsigned ctl, uint32_t count, const char *name,
			   bool everyone)
{
	DmabufBroker__V1__PoolAllocRequest pa =
		DMABUF_BROKER__V1__POOL_ALLOC_REQUEST__INIT;
	DmabufBroker__V1__AllocRequest a = DMABUF_BROKER__V1__ALLOC_REQUEST__INIT;
	DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	DmabufBroker__V1__Grant *gs[] = { &g };
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	a.size = 4096;
	a.name = (char *)(name ? name : "");
	if (everyone) {
		g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_EVERYONE;
		g.everyone = true;
		g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ;
		a.grants = gs;
		a.n_grants = 1;
	}
	pa.count = count;
	pa.buffer = &a;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_ALLOC;
	r.pool_alloc = &pa;
	req_send(ctl, &r);
}

static void req_pool_open(unsigned ctl, uint64_t id, const char *name,
			  bool read_only)
{
	DmabufBroker__V1__PoolOpenRequest po =
		DMABUF_BROKER__V1__POOL_OPEN_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	if (name) {
		po.target_case = DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_NAME;
		po.name = (char *)name;
	} else {
		po.target_case = DMABUF_BROKER__V1__POOL_OPEN_REQUEST__TARGET_ID;
		po.id = id;
	}
	po.read_only = read_only;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOL_OPEN;
	r.pool_open = &po;
	req_send(ctl, &r);
}

static void req_pools(unsigned ctl, uint64_t after)
{
	DmabufBroker__V1__PoolsRequest pr = DMABUF_BROKER__V1__POOLS_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	pr.after_id = after;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_POOLS;
	r.pools = &pr;
	req_send(ctl, &r);
}

static void req_queue_create(unsigned ctl, uint64_t pool, int policy,
			     uint32_t max_in_flight)
{
	DmabufBroker__V1__QueueCreateRequest qc =
		DMABUF_BROKER__V1__QUEUE_CREATE_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	qc.pool_id = pool;
	qc.policy = (DmabufBroker__V1__QueuePolicy)policy;
	qc.max_in_flight = max_in_flight;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_CREATE;
	r.queue_create = &qc;
	req_send(ctl, &r);
}

static void req_queue_attach(unsigned ctl, uint64_t pool, const char *name,
			     bool read_only)
{
	DmabufBroker__V1__QueueAttachRequest qa =
		DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	if (name) {
		qa.target_case = DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_NAME;
		qa.name = (char *)name;
	} else {
		qa.target_case =
			DMABUF_BROKER__V1__QUEUE_ATTACH_REQUEST__TARGET_POOL_ID;
		qa.pool_id = pool;
	}
	qa.read_only = read_only;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_ATTACH;
	r.queue_attach = &qa;
	req_send(ctl, &r);
}

static void req_queue_detach(unsigned ctl, uint64_t pool)
{
	DmabufBroker__V1__QueueDetachRequest qd =
		DMABUF_BROKER__V1__QUEUE_DETACH_REQUEST__INIT;
	Request r = DMABUF_BROKER__V1__REQUEST__INIT;

	qd.pool_id = pool;
	r.body_case = DMABUF_BROKER__V1__REQUEST__BODY_QUEUE_DETACH;
	r.queue_detach = &qd;
	req_send(ctl, &r);
}

#define STATS DMABUF_BROKER__V1__REQUEST__BODY_STATS
#define BACKENDS_REQ DMABUF_BROKER__V1__REQUEST__BODY_BACKENDS
#define GOODBYE DMABUF_BROKER__V1__REQUEST__BODY_GOODBYE

static void broker_seeds(void)
{
	const unsigned memfd = ONE_FD(FUZZ_FD_MEMFD_SEALED);

	req_hello(0, NULL);
	req_simple(0, STATS);
	req_simple(0, BACKENDS_REQ);
	seed_write("broker", "hello-stats-backends");

	req_simple(0, STATS);
	seed_write("broker", "request-before-hello");

	req_hello(0, NULL);
	req_hello(0, NULL);
	seed_write("broker", "second-hello");

	req_hello(0, "no-such-feature");
	seed_write("broker", "hello-unknown-feature");

	req_hello(0, NULL);
	req_alloc(0, 4096, "a", false, false);
	req_info(0, 1, NULL);
	req_info(0, 0, "a");
	req_list(0, 0, 0);
	req_simple(0, STATS);
	req_release(0, 1, true);
	seed_write("broker", "alloc-info-list-destroy");

	req_hello(0, NULL);
	req_alloc_image(0, false);
	req_alloc_image(0, true);
	req_list(0, 1, 1);
	seed_write("broker", "alloc-images");

	req_hello(0, NULL);
	req_alloc(0, 8192, "shared", true, true);
	req_hello(CONN1, NULL);
	req_import(CONN1, 0, "shared", false);
	req_import(CONN1, 1, NULL, true);
	req_grant(0, 1, 1000, DMABUF_BROKER__V1__ACCESS__ACCESS_READ);
	req_publish(0, 1, "renamed");
	req_release(CONN1, 1, false);
	req_info(CONN1, 0, "renamed");
	req_release(0, 1, true);
	seed_write("broker", "two-clients-share");

	req_hello(0, NULL);
	req_watch(0, true);
	req_hello(CONN1, NULL);
	req_alloc(CONN1, 4096, NULL, false, false);
	req_publish(CONN1, 1, "named-again");
	req_release(CONN1, 1, true);
	req_watch(0, false);
	seed_write("broker", "watch-events");

	req_hello(0, NULL);
	req_pin(memfd, 4096);
	req_adopt(memfd);
	req_pin(0, 4096);
	seed_write("broker", "pin-adopt");

	req_hello(0, NULL);
	req_simple(ONE_FD(FUZZ_FD_PIPE), STATS);
	seed_write("broker", "fd-with-stats");

	req_hello(0, "resume");
	req_alloc(0, 4096, "kept", false, false);
	req_hello(RECONNECT, NULL);
	req_list(0, 0, 0);
	req_simple(0, GOODBYE);
	seed_write("broker", "reconnect-goodbye");

	req_hello(0, NULL);
	for (int i = 0; i < 7; i++)
		req_alloc(0, 1024 * 1024, NULL, false, false);
	req_simple(0, STATS);
	seed_write("broker", "quota");

	/* A pool is id 1, its members 2 to 4. */
	req_hello(0, "pools");
	req_pool_alloc(0, 0, NULL, false);
	req_pool_alloc(0, 33, NULL, false);
	req_pool_alloc(0, 3, "pool", false);
	req_pools(0, 0);
	req_info(0, 1, NULL);
	req_info(0, 3, NULL);
	req_release(0, 3, true);
	req_publish(0, 3, "member");
	req_pool_open(0, 0, "pool", true);
	req_release(0, 1, false);
	req_release(0, 1, true);
	req_pools(0, 0);
	seed_write("broker", "pools");

	/* Queue events to the producer carry the channel's fd. */
	req_hello(0, "queues");
	req_hello(CONN1, NULL);
	req_pool_alloc(0, 2, "q", true);
	req_queue_attach(CONN1, 1, NULL, true);
	req_queue_create(0, 1, 3, 0);
	req_queue_create(0, 1, 1, 2);
	req_queue_create(0, 1, 0, 0);
	req_queue_attach(CONN1, 0, "q", false);
	req_queue_attach(CONN1, 0, "q", true);
	req_queue_attach(CONN1, 0, "q", true);
	req_info(CONN1, 1, NULL);
	req_queue_detach(CONN1, 1);
	req_queue_detach(CONN1, 1);
	req_queue_attach(CONN1, 1, NULL, true);
	req_grant(0, 1, 1000, DMABUF_BROKER__V1__ACCESS__ACCESS_NONE);
	req_simple(0, STATS);
	req_release(0, 1, true);
	seed_write("broker", "queues");
}

/* ---- replies ---- */

typedef DmabufBroker__V1__ServerMessage ServerMessage;
typedef DmabufBroker__V1__Response Response;

/* A BufferInfo with every field, for the replies below. */
static void fill_info(DmabufBroker__V1__BufferInfo *b)
{
	static DmabufBroker__V1__ImageLayout l = DMABUF_BROKER__V1__IMAGE_LAYOUT__INIT;
	static DmabufBroker__V1__Plane p = DMABUF_BROKER__V1__PLANE__INIT;
	static DmabufBroker__V1__Plane *ps[] = { &p };
	static DmabufBroker__V1__Holder h = DMABUF_BROKER__V1__HOLDER__INIT;
	static DmabufBroker__V1__Holder *hs[] = { &h };
	static DmabufBroker__V1__Grant g = DMABUF_BROKER__V1__GRANT__INIT;
	static DmabufBroker__V1__Grant *gs[] = { &g };

	l.fourcc = XR24;
	l.width = 64;
	l.height = 64;
	p.stride = 256;
	l.planes = ps;
	l.n_planes = 1;
	h.client_id = 3;
	h.uid = 1000;
	h.pid = 42;
	h.client_name = "holder";
	h.writable = true;
	g.subject_case = DMABUF_BROKER__V1__GRANT__SUBJECT_GID;
	g.gid = 44;
	g.access = DMABUF_BROKER__V1__ACCESS__ACCESS_READ;
	b->id = 1;
	b->name = "fuzz";
	b->size = 16384;
	b->backend = "memfd";
	b->owner_uid = 1000;
	b->owner_pid = 42;
	b->owner_name = "owner";
	b->created_usec = 1;
	b->layout = &l;
	b->holders = hs;
	b->n_holders = 1;
	b->grants = gs;
	b->n_grants = 1;
}

static void reply(unsigned ctl, Response *r)
{
	ServerMessage m = DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;

	m.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_RESPONSE;
	m.response = r;
	seed_record(ctl, &m.base);
}

static void reply_buffer(unsigned ctl, uint64_t seq)
{
	DmabufBroker__V1__BufferInfo b = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	Response r = DMABUF_BROKER__V1__RESPONSE__INIT;

	fill_info(&b);
	r.seq = seq;
	r.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BUFFER;
	r.buffer = &b;
	reply(ctl, &r);
}

static void reply_empty(unsigned ctl, uint64_t seq, int status)
{
	Response r = DMABUF_BROKER__V1__RESPONSE__INIT;

	r.seq = seq;
	r.status = status;
	r.message = status ? "refused" : "";
	reply(ctl, &r);
}

static void event(unsigned ctl, DmabufBroker__V1__Event__Type type)
{
	ServerMessage m = DMABUF_BROKER__V1__SERVER_MESSAGE__INIT;
	DmabufBroker__V1__Event e = DMABUF_BROKER__V1__EVENT__INIT;
	DmabufBroker__V1__BufferInfo b = DMABUF_BROKER__V1__BUFFER_INFO__INIT;

	fill_info(&b);
	b.n_holders = 0;
	e.type = type;
	e.buffer = &b;
	m.kind_case = DMABUF_BROKER__V1__SERVER_MESSAGE__KIND_EVENT;
	m.event = &e;
	seed_record(ctl, &m.base);
}

static void library_seeds(void)
{
	const unsigned memfd = ONE_FD(FUZZ_FD_MEMFD_SEALED);
	DmabufBroker__V1__BufferInfo b = DMABUF_BROKER__V1__BUFFER_INFO__INIT;
	DmabufBroker__V1__BufferInfo *bs[] = { &b, &b };
	DmabufBroker__V1__ListReply l = DMABUF_BROKER__V1__LIST_REPLY__INIT;
	DmabufBroker__V1__StatsReply s = DMABUF_BROKER__V1__STATS_REPLY__INIT;
	DmabufBroker__V1__UsageLimits u = DMABUF_BROKER__V1__USAGE_LIMITS__INIT;
	DmabufBroker__V1__BackendsReply br = DMABUF_BROKER__V1__BACKENDS_REPLY__INIT;
	DmabufBroker__V1__BackendInfo bi = DMABUF_BROKER__V1__BACKEND_INFO__INIT;
	DmabufBroker__V1__BackendInfo *bis[] = { &bi };
	DmabufBroker__V1__HelloReply h = DMABUF_BROKER__V1__HELLO_REPLY__INIT;
	uint32_t formats[] = { XR24, 0x34325241 };
	Response r = DMABUF_BROKER__V1__RESPONSE__INIT;

	seed_record(0, NULL);
	reply_buffer(CALL(INFO_BY_ID), 2);
	reply_buffer(CALL(INFO_BY_NAME), 3);
	seed_write("libclient", "info");

	seed_record(0, NULL);
	reply_buffer(CALL(ALLOC) | memfd, 2);
	reply_buffer(CALL(OPEN_BY_ID) | memfd, 3);
	reply_buffer(CALL(OPEN_BY_NAME) | memfd, 4);
	reply_buffer(CALL(ALLOC_IMAGE), 5);	/* no fd: refused */
	seed_write("libclient", "buffers");

	seed_record(0x40, NULL);
	reply_buffer(CALL(PIN) | memfd, 2);
	reply_buffer(CALL(REGISTER_FD) | memfd, 3);
	reply_empty(CALL(GRANT), 4, 0);
	reply_empty(CALL(SET_NAME), 5, -17);
	reply_empty(CALL(REMOVE), 6, 0);
	seed_write("libclient", "pin-register-resume");

	fill_info(&b);
	l.buffers = bs;
	l.n_buffers = 2;
	r.seq = 2;
	r.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_LIST;
	r.list = &l;
	seed_record(0, NULL);
	l.next_after_id = 1;
	reply(CALL(LIST), &r);
	l.next_after_id = 0;
	r.seq = 3;
	reply(CALL(LIST), &r);
	seed_write("libclient", "list-pages");

	u.bytes = 4096;
	u.max_buffers = 6;
	s.caller = &u;
	s.buffers = 3;
	r.seq = 2;
	r.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_STATS;
	r.stats = &s;
	seed_record(0, NULL);
	reply(CALL(STATS), &r);
	bi.name = "memfd";
	bi.detail = "shmem";
	bi.available = true;
	bi.formats = formats;
	bi.n_formats = 2;
	br.backends = bis;
	br.n_backends = 1;
	r.seq = 3;
	r.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_BACKENDS;
	r.backends = &br;
	reply(CALL(BACKENDS), &r);
	seed_write("libclient", "stats-backends");

	seed_record(0, NULL);
	event(CALL(WATCH), DMABUF_BROKER__V1__EVENT__TYPE__TYPE_CREATED);
	reply_empty(CALL(WATCH), 2, 0);
	event(CALL(DISPATCH), DMABUF_BROKER__V1__EVENT__TYPE__TYPE_NAMED);
	event(CALL(DISPATCH), DMABUF_BROKER__V1__EVENT__TYPE__TYPE_DESTROYED);
	seed_write("libclient", "events");

	seed_record(0, NULL);
	reply_buffer(CALL(ALLOC) | memfd, 1);	/* stale: dropped, released */
	reply_buffer(CALL(ALLOC) | ONE_FD(FUZZ_FD_PIPE), 2);
	reply_empty(CALL(STATS), 9, 0);
	seed_write("libclient", "stale-and-future");

	h.protocol_version = 1;
	h.server_version = "raw";
	h.client_id = 5;
	r = (Response)DMABUF_BROKER__V1__RESPONSE__INIT;
	r.seq = 1;
	r.body_case = DMABUF_BROKER__V1__RESPONSE__BODY_HELLO;
	r.hello = &h;
	reply(0x80, &r);
	reply_empty(CALL(STATS), 2, -95);
	seed_write("libclient", "raw-hello");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR\n");
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST) {
		perror(out_dir);
		return 1;
	}
	broker_seeds();
	next_seq = 0;
	library_seeds();
	return 0;
}
