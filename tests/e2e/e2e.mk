# End-to-end tests that need the guests' drivers (vivid, vgem, the module).
# tests/vm runs every program of GUEST_PROGS inside each guest, from the
# build folder's snapshot: so the script is copied into $(B), and building
# that copy builds what it runs.
E2E_CAMERA_GPU := $(B)/tests/e2e/camera-gpu.sh

$(E2E_CAMERA_GPU): tests/e2e/camera-gpu.sh $(DAEMON_BIN) $(B)/ctl/dmabuf-ctl \
		$(EXAMPLES_BINS)
	install -D -m 0755 $< $@

# Fences on frame queues, with vgem's fences (tests/e2e/README.md): a
# cmocka program on the integration harness.  <drm/vgem_drm.h> is kernel
# uapi that libdrm does not ship; it comes from the distribution's kernel
# headers (linux-headers-amd64, which the guests' kernels need anyway),
# searched after the system's headers so that nothing else is taken from
# there.
E2E_FENCES := $(B)/tests/e2e/test_fences
E2E_UAPI ?= $(firstword $(wildcard /usr/src/linux-headers-*-common/include/uapi))
E2E_FENCES_OBJ := $(B)/tests/e2e/test_fences.o $(B)/tests/e2e/vgem.o
# Spelled out: integration.mk, read after this fragment, names them too.
E2E_HARNESS := $(B)/tests/integration/harness.o \
	$(B)/tests/integration/harness_raw.o

$(E2E_FENCES_OBJ): ALL_CFLAGS += -Itests/integration \
	$(if $(E2E_UAPI),-idirafter $(E2E_UAPI))
$(E2E_FENCES_OBJ): $(PROTO_H)
$(B)/tests/e2e/vgem.o: | e2e-uapi-check

$(E2E_FENCES): $(E2E_FENCES_OBJ) $(E2E_HARNESS) $(LIBCLIENT_SO) \
		$(B)/common/wire.o $(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $(E2E_FENCES_OBJ) $(E2E_HARNESS) \
		$(B)/common/wire.o $(PROTO_OBJ) $(LIBCLIENT_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c libdrm)

e2e-uapi-check:
	@test -f "$(E2E_UAPI)/drm/vgem_drm.h" || { echo "no kernel uapi" \
		"headers with drm/vgem_drm.h (apt install linux-headers-amd64," \
		"or set E2E_UAPI)" >&2; exit 1; }

GUEST_PROGS += $(E2E_CAMERA_GPU) $(E2E_FENCES)
.PHONY: e2e-uapi-check
