# Unit tests of the release tracker (daemon/release.c): links only
# release.o, libevent and cmocka.  In the test guests it also tests the
# dma-buf sources it finds (dma-heap, udmabuf, vgem, dmabuf_sg).
TEST_RELEASE := $(B)/tests/unit/test_release

$(TEST_RELEASE).o: ALL_CFLAGS += -Idaemon

$(TEST_RELEASE): $(TEST_RELEASE).o $(B)/daemon/release.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libevent)

all: $(TEST_RELEASE)
CHECK_PROGS += $(TEST_RELEASE)
