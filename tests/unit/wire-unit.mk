# Unit tests of the frame layer: links only wire.o and the generated code.
TEST_WIRE := $(B)/tests/unit/test_wire

$(B)/tests/unit/test_wire.o: $(PROTO_H)

$(TEST_WIRE): $(B)/tests/unit/test_wire.o $(B)/common/wire.o $(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c)

all: $(TEST_WIRE)
CHECK_PROGS += $(TEST_WIRE)
