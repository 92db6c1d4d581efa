/* SPDX-License-Identifier: MIT */
/*
 * vivid, the kernel's virtual video test driver, as dmabuf-camera-example
 * finds and sets it up: see vivid.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include "vivid.h"

static int vivid_fail(int err, const char *what)
{
	fprintf(stderr, "dmabuf-camera-example: %s: %s\n", what, strerror(err));
	return -err;
}

/* A single-planar streaming capture node of vivid (not its touch node). */
static bool vivid_is_capture(int fd)
{
	struct v4l2_capability cap = { 0 };
	uint32_t caps;

	if (ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0 ||
	    strcmp((const char *)cap.driver, "vivid"))
		return false;
	caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps :
							cap.capabilities;
	return (caps & V4L2_CAP_VIDEO_CAPTURE) && (caps & V4L2_CAP_STREAMING) &&
	       !(caps & V4L2_CAP_TOUCH);
}

int vivid_open(const char *device)
{
	char path[32];

	if (device) {
		int fd = open(device, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			return vivid_fail(errno, device);
		return fd;
	}
	for (int i = 0; i < 64; i++) {
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (vivid_is_capture(fd)) {
			printf("device %s\n", path);
			return fd;
		}
		close(fd);
	}
	fprintf(stderr, "dmabuf-camera-example: no vivid capture node in "
		"/dev/video* (modprobe vivid)\n");
	return -ENODEV;
}

int vivid_select_input(int video)
{
	struct v4l2_input in = { 0 };

	for (in.index = 0; ioctl(video, VIDIOC_ENUMINPUT, &in) == 0; in.index++) {
		int index = (int)in.index;

		if (in.type != V4L2_INPUT_TYPE_CAMERA)
			continue;
		if (ioctl(video, VIDIOC_S_INPUT, &index) < 0)
			return vivid_fail(errno, "VIDIOC_S_INPUT");
		printf("input %d %s\n", index, (const char *)in.name);
		return 0;
	}
	fprintf(stderr, "dmabuf-camera-example: the device has no camera input\n");
	return -ENODEV;
}

/* The id of the menu control called @name, or 0. */
static uint32_t vivid_find_menu_ctrl(int video, const char *name)
{
	struct v4l2_queryctrl q = { .id = V4L2_CTRL_FLAG_NEXT_CTRL };

	while (ioctl(video, VIDIOC_QUERYCTRL, &q) == 0) {
		if (q.type == V4L2_CTRL_TYPE_MENU &&
		    !strcmp((const char *)q.name, name))
			return q.id;
		q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
	}
	return 0;
}

/* Sets menu control @name to its item @item.  vivid's controls are
 * private ones (its "Test Pattern" is not V4L2_CID_TEST_PATTERN): looked
 * up by name. */
static int vivid_set_menu(int video, const char *name, const char *item)
{
	struct v4l2_querymenu m = { 0 };
	struct v4l2_control ctrl = { 0 };

	m.id = ctrl.id = vivid_find_menu_ctrl(video, name);
	for (m.index = 0; m.id && m.index < 64; m.index++) {
		if (ioctl(video, VIDIOC_QUERYMENU, &m) < 0 ||
		    strcmp((const char *)m.name, item))
			continue;
		ctrl.value = (int)m.index;
		if (ioctl(video, VIDIOC_S_CTRL, &ctrl) < 0)
			return vivid_fail(errno, name);
		return 0;
	}
	fprintf(stderr, "dmabuf-camera-example: no control \"%s\" with "
		"\"%s\" on this device\n", name, item);
	return -ENODEV;
}

int vivid_select_colorbar(int video)
{
	int r = vivid_set_menu(video, "Test Pattern", "75% Colorbar");

	return r < 0 ? r : vivid_set_menu(video, "OSD Text Mode", "None");
}

int vivid_check_offered(int video, uint32_t v4l2_fourcc, const char *name)
{
	struct v4l2_fmtdesc d = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

	for (d.index = 0; ioctl(video, VIDIOC_ENUM_FMT, &d) == 0; d.index++)
		if (d.pixelformat == v4l2_fourcc)
			return 0;
	fprintf(stderr, "dmabuf-camera-example: the device does not offer %s\n",
		name);
	return -ENOTSUP;
}
