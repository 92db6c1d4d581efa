/* SPDX-License-Identifier: MIT */
/*
 * Who may take which buffer names: name prefixes reserved for a user or a
 * group by the [names] section of the config, in the spirit of D-Bus's
 * <allow own_prefix=...>.  The longest reserved prefix that a name starts
 * with decides; a name no prefix covers is first come, first served.
 * Root may take any name (it could rewrite the config anyway).
 *
 * The rules only: users and groups are resolved when the config is read,
 * never on the request path.
 */
#ifndef DBB_NAMES_H
#define DBB_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* The most [names] lines a config may have. */
#define NAMES_MAX_RULES 256

enum names_owner {
	NAMES_OWNER_UID = 0,
	NAMES_OWNER_GID = 1,
	NAMES_OWNER_EVERYONE = 2,	/* reopens part of a reserved prefix */
};

/* One reserved prefix. */
struct names_rule {
	char *prefix;
	char *owner_name;	/* the user or group as the config names it;
				   NULL when it gave a number or everyone */
	uint32_t id;		/* uid or gid; 0 for everyone */
	uint8_t owner;		/* enum names_owner */
};

/* Every reserved prefix, in config order. */
struct names_policy {
	struct names_rule *rules;
	size_t n;
};

/*
 * Reserves @prefix (a valid start of a buffer name) for @owner:
 * "user:NAME", "user:UID", "group:NAME", "group:GID" or "everyone".
 * Names are resolved now (getpwnam_r/getgrnam_r).  Returns 0, or -EINVAL
 * (a bad prefix or owner, an unknown user or group, a prefix given twice,
 * more than NAMES_MAX_RULES) or -ENOMEM, with the reason in @why.
 */
int names_add(struct names_policy *p, const char *prefix, const char *owner,
	      char *why, size_t len);

/* Frees the rules (not @p itself). */
void names_fini(struct names_policy *p);

/* The rule that decides who may take @name (the longest matching
 * prefix), or NULL when the name is first come, first served. */
const struct names_rule *names_match(const struct names_policy *p,
				     const char *name);

/*
 * May @peer take @name?  Root always may; otherwise the rule of
 * names_match() must name the peer's uid or one of its groups.
 * Returns 0 or -EACCES, then with *@rule set to the rule that refused.
 */
int names_may_take(const struct names_policy *p,
		   const struct policy_peer *peer, const char *name,
		   const struct names_rule **rule);

/* Writes who owns @rule's prefix ("user camera (uid 107)", "gid 44",
 * "everyone") to @buf. */
void names_describe_owner(const struct names_rule *rule, char *buf,
			  size_t len);

#endif
