/* SPDX-License-Identifier: MIT */
/*
 * The kit of the restart tests (test_restart.c for buffers and the store,
 * test_restart_pool.c for pools): a fixture with the daemon under the
 * test supervisor (supervisor.h) and the count of its own fds, cmocka
 * setups for the configs the tests need, and the raw requests both files
 * send.  Functions start with kit_; they fail the running cmocka test
 * where their comment says they assert.
 */
#ifndef DBB_TEST_RESTART_KIT_H
#define DBB_TEST_RESTART_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "supervisor.h"

#define SIZE_1 (64u * 1024u)	/* what most buffers and members are */
#define NOBODY 65534u
#define WAIT_MS harness_timeout_ms(10000)

struct kit {
	struct supervisor s;
	int fresh_fds;		/* the daemon's fds with no buffer */
};

/*
 * cmocka setups: a struct kit in *state with the daemon started and its
 * fresh_fds counted; -1 when that fails.
 */
/* The default config. */
int kit_setup(void **state);
/* Connections are not resumable: client-lifetime buffers are not kept. */
int kit_setup_no_resume(void **state);
/* Connections can resume for a minute after they break. */
int kit_setup_resume(void **state);
/* Not resumable, and a store of four fds: the two state slots and two
 * buffers. */
int kit_setup_small_store(void **state);
/* Resumable, and a store of eight fds: the two state slots, and four
 * client-lifetime buffers at most. */
int kit_setup_resume_small_store(void **state);
/* Stops the daemon and frees the kit; accepts a NULL *state. */
int kit_teardown(void **state);

/* Asserts that the daemon's fds settle at @want (fresh + buffers it
 * holds); lists them when they do not. */
void kit_assert_daemon_fds(struct kit *f, int want);

/* Asserts that the daemon dies by SIGKILL and starts again with its
 * store. */
void kit_kill_and_restart(struct kit *f);

/* Allocates on the backend under test; the id in *@id, the fd in *@fd
 * (NULL: closed).  Grants @grant_uid READ when it is not 0, READ_WRITE on
 * backends that cannot enforce read-only. */
int kit_alloc(int sock, uint64_t size, const char *name, bool persistent,
	      uint32_t grant_uid, uint64_t *id, int *fd);

/* Hello as "resumer" with @token (NULL: none): the new token into @next
 * (32 bytes), whether the broker resumed the session into *@resumed. */
int kit_hello(int sock, const ProtobufCBinaryData *token, uint8_t *next,
	      bool *resumed);

/* Asserts that @fd maps shared, read and write, for @len bytes. */
void *kit_map(int fd, size_t len);

#endif
