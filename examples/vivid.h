/* SPDX-License-Identifier: MIT */
/*
 * vivid, the kernel's virtual video test driver, set up as
 * dmabuf-camera-example's camera.  Every function returns 0 (or an fd)
 * or a negative errno, having said why on stderr.
 */
#ifndef DBB_EXAMPLES_VIVID_H
#define DBB_EXAMPLES_VIVID_H

#include <stdint.h>

/* Opens @device, or (NULL) the first /dev/video* that is a single-planar
 * streaming capture node of vivid, and prints "device PATH".  -ENODEV:
 * none. */
int vivid_open(const char *device);

/* Selects the first camera input: vivid's webcam, which offers 640x480
 * among its sizes (its TV, S-Video and HDMI inputs tie the size to a
 * video standard or to DV timings).  Prints "input I NAME". */
int vivid_select_input(int video);

/* Selects the "75% Colorbar" test pattern (vivid's default, set anyway
 * since the control outlives whoever changed it last) with no text drawn
 * over it ("OSD Text Mode" None: the picture is the bars alone, at any
 * size, and the emulated guests draw it faster). */
int vivid_select_colorbar(int video);

/* -ENOTSUP when the device does not offer @v4l2_fourcc (called @name). */
int vivid_check_offered(int video, uint32_t v4l2_fourcc, const char *name);

#endif
