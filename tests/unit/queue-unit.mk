# Unit tests of the frame queue engine over socketpairs, no broker: the
# library's objects are linked in, so that the tests can build queue ends
# the way the library does after set-up (libclient/queue-private.h).
TEST_QUEUE := $(B)/tests/unit/test_queue $(B)/tests/unit/test_queue_hostile \
	$(B)/tests/unit/test_queue_timeout
QUEUE_KIT := $(B)/tests/unit/queue_kit.o

$(TEST_QUEUE:%=%.o) $(QUEUE_KIT): ALL_CFLAGS += -Ilibclient
$(TEST_QUEUE:%=%.o) $(QUEUE_KIT): $(PROTO_H)

$(TEST_QUEUE): %: %.o $(QUEUE_KIT) $(LIBCLIENT_OBJ) $(COMMON_OBJ) $(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c) -lpthread

all: $(TEST_QUEUE)
CHECK_PROGS += $(TEST_QUEUE)
