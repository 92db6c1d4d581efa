/* SPDX-License-Identifier: MIT */
#include "names.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

/* A buffer for getpwnam_r/getgrnam_r when sysconf() has no advice;
 * grown on ERANGE (groups with many members need more). */
#define NAMES_PW_BUF_MIN 1024u
#define NAMES_PW_BUF_MAX (1u << 20)

/* Parses a uid or gid written as decimal digits; -EINVAL otherwise or
 * for (uid_t)-1, which no account has. */
static int names_parse_id(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Resolves user or group @name to its id: 0, -ENOENT when there is no
 * such account, another negative errno when the lookup failed. */
static int names_lookup(const char *name, bool group, uint32_t *id)
{
	long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX :
				    _SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : NAMES_PW_BUF_MIN;
	int ret;

	for (;;) {
		char *buf = malloc(size);
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;

		if (!buf)
			return -ENOMEM;
		if (group)
			ret = getgrnam_r(name, &gr, buf, size, &grp);
		else
			ret = getpwnam_r(name, &pw, buf, size, &pwp);
		if (ret == 0 && (pwp || grp))
			*id = group ? (uint32_t)gr.gr_gid : (uint32_t)pw.pw_uid;
		free(buf);
		if (ret == ERANGE && size < NAMES_PW_BUF_MAX) {
			size *= 2;
			continue;
		}
		/* Besides 0 with no entry, some NSS modules say "not found"
		 * with one of these (getpwnam_r(3)). */
		if (ret == ENOENT || ret == ESRCH || ret == EBADF ||
		    ret == EPERM)
			return -ENOENT;
		if (ret)
			return -ret;
		return pwp || grp ? 0 : -ENOENT;
	}
}

/* Fills @r's owner from "user:X", "group:X" or "everyone". */
static int names_parse_owner(const char *owner, struct names_rule *r,
			     char *why, size_t len)
{
	bool group = !strncmp(owner, "group:", 6);
	const char *who = owner + (group ? 6 : 5);
	int ret;

	if (!strcmp(owner, "everyone")) {
		r->owner = NAMES_OWNER_EVERYONE;
		return 0;
	}
	if (!group && strncmp(owner, "user:", 5)) {
		snprintf(why, len, "owner '%s' is none of user:NAME, user:UID, "
			 "group:NAME, group:GID or everyone", owner);
		return -EINVAL;
	}
	r->owner = group ? NAMES_OWNER_GID : NAMES_OWNER_UID;
	if (names_parse_id(who, &r->id) == 0)
		return 0;
	if (!*who) {
		snprintf(why, len, "'%s' names no %s", owner,
			 group ? "group" : "user");
		return -EINVAL;
	}
	ret = names_lookup(who, group, &r->id);
	if (ret == -ENOENT) {
		snprintf(why, len, "unknown %s '%s'", group ? "group" : "user",
			 who);
		return -EINVAL;
	}
	if (ret < 0) {
		snprintf(why, len, "cannot look up %s '%s': %s",
			 group ? "group" : "user", who, strerror(-ret));
		return ret == -ENOMEM ? ret : -EINVAL;
	}
	r->owner_name = strdup(who);
	if (!r->owner_name) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int names_add(struct names_policy *p, const char *prefix, const char *owner,
	      char *why, size_t len)
{
	struct names_rule r = { 0 }, *arr;
	int ret;

	if (!registry_name_valid(prefix)) {
		snprintf(why, len, "'%s' does not start a valid buffer name",
			 prefix);
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->rules[i].prefix, prefix)) {
			snprintf(why, len, "prefix '%s' is given twice",
				 prefix);
			return -EINVAL;
		}
	}
	if (p->n >= NAMES_MAX_RULES) {
		snprintf(why, len, "more than %u reserved prefixes",
			 NAMES_MAX_RULES);
		return -EINVAL;
	}
	if ((ret = names_parse_owner(owner, &r, why, len)) < 0)
		return ret;
	r.prefix = strdup(prefix);
	arr = r.prefix ? realloc(p->rules, (p->n + 1) * sizeof(*arr)) : NULL;
	if (!arr) {
		free(r.prefix);
		free(r.owner_name);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	arr[p->n++] = r;
	p->rules = arr;
	return 0;
}

void names_fini(struct names_policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].prefix);
		free(p->rules[i].owner_name);
	}
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}

const struct names_rule *names_match(const struct names_policy *p,
				     const char *name)
{
	const struct names_rule *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < p->n; i++) {
		size_t len = strlen(p->rules[i].prefix);

		if (len > best_len && !strncmp(name, p->rules[i].prefix, len)) {
			best = &p->rules[i];
			best_len = len;
		}
	}
	return best;
}

int names_may_take(const struct names_policy *p,
		   const struct policy_peer *peer, const char *name,
		   const struct names_rule **rule)
{
	const struct names_rule *r = names_match(p, name);

	if (!r || peer->uid == 0 || r->owner == NAMES_OWNER_EVERYONE)
		return 0;
	if (r->owner == NAMES_OWNER_UID && peer->uid == r->id)
		return 0;
	if (r->owner == NAMES_OWNER_GID && policy_peer_in_group(peer, r->id))
		return 0;
	*rule = r;
	return -EACCES;
}

void names_describe_owner(const struct names_rule *rule, char *buf,
			  size_t len)
{
	const char *kind = rule->owner == NAMES_OWNER_GID ? "group" : "user";
	const char *idk = rule->owner == NAMES_OWNER_GID ? "gid" : "uid";

	if (rule->owner == NAMES_OWNER_EVERYONE)
		snprintf(buf, len, "everyone");
	else if (rule->owner_name)
		snprintf(buf, len, "%s %s (%s %u)", kind, rule->owner_name,
			 idk, (unsigned)rule->id);
	else
		snprintf(buf, len, "%s %u", idk, (unsigned)rule->id);
}
