# End-to-end tests that need the guests' drivers (vivid, vgem, the module);
# tests/vm runs every program in GUEST_PROGS inside each guest.
GUEST_PROGS += tests/e2e/camera-gpu.sh

# The script runs the broker, dmabuf-ctl and the examples from the build
# tree: building it (as a prerequisite of a guest run) builds them.
tests/e2e/camera-gpu.sh: $(DAEMON_BIN) $(B)/ctl/dmabuf-ctl $(EXAMPLES_BINS)
