/* SPDX-License-Identifier: MIT */
/*
 * The struct_size rule of the header (Growth): structs the caller allocates
 * are copied in or out by the size the caller says they have.
 *
 * The library compares that size with its own sizeof.  A field added to a
 * public struct must therefore make the struct larger: one placed in what
 * was trailing padding would go unseen by an older library.
 */
#include "client-private.h"

#include <errno.h>
#include <string.h>

int structs_copy_in(void *dst, size_t size, size_t min_size, const void *src)
{
	const unsigned char *tail = (const unsigned char *)src + size;
	uint32_t user_size;

	memcpy(&user_size, src, sizeof(user_size));
	if (user_size < min_size)
		return -EINVAL;
	/* A newer header's fields we cannot honour must not be asked for. */
	for (size_t i = size; i < user_size; i++, tail++)
		if (*tail)
			return -E2BIG;
	memset(dst, 0, size);
	memcpy(dst, src, user_size < size ? user_size : size);
	/* From here on the copy is the library's own version. */
	*(uint32_t *)dst = (uint32_t)size;
	return 0;
}

int structs_copy_out(void *dst, const void *src, size_t size, size_t min_size)
{
	uint32_t user_size;

	memcpy(&user_size, dst, sizeof(user_size));
	if (user_size < min_size)
		return -EINVAL;
	memset(dst, 0, user_size);
	memcpy(dst, src, user_size < size ? user_size : size);
	memcpy(dst, &user_size, sizeof(user_size));
	return 0;
}
