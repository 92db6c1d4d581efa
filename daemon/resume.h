/* SPDX-License-Identifier: MIT */
/*
 * Resumable sessions.  Every Hello gets a random token (resume_issue());
 * the registry's connection record keeps only its SHA-256 digest.  When a
 * connection that owns client-lifetime buffers breaks, its record is kept
 * detached, with its buffers and holds, for the configured grace period
 * (resume_detach()); a Hello of the same uid with the token takes it back
 * (resume_claim()), and one timer ends the sessions nobody came back for,
 * as a disconnect would have.  A uid has a bounded number of detached
 * sessions; their buffers stay charged to its quota.
 *
 * Tokens are compared digest to digest in constant time, and only against
 * the caller's own uid's sessions: how long a claim takes tells nothing
 * about any token.
 */
#ifndef DBB_RESUME_H
#define DBB_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"

#define RESUME_TOKEN_LEN 32
#define RESUME_HASH_LEN REGISTRY_TOKEN_HASH_LEN

struct broker;
struct resume;

/*
 * Keeps the sessions of @br (its base, registry and config, which must
 * outlive it; resuming is off when cfg->resume_grace_ms is 0).  Returns
 * NULL on allocation failure.
 */
struct resume *resume_create(struct broker *br);

/* Ends every detached session as its expiry would, then frees @rs.  Call
 * before the registry is destroyed.  Accepts NULL. */
void resume_destroy(struct resume *rs);

/*
 * Draws a new token for @conn into @token and keeps its digest in @conn,
 * replacing any earlier one.  Returns 0, -EOPNOTSUPP when resuming is off,
 * or the negative errno of getrandom() (-EAGAIN before the kernel's pool
 * is ready); @conn then has no token.
 */
int resume_issue(struct resume *rs, struct registry_conn *conn,
		 uint8_t token[RESUME_TOKEN_LEN]);

/*
 * @conn's connection broke (not for a protocol violation): keeps it
 * detached for the grace period when it has a token and owns at least one
 * client-lifetime buffer, ending its uid's oldest detached session first
 * when the uid is at its limit.  Returns true when @rs took @conn (the
 * caller must then not close it), false when the caller closes it as
 * before.  Accepts a NULL @rs (false).
 */
bool resume_detach(struct resume *rs, struct registry_conn *conn);

/*
 * The detached session of @uid that @token (@len bytes, from a Hello)
 * resumes, taken out of @rs: its record, to become the new connection's,
 * or NULL when @len is not a token's, no session of @uid has that token,
 * or its grace has run out (the session then ends here).  A session of
 * another uid with that token is left as it was.
 */
struct registry_conn *resume_claim(struct resume *rs, uid_t uid,
				   const uint8_t *token, size_t len);

/*
 * After a restart, puts back the detached session of a connection an
 * earlier run had: a new record (fresh id) for @uid, @pid and @name,
 * whose token has the digest @token_hash, kept until @deadline_usec
 * (CLOCK_MONOTONIC, which the restart does not reset; 0: the grace period
 * from now).  The caller gives it its buffers (registry_buffer_restore()
 * with the record as owner) before the event loop runs; a session that
 * owns nothing when its deadline comes just ends.  Counts against the
 * uid's limit as a break does, so the record is valid only until the next
 * call.  Returns 0 and sets *@out (the session's), -EOPNOTSUPP when
 * resuming is off, -ENOMEM.
 */
int resume_restore(struct resume *rs, uid_t uid, pid_t pid, const char *name,
		   const uint8_t token_hash[RESUME_HASH_LEN],
		   uint64_t deadline_usec, struct registry_conn **out);

#endif
