/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the broker's configuration (daemon/config.c): defaults,
 * every section, size suffixes, and every kind of error naming file:line.
 * Links only config.o and libinih.  Negative cases first; every test
 * writes its files in its own temporary directory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "wire.h"

struct fixture {
	char dir[64];
	char path[128];
	char err[CONFIG_ERR_MAX];
	struct config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/dbb-config-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/broker.conf", f->dir);
	assert_int_equal(0, config_init(&f->cfg));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_fini(&f->cfg);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes @text to the fixture's file and loads it. */
static int load(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_int_equal(strlen(text), fwrite(text, 1, strlen(text), fp));
	assert_int_equal(0, fclose(fp));
	f->err[0] = '\0';
	return config_load(&f->cfg, f->path, f->err, sizeof(f->err));
}

/* Asserts that loading @text fails at @line with @what in the message. */
static void load_fails(struct fixture *f, const char *text, unsigned line,
		       const char *what)
{
	char where[160];

	assert_int_equal(-EINVAL, load(f, text));
	snprintf(where, sizeof(where), "%s:%u: ", f->path, line);
	if (strncmp(f->err, where, strlen(where)) != 0 || !strstr(f->err, what))
		fail_msg("expected \"%s...%s\", got \"%s\"", where, what, f->err);
}

/* ---- errors ---- */

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	char missing[160];

	snprintf(missing, sizeof(missing), "%s/nope.conf", f->dir);
	assert_int_equal(-ENOENT, config_load(&f->cfg, missing, f->err,
					      sizeof(f->err)));
	assert_non_null(strstr(f->err, missing));
	assert_non_null(strstr(f->err, "cannot open"));
}

static void test_unknown_key(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[limits]\nmax_clients = 4\nmax_cats = 3\n", 3,
		   "unknown key 'max_cats' in [limits]");
	load_fails(f, "\n[broker]\nsockets = /x\n", 3,
		   "unknown key 'sockets' in [broker]");
	load_fails(f, "[quota]\nbites = 1\n", 2,
		   "unknown key 'bites' in [quota]");
}

static void test_unknown_section(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "; comment\n[limit]\nmax_clients = 4\n", 3,
		   "unknown section [limit]");
	load_fails(f, "[quota.alice]\nbytes = 1\n", 2, "bad uid");
	load_fails(f, "[quota.]\nbytes = 1\n", 2, "bad uid");
	load_fails(f, "top = 1\n", 1, "unknown section []");
}

static void test_bad_number(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[limits]\nmax_clients = 12x\n", 2,
		   "bad number '12x' for max_clients");
	load_fails(f, "[limits]\nmax_clients = -1\n", 2, "bad number");
	load_fails(f, "[limits]\nmax_clients = 4294967296\n", 2, "bad number");
	load_fails(f, "[limits]\nmax_holds_per_client = 0\n", 2,
		   "at least 1");
	load_fails(f, "[limits]\nhello_timeout = 10s\n", 2,
		   "bad number '10s' for hello_timeout");
	load_fails(f, "[limits]\nhello_timeout = -1\n", 2, "bad number");
	load_fails(f, "[limits]\nhello_timeout = 4294967296\n", 2,
		   "bad number");
	load_fails(f, "[quota]\nbuffers = 1K\n", 2, "bad number");
	load_fails(f, "[broker]\nresume_grace_ms = 10s\n", 2,
		   "bad number '10s' for resume_grace_ms");
	load_fails(f, "[broker]\nresume_grace_ms = -1\n", 2, "bad number");
	load_fails(f, "[broker]\nresume_grace_ms = 4294967296\n", 2,
		   "bad number");
	load_fails(f, "[limits]\nmax_detached_per_uid = 0\n", 2,
		   "at least 1");
	/* Each key in its own section only. */
	load_fails(f, "[limits]\nresume_grace_ms = 5\n", 2,
		   "unknown key 'resume_grace_ms' in [limits]");
	load_fails(f, "[broker]\nmax_detached_per_uid = 5\n", 2,
		   "unknown key 'max_detached_per_uid' in [broker]");
	load_fails(f, "[broker]\nsocket_mode = 0999\n", 2, "bad mode");
	load_fails(f, "[broker]\nsocket_mode = 01777\n", 2, "bad mode");
}

static void test_bad_size(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[quota]\nbytes = 1Q\n", 2, "bad size '1Q' for bytes");
	load_fails(f, "[quota]\nbytes = 1KK\n", 2, "bad size");
	load_fails(f, "[quota]\nbytes = K\n", 2, "bad size");
	load_fails(f, "[quota]\nbytes = 1 K\n", 2, "bad size");
	load_fails(f, "[limits]\nmax_buffer_size = 99999999999T\n", 2,
		   "bad size");
	load_fails(f, "[limits]\nmax_buffer_size = 0\n", 2, "at least 1");
}

static void test_request_size_over_frame_limit(void **state)
{
	struct fixture *f = *state;
	char text[128];

	snprintf(text, sizeof(text), "[limits]\nmax_request_size = %u\n",
		 DBB_WIRE_MAX_FRAME + 1);
	load_fails(f, text, 2, "max_request_size");
	load_fails(f, "[limits]\n\nmax_request_size = 1M\n", 3,
		   "frame limit");
	load_fails(f, "[limits]\nmax_request_size = 16\n", 2, "outside");
	/* Exactly the frame limit is fine. */
	assert_int_equal(0, load(f, "[limits]\nmax_request_size = 64K\n"));
	assert_int_equal(DBB_WIRE_MAX_FRAME, f->cfg.max_request_size);
}

static void test_bad_backends_and_socket(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[broker]\nbackends = memfd,vram\n", 2,
		   "unknown backend 'vram'");
	load_fails(f, "[broker]\nbackends = memfd, memfd\n", 2, "twice");
	load_fails(f, "[broker]\nbackends = ,\n", 2, "no backend");
	load_fails(f, "[broker]\nsocket = relative/path\n", 2, "absolute");
	assert_int_equal(-EINVAL, config_set_backends(&f->cfg, "gpu", f->err,
						      sizeof(f->err)));
	assert_non_null(strstr(f->err, "unknown backend 'gpu'"));
}

static void test_syntax_error(void **state)
{
	struct fixture *f = *state;
	char line[400];

	load_fails(f, "[limits]\nmax_clients 4\n", 2, "syntax error");
	load_fails(f, "[limits\nmax_clients = 4\n", 1, "syntax error");
	/* The first error wins, whichever kind it is. */
	load_fails(f, "[limits]\nnope\nmax_cats = 1\n", 2, "syntax error");
	load_fails(f, "[limits]\nmax_cats = 1\nnope\n", 2, "max_cats");
	/* A line longer than the parser's buffer is refused, not split. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "[broker]\nsocket = /", 19);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	load_fails(f, line, 2, "longer than");
}

/* ---- values ---- */

static void test_parse_size(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(-EINVAL, config_parse_size("", &v));
	assert_int_equal(-EINVAL, config_parse_size("-1", &v));
	assert_int_equal(-EINVAL, config_parse_size("1.5M", &v));
	assert_int_equal(-EINVAL, config_parse_size("16777216T", &v));
	assert_int_equal(-EINVAL, config_parse_size("18446744073709551616", &v));
	assert_int_equal(0, config_parse_size("0", &v));
	assert_int_equal(0, v);
	assert_int_equal(0, config_parse_size("4096", &v));
	assert_int_equal(4096, v);
	assert_int_equal(0, config_parse_size("4K", &v));
	assert_int_equal(4096, v);
	assert_int_equal(0, config_parse_size("4k", &v));
	assert_int_equal(4096, v);
	assert_int_equal(0, config_parse_size("3M", &v));
	assert_int_equal(3u << 20, v);
	assert_int_equal(0, config_parse_size("2G", &v));
	assert_int_equal(2ull << 30, v);
	assert_int_equal(0, config_parse_size("1T", &v));
	assert_int_equal(1ull << 40, v);
	assert_int_equal(0, config_parse_size("16777215T", &v));
	assert_int_equal(16777215ull << 40, v);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct config_quota q = config_quota_for(&f->cfg, 1000);

	assert_string_equal(CONFIG_DEFAULT_SOCKET, f->cfg.socket_path);
	assert_int_equal(0666, f->cfg.socket_mode);
	assert_int_equal(5, f->cfg.nbackends);
	assert_string_equal("kmod", f->cfg.backends[0]);
	assert_string_equal("memfd", f->cfg.backends[4]);
	assert_int_equal(256, f->cfg.max_clients);
	assert_int_equal(65536, f->cfg.max_request_size);
	assert_int_equal(1ull << 30, f->cfg.max_buffer_size);
	assert_int_equal(4096, f->cfg.max_holds_per_client);
	assert_int_equal(10, f->cfg.hello_timeout);
	assert_int_equal(10000, f->cfg.resume_grace_ms);
	assert_int_equal(16, f->cfg.max_detached_per_uid);
	assert_int_equal(4ull << 30, q.bytes);
	assert_int_equal(1024, q.buffers);
	/* An empty file changes nothing. */
	assert_int_equal(0, load(f, "; nothing\n# at all\n"));
	assert_int_equal(256, f->cfg.max_clients);
}

static void test_broker_section(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(0, load(f, "[broker]\n"
				 "socket = /tmp/x/socket ; inline comment\n"
				 "socket_mode = 0600\n"
				 "backends = memfd,kmod\n"
				 "resume_grace_ms = 250\n"));
	assert_string_equal("/tmp/x/socket", f->cfg.socket_path);
	assert_int_equal(0600, f->cfg.socket_mode);
	assert_int_equal(2, f->cfg.nbackends);
	assert_string_equal("memfd", f->cfg.backends[0]);
	assert_string_equal("kmod", f->cfg.backends[1]);
	assert_int_equal(250, f->cfg.resume_grace_ms);
	/* 0: sessions end with their connection. */
	assert_int_equal(0, load(f, "[broker]\nresume_grace_ms = 0\n"));
	assert_int_equal(0, f->cfg.resume_grace_ms);
}

static void test_limits_section(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(0, load(f, "[limits]\n"
				 "max_clients = 8\n"
				 "max_request_size = 4K\n"
				 "max_buffer_size = 2G\n"
				 "max_holds_per_client = 10\n"
				 "hello_timeout = 3\n"
				 "max_detached_per_uid = 2\n"));
	assert_int_equal(8, f->cfg.max_clients);
	assert_int_equal(4096, f->cfg.max_request_size);
	assert_int_equal(2ull << 30, f->cfg.max_buffer_size);
	assert_int_equal(10, f->cfg.max_holds_per_client);
	assert_int_equal(3, f->cfg.hello_timeout);
	assert_int_equal(2, f->cfg.max_detached_per_uid);
	/* 0: no time limit on Hello. */
	assert_int_equal(0, load(f, "[limits]\nhello_timeout = 0\n"));
	assert_int_equal(0, f->cfg.hello_timeout);
}

static void test_quota_sections(void **state)
{
	struct fixture *f = *state;
	struct config_quota q;

	assert_int_equal(0, load(f, "[quota]\n"
				 "bytes = 64M\n"
				 "buffers = 100\n"
				 "[quota.1000]\n"
				 "bytes = 1M\n"
				 "[quota.65534]\n"
				 "bytes = 0\n"
				 "buffers = 0\n"));
	q = config_quota_for(&f->cfg, 1001);
	assert_int_equal(64u << 20, q.bytes);
	assert_int_equal(100, q.buffers);
	q = config_quota_for(&f->cfg, 1000);
	assert_int_equal(1u << 20, q.bytes);
	assert_int_equal(100, q.buffers);	/* inherited from [quota] */
	q = config_quota_for(&f->cfg, 65534);
	assert_int_equal(0, q.bytes);		/* unlimited */
	assert_int_equal(0, q.buffers);
}

/* A [names] line that does not name a known owner or a valid prefix
 * stops the load at its line. */
static void test_names_errors(void **state)
{
	struct fixture *f = *state;

	load_fails(f, "[names]\ncam/ = user:root\ngpu/ = user:no-such-user-x\n",
		   3, "unknown user 'no-such-user-x'");
	load_fails(f, "[names]\ngpu/ = group:no-such-group-x\n", 2,
		   "unknown group 'no-such-group-x'");
	load_fails(f, "[names]\ngpu/ = camera\n", 2, "is none of user:NAME");
	load_fails(f, "[names]\ngpu/ = user:\n", 2, "names no user");
	load_fails(f, "[names]\n/abs = user:0\n", 2,
		   "does not start a valid buffer name");
	load_fails(f, "[names]\nsp ace/ = user:0\n", 2,
		   "does not start a valid buffer name");
	load_fails(f, "[names]\ndev:cam/ = user:0\n", 2, "cannot contain ':'");
	load_fails(f, "[names]\na/ = user:0\n\na/ = group:0\n", 4,
		   "given twice");
	load_fails(f, "[names]\nb/ = user:4294967295\n", 2, "unknown user");
	load_fails(f, "[names]\nc/ nobody\n", 2, "syntax error");
}

/* Owners by name or number, the longest prefix deciding, root and
 * unreserved names free. */
static void test_names_section(void **state)
{
	struct fixture *f = *state;
	const struct names_rule *r;
	struct policy_peer nobody = { .uid = 65534, .gid = 65534 };
	struct policy_peer video = { .uid = 1000, .gid = 1000, .ngroups = 1,
				     .groups = { 44 } };
	struct policy_peer root = { 0 };

	assert_int_equal(0, load(f, "[names]\n"
				 "cam/ = user:nobody\n"
				 "cam/shared/ = everyone\n"
				 "gpu/ = group:44\n"
				 "sys = user:0\n"));
	assert_int_equal(4, f->cfg.names.n);
	r = names_match(&f->cfg.names, "cam/frame0");
	assert_non_null(r);
	assert_int_equal(NAMES_OWNER_UID, r->owner);
	assert_int_equal(65534, r->id);
	assert_string_equal("nobody", r->owner_name);
	assert_null(f->cfg.names.rules[2].owner_name);	/* given as a gid */
	assert_null(names_match(&f->cfg.names, "camera"));
	assert_null(names_match(&f->cfg.names, "cam"));

	assert_int_equal(0, names_may_take(&f->cfg.names, &nobody,
					   "cam/frame0", &r));
	assert_int_equal(-EACCES, names_may_take(&f->cfg.names, &video,
						 "cam/frame0", &r));
	assert_string_equal("cam/", r->prefix);
	/* The longer prefix reopens part of the reserved one. */
	assert_int_equal(0, names_may_take(&f->cfg.names, &video,
					   "cam/shared/x", &r));
	/* A supplementary group owns gpu/. */
	assert_int_equal(0, names_may_take(&f->cfg.names, &video, "gpu/0", &r));
	assert_int_equal(-EACCES, names_may_take(&f->cfg.names, &nobody,
						 "gpu/0", &r));
	/* "sys" has no slash: every name that starts so is covered. */
	assert_int_equal(-EACCES, names_may_take(&f->cfg.names, &nobody,
						 "system0", &r));
	assert_int_equal(0, names_may_take(&f->cfg.names, &root, "cam/x", &r));
	assert_int_equal(0, names_may_take(&f->cfg.names, &nobody, "free/x",
					   &r));
}

/* The sample shipped in daemon/ parses and states the defaults. */
static void test_sample_config(void **state)
{
	struct fixture *f = *state;
	struct config defaults;

	assert_int_equal(0, config_init(&defaults));
	assert_int_equal(0, config_load(&f->cfg, SAMPLE_CONFIG, f->err,
					sizeof(f->err)));
	assert_string_equal(defaults.socket_path, f->cfg.socket_path);
	assert_int_equal(defaults.socket_mode, f->cfg.socket_mode);
	assert_int_equal(defaults.nbackends, f->cfg.nbackends);
	for (size_t i = 0; i < defaults.nbackends; i++)
		assert_string_equal(defaults.backends[i], f->cfg.backends[i]);
	assert_int_equal(defaults.max_clients, f->cfg.max_clients);
	assert_int_equal(defaults.max_request_size, f->cfg.max_request_size);
	assert_int_equal(defaults.max_buffer_size, f->cfg.max_buffer_size);
	assert_int_equal(defaults.max_holds_per_client,
			 f->cfg.max_holds_per_client);
	assert_int_equal(defaults.hello_timeout, f->cfg.hello_timeout);
	assert_int_equal(defaults.resume_grace_ms, f->cfg.resume_grace_ms);
	assert_int_equal(defaults.max_detached_per_uid,
			 f->cfg.max_detached_per_uid);
	assert_int_equal(defaults.quota.bytes, f->cfg.quota.bytes);
	assert_int_equal(defaults.quota.buffers, f->cfg.quota.buffers);
	assert_null(f->cfg.uid_quotas);
	config_fini(&defaults);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_missing_file),
		T(test_unknown_key),
		T(test_unknown_section),
		T(test_bad_number),
		T(test_bad_size),
		T(test_request_size_over_frame_limit),
		T(test_bad_backends_and_socket),
		T(test_syntax_error),
		T(test_names_errors),
		cmocka_unit_test(test_parse_size),
		T(test_defaults),
		T(test_broker_section),
		T(test_limits_section),
		T(test_quota_sections),
		T(test_names_section),
		T(test_sample_config),
	};
#undef T
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
