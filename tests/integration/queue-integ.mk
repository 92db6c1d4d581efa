# Frame queues through a real broker (read after integration.mk, whose
# harness and variables it uses).
TEST_QUEUE_INTEG := $(B)/tests/integration/test_queue \
	$(B)/tests/integration/test_queue_events

$(TEST_QUEUE_INTEG:%=%.o): $(PROTO_H)

$(TEST_QUEUE_INTEG): %: %.o $(INTEG_HARNESS) $(INTEG_LIB) $(B)/common/wire.o \
		$(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(INTEG_HARNESS) $(B)/common/wire.o \
		$(PROTO_OBJ) $(LIBCLIENT_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c)

all: $(TEST_QUEUE_INTEG)
CHECK_PROGS += $(TEST_QUEUE_INTEG)
