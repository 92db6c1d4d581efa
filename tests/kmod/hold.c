// SPDX-License-Identifier: GPL-2.0
/*
 * dmabuf_sg_hold: allocate one dma-buf, say "ready" on stdout and keep the
 * buffer until stdin reaches end of file (or the process is killed).
 * guest.sh uses it to check that the module cannot be removed while a
 * buffer lives.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dmabuf_sg.h>

int main(void)
{
	struct dmabuf_sg_alloc arg = {
		.size = 1 << 20, .fd_flags = O_RDWR | O_CLOEXEC, .name = "hold",
	};
	char c;
	int dev;

	dev = open("/dev/dmabuf_sg", O_RDWR | O_CLOEXEC);
	if (dev < 0 || ioctl(dev, DMABUF_SG_IOCTL_ALLOC, &arg) < 0) {
		perror("dmabuf_sg_hold");
		return 1;
	}
	/* Only the dma-buf may keep the module: not the device fd. */
	close(dev);
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	close((int)arg.fd);
	return 0;
}
