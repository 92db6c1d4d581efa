# Unit tests of the release tracker (daemon/release.c), with a kit of
# their own: test_release (the tracker, memfds) and test_release_dmabuf
# (every dma-buf source it finds: dma-heap, udmabuf, vgem, dmabuf_sg; in
# the test guests, SKIP elsewhere).  Each links release.o, the kit,
# libevent and cmocka.
TEST_RELEASE := $(B)/tests/unit/test_release
TEST_RELEASE_DMABUF := $(B)/tests/unit/test_release_dmabuf
RELEASE_UNIT_TESTS := $(TEST_RELEASE) $(TEST_RELEASE_DMABUF)
RELEASE_KIT_OBJ := $(B)/tests/unit/release_kit.o

$(RELEASE_UNIT_TESTS:%=%.o) $(RELEASE_KIT_OBJ): ALL_CFLAGS += -Idaemon

$(RELEASE_UNIT_TESTS): %: %.o $(RELEASE_KIT_OBJ) $(B)/daemon/release.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libevent)

all: $(RELEASE_UNIT_TESTS)
CHECK_PROGS += $(RELEASE_UNIT_TESTS)
