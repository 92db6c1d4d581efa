# Tests of the dma-buf backends (heap, udmabuf, drm) on the real devices.
# They run inside the test guests (GUEST_PROGS, see tests/vm), where the
# kernel has the devices; here each case that needs one SKIPs with the
# reason.  Links the test's dma-buf checks (kit.c), the backend table and
# every backend (the table names them all), the configuration and the
# image-format table.
TEST_BACKENDS := $(B)/tests/backends/test_backends

$(TEST_BACKENDS).o: ALL_CFLAGS += -Idaemon -Idaemon/backends

$(TEST_BACKENDS): $(TEST_BACKENDS).o $(B)/tests/backends/kit.o \
		$(BACKENDS_OBJ) $(CONFIG_OBJ) $(IMGFMT_OBJ)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libdrm inih)

all: $(TEST_BACKENDS)
check-progs: $(TEST_BACKENDS)
GUEST_PROGS += $(TEST_BACKENDS)
