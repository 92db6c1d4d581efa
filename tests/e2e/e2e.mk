# End-to-end tests that need the guests' drivers (vivid, vgem, the module).
# tests/vm runs every program of GUEST_PROGS inside each guest, from the
# build folder's snapshot: so the script is copied into $(B), and building
# that copy builds what it runs.
E2E_CAMERA_GPU := $(B)/tests/e2e/camera-gpu.sh

$(E2E_CAMERA_GPU): tests/e2e/camera-gpu.sh $(DAEMON_BIN) $(B)/ctl/dmabuf-ctl \
		$(EXAMPLES_BINS)
	install -D -m 0755 $< $@

GUEST_PROGS += $(E2E_CAMERA_GPU)
