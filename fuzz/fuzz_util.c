/* SPDX-License-Identifier: MIT */
#include "fuzz_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int fuzz_report_fd = 2;

void fuzz_report_init(void)
{
	int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);

	if (fd >= 0)
		fuzz_report_fd = fd;
}

void fuzz_report(const char *fmt, ...)
{
	va_list ap;

	dprintf(fuzz_report_fd, "fuzz: ");
	va_start(ap, fmt);
	vdprintf(fuzz_report_fd, fmt, ap);
	va_end(ap);
	dprintf(fuzz_report_fd, "\n");
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	dprintf(fuzz_report_fd, "fuzz: ");
	va_start(ap, fmt);
	vdprintf(fuzz_report_fd, fmt, ap);
	va_end(ap);
	dprintf(fuzz_report_fd, "\n");
	abort();
}

bool fuzz_next_record(const uint8_t **data, size_t *left,
		      struct fuzz_record *rec)
{
	size_t len;

	if (*left < 3)
		return false;
	rec->ctl = (*data)[0];
	len = (size_t)(*data)[1] | (size_t)(*data)[2] << 8;
	*data += 3;
	*left -= 3;
	if (len > *left)
		len = *left;
	rec->data = *data;
	rec->len = len;
	*data += len;
	*left -= len;
	return true;
}

size_t fuzz_record_nfds(const struct fuzz_record *rec)
{
	return rec->ctl & 3u;
}

enum fuzz_fd_kind fuzz_record_fd_kind(const struct fuzz_record *rec)
{
	return (enum fuzz_fd_kind)((rec->ctl >> 2) & 3u);
}

static int fuzz_memfd(size_t size, unsigned seals)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals) < 0))
		fuzz_fail("memfd: %m");
	return fd;
}

static int fuzz_open_one(enum fuzz_fd_kind kind)
{
	long page = sysconf(_SC_PAGESIZE);
	char path[64];
	int fd, p[2];

	switch (kind) {
	case FUZZ_FD_MEMFD_SEALED:
		return fuzz_memfd(2 * (size_t)page, F_SEAL_SHRINK);
	case FUZZ_FD_MEMFD_EMPTY:
		return fuzz_memfd(0, 0);
	case FUZZ_FD_PIPE:
		if (pipe2(p, O_CLOEXEC) < 0)
			fuzz_fail("pipe: %m");
		close(p[1]);
		return p[0];
	case FUZZ_FD_MEMFD_RDONLY:
		fd = fuzz_memfd(2 * (size_t)page, F_SEAL_SHRINK);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		p[0] = open(path, O_RDONLY | O_CLOEXEC);
		close(fd);
		if (p[0] < 0)
			fuzz_fail("reopening a memfd: %m");
		return p[0];
	}
	fuzz_fail("unknown fd kind %d", (int)kind);
}

void fuzz_open_fds(enum fuzz_fd_kind kind, int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fds[i] = fuzz_open_one(kind);
}

void fuzz_close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		fuzz_fail("/proc/self/fd: %m");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* What each fd is, for the report of a leak. */
static void fuzz_list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], target[256];
	ssize_t n;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		dprintf(fuzz_report_fd, "fuzz: fd %s: %s\n", e->d_name, target);
	}
	if (d)
		closedir(d);
}

void fuzz_check_fds(int before, const char *what)
{
	int after = fuzz_count_fds();

	if (after != before) {
		fuzz_list_fds();
		fuzz_fail("%s: %d fds open before the input, %d after: an fd "
			  "leaked", what, before, after);
	}
}

const char *fuzz_tmpdir(void)
{
	static char path[4096];
	const char *base = getenv("TMPDIR");

	if (path[0])
		return path;
	snprintf(path, sizeof(path), "%s/dbb-fuzz-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(path))
		fuzz_fail("mkdtemp: %m");
	return path;
}
