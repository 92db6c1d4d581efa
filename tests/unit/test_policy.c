/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the access rules (daemon/policy.c): owner, root, grants by
 * uid, gid and everyone, read-only against read-write, grant bookkeeping
 * and peer credentials.  Links only policy.o.  Negative cases first.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"

#define OWNER 1000
#define OTHER 1001
#define VIDEO 44

static struct policy_peer peer(uid_t uid, gid_t gid, gid_t extra)
{
	struct policy_peer p = { .uid = uid, .gid = gid, .pid = 1 };

	if (extra) {
		p.groups[0] = extra;
		p.ngroups = 1;
	}
	return p;
}

static struct policy_grant grant(enum policy_subject s, uint32_t id,
				 enum policy_access a)
{
	return (struct policy_grant){ .subject = (uint8_t)s, .id = id,
				      .access = (uint8_t)a };
}

/* ---- import ---- */

static void test_import_refused_without_grant(void **state)
{
	struct policy_peer other = peer(OTHER, OTHER, VIDEO);
	struct policy_grant g[2] = {
		grant(POLICY_SUBJECT_UID, 4242, POLICY_ACCESS_READ_WRITE),
		grant(POLICY_SUBJECT_GID, 4242, POLICY_ACCESS_READ_WRITE),
	};

	(void)state;
	assert_int_equal(-EACCES, policy_may_import(&other, OWNER, NULL, 0, true));
	assert_int_equal(-EACCES, policy_may_import(&other, OWNER, NULL, 0, false));
	/* Grants to somebody else do not count. */
	assert_int_equal(-EACCES, policy_may_import(&other, OWNER, g, 2, true));
}

/* Seeing a buffer (List, Info, Watch) takes what importing it in some
 * way takes: ownership, root, or a grant of any access. */
static void test_see_needs_a_grant(void **state)
{
	struct policy_peer other = peer(OTHER, OTHER, VIDEO);
	struct policy_peer owner = peer(OWNER, OWNER, 0);
	struct policy_peer root = peer(0, 0, 0);
	struct policy_grant elsewhere =
		grant(POLICY_SUBJECT_UID, 4242, POLICY_ACCESS_READ_WRITE);
	struct policy_grant read = grant(POLICY_SUBJECT_GID, VIDEO,
					 POLICY_ACCESS_READ);
	struct policy_grant all = grant(POLICY_SUBJECT_EVERYONE, 0,
					POLICY_ACCESS_READ);

	(void)state;
	assert_false(policy_may_see(&other, OWNER, NULL, 0));
	assert_false(policy_may_see(&other, OWNER, &elsewhere, 1));
	assert_true(policy_may_see(&other, OWNER, &read, 1));
	assert_true(policy_may_see(&other, OWNER, &all, 1));
	assert_true(policy_may_see(&owner, OWNER, NULL, 0));
	assert_true(policy_may_see(&root, OWNER, NULL, 0));
}

static void test_read_grant_refuses_read_write(void **state)
{
	struct policy_peer other = peer(OTHER, OTHER, 0);
	struct policy_grant g = grant(POLICY_SUBJECT_UID, OTHER, POLICY_ACCESS_READ);

	(void)state;
	assert_int_equal(-EACCES, policy_may_import(&other, OWNER, &g, 1, false));
	assert_int_equal(0, policy_may_import(&other, OWNER, &g, 1, true));
}

static void test_owner_and_root_always(void **state)
{
	struct policy_peer owner = peer(OWNER, OWNER, 0);
	struct policy_peer root = peer(0, 0, 0);

	(void)state;
	assert_int_equal(0, policy_may_import(&owner, OWNER, NULL, 0, false));
	assert_int_equal(0, policy_may_import(&owner, OWNER, NULL, 0, true));
	assert_int_equal(0, policy_may_import(&root, OWNER, NULL, 0, false));
}

static void test_uid_grant_read_write(void **state)
{
	struct policy_peer other = peer(OTHER, OTHER, 0);
	struct policy_grant g = grant(POLICY_SUBJECT_UID, OTHER,
				      POLICY_ACCESS_READ_WRITE);

	(void)state;
	assert_int_equal(0, policy_may_import(&other, OWNER, &g, 1, false));
	assert_int_equal(0, policy_may_import(&other, OWNER, &g, 1, true));
}

static void test_gid_grant_primary_and_supplementary(void **state)
{
	struct policy_peer by_primary = peer(OTHER, VIDEO, 0);
	struct policy_peer by_extra = peer(OTHER, OTHER, VIDEO);
	struct policy_peer outsider = peer(OTHER, OTHER, 0);
	struct policy_grant g = grant(POLICY_SUBJECT_GID, VIDEO,
				      POLICY_ACCESS_READ_WRITE);

	(void)state;
	assert_int_equal(-EACCES, policy_may_import(&outsider, OWNER, &g, 1, true));
	assert_false(policy_peer_in_group(&outsider, VIDEO));
	assert_true(policy_peer_in_group(&by_primary, VIDEO));
	assert_true(policy_peer_in_group(&by_extra, VIDEO));
	assert_int_equal(0, policy_may_import(&by_primary, OWNER, &g, 1, false));
	assert_int_equal(0, policy_may_import(&by_extra, OWNER, &g, 1, false));
}

static void test_everyone_grant(void **state)
{
	struct policy_peer other = peer(OTHER, OTHER, 0);
	struct policy_grant g[2] = {
		grant(POLICY_SUBJECT_EVERYONE, 0, POLICY_ACCESS_READ),
		grant(POLICY_SUBJECT_UID, OTHER, POLICY_ACCESS_READ_WRITE),
	};

	(void)state;
	assert_int_equal(-EACCES, policy_may_import(&other, OWNER, g, 1, false));
	assert_int_equal(0, policy_may_import(&other, OWNER, g, 1, true));
	/* The strongest matching grant wins, whatever its position. */
	assert_int_equal(0, policy_may_import(&other, OWNER, g, 2, false));
}

/* ---- manage (destroy, publish, grant) ---- */

static void test_manage_owner_or_root_only(void **state)
{
	struct policy_peer other = peer(OTHER, OTHER, 0);
	struct policy_peer owner = peer(OWNER, OTHER, 0);
	struct policy_peer root = peer(0, 0, 0);

	(void)state;
	assert_int_equal(-EPERM, policy_may_manage(&other, OWNER));
	assert_int_equal(0, policy_may_manage(&owner, OWNER));
	assert_int_equal(0, policy_may_manage(&root, OWNER));
}

/* ---- grant bookkeeping ---- */

static void test_grants_apply_invalid(void **state)
{
	struct policy_grant *arr = NULL;
	uint8_t n = 0;
	struct policy_grant bad_subject = { .subject = 9, .access = 1 };
	struct policy_grant bad_access = { .subject = 0, .access = 3 };

	(void)state;
	assert_int_equal(-EINVAL, policy_grants_apply(&arr, &n, &bad_subject));
	assert_int_equal(-EINVAL, policy_grants_apply(&arr, &n, &bad_access));
	assert_null(arr);
	assert_int_equal(0, n);
}

static void test_grants_apply_limit(void **state)
{
	struct policy_grant *arr = NULL;
	uint8_t n = 0;
	struct policy_grant g;

	(void)state;
	for (uint32_t i = 0; i < POLICY_MAX_GRANTS; i++) {
		g = grant(POLICY_SUBJECT_UID, 2000 + i, POLICY_ACCESS_READ);
		assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	}
	g = grant(POLICY_SUBJECT_UID, 9999, POLICY_ACCESS_READ);
	assert_int_equal(-E2BIG, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(POLICY_MAX_GRANTS, n);
	/* Changing an existing one still works at the limit. */
	g = grant(POLICY_SUBJECT_UID, 2000, POLICY_ACCESS_READ_WRITE);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(POLICY_ACCESS_READ_WRITE, arr[0].access);
	free(arr);
}

static void test_grants_apply_replace_and_revoke(void **state)
{
	struct policy_grant *arr = NULL;
	uint8_t n = 0;
	struct policy_grant g;

	(void)state;
	/* Revoking what is not there changes nothing. */
	g = grant(POLICY_SUBJECT_UID, OTHER, POLICY_ACCESS_NONE);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(0, n);

	g = grant(POLICY_SUBJECT_UID, OTHER, POLICY_ACCESS_READ);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	g = grant(POLICY_SUBJECT_GID, OTHER, POLICY_ACCESS_READ);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	g = grant(POLICY_SUBJECT_EVERYONE, 77, POLICY_ACCESS_READ);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(3, n);
	assert_int_equal(0, arr[2].id);		/* everyone has no id */

	/* Same subject: replaced, not added (uid and gid are distinct). */
	g = grant(POLICY_SUBJECT_UID, OTHER, POLICY_ACCESS_READ_WRITE);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(3, n);
	assert_int_equal(POLICY_ACCESS_READ_WRITE, arr[0].access);
	assert_int_equal(POLICY_ACCESS_READ, arr[1].access);

	g = grant(POLICY_SUBJECT_GID, OTHER, POLICY_ACCESS_NONE);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	g = grant(POLICY_SUBJECT_EVERYONE, 0, POLICY_ACCESS_NONE);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(1, n);
	assert_int_equal(POLICY_SUBJECT_UID, arr[0].subject);
	g = grant(POLICY_SUBJECT_UID, OTHER, POLICY_ACCESS_NONE);
	assert_int_equal(0, policy_grants_apply(&arr, &n, &g));
	assert_int_equal(0, n);
	assert_null(arr);
}

/* ---- credentials ---- */

static void test_peer_from_socket(void **state)
{
	struct policy_peer p;
	int sv[2];

	(void)state;
	assert_int_equal(-EBADF, policy_peer_from_socket(-1, &p));
	assert_int_equal(0, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				       0, sv));
	assert_int_equal(0, policy_peer_from_socket(sv[0], &p));
	assert_int_equal(getuid(), p.uid);
	assert_int_equal(getgid(), p.gid);
	assert_int_equal(getpid(), p.pid);
	assert_true(p.ngroups <= POLICY_MAX_GROUPS);
	assert_true(policy_peer_in_group(&p, getgid()));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_refused_without_grant),
		cmocka_unit_test(test_see_needs_a_grant),
		cmocka_unit_test(test_read_grant_refuses_read_write),
		cmocka_unit_test(test_owner_and_root_always),
		cmocka_unit_test(test_uid_grant_read_write),
		cmocka_unit_test(test_gid_grant_primary_and_supplementary),
		cmocka_unit_test(test_everyone_grant),
		cmocka_unit_test(test_manage_owner_or_root_only),
		cmocka_unit_test(test_grants_apply_invalid),
		cmocka_unit_test(test_grants_apply_limit),
		cmocka_unit_test(test_grants_apply_replace_and_revoke),
		cmocka_unit_test(test_peer_from_socket),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
