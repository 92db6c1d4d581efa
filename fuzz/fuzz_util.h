/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: the input format, the fds they attach to
 * frames, and the fd count that tells an fd leak.
 *
 * An input is a sequence of records, each a control byte, a little-endian
 * 16-bit length and that many bytes (fewer when the input ends first):
 *
 *   ctl bits 0-1   how many fds go with the frame (0 to 3)
 *   ctl bits 2-3   what kind of fd (enum fuzz_fd_kind)
 *   ctl bits 4-7   for the target to use (which connection, which call)
 *
 * A fixed, dumb framing: libFuzzer's mutations keep record boundaries
 * often enough, and a seed is easy to write by hand or by gen_seeds.c.
 */
#ifndef DBB_FUZZ_UTIL_H
#define DBB_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUZZ_MAX_FDS 3u

enum fuzz_fd_kind {
	FUZZ_FD_MEMFD_SEALED,	/* two pages, sealed against shrinking */
	FUZZ_FD_MEMFD_EMPTY,	/* no pages, no seals */
	FUZZ_FD_PIPE,		/* a pipe's read end */
	FUZZ_FD_MEMFD_RDONLY,	/* two pages, reopened read-only */
};

struct fuzz_record {
	uint8_t ctl;
	const uint8_t *data;
	size_t len;
};

/* Takes the next record off the input (@data, @left bytes); false at
 * the end. */
bool fuzz_next_record(const uint8_t **data, size_t *left,
		      struct fuzz_record *rec);

/* The number of fds @rec asks for and their kind. */
size_t fuzz_record_nfds(const struct fuzz_record *rec);
enum fuzz_fd_kind fuzz_record_fd_kind(const struct fuzz_record *rec);

/* Opens @n fds of @kind into @fds; aborts when it cannot (the machine,
 * not the input, is at fault). */
void fuzz_open_fds(enum fuzz_fd_kind kind, int *fds, size_t n);

/* Closes @n fds. */
void fuzz_close_fds(int *fds, size_t n);

/* How many fds the process has open. */
int fuzz_count_fds(void);

/* Aborts, naming @what, when @before differs from the fds open now. */
void fuzz_check_fds(int before, const char *what);

/*
 * Keeps a copy of stderr for fuzz_report(): libFuzzer's -close_fd_mask=2
 * (which run.sh uses to silence the broker's log) closes the original.
 * Call from LLVMFuzzerInitialize(), which runs before that.
 */
void fuzz_report_init(void);

/* Prints a line where fuzz_fail() does, without failing. */
void fuzz_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a finding's explanation and aborts (libFuzzer then saves the
 * input). */
void fuzz_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* A private directory under $TMPDIR (or /tmp), made once; the caller
 * frees nothing. */
const char *fuzz_tmpdir(void);

#endif
