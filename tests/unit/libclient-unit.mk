# Unit tests of the client library against a fake broker: the library is
# linked as the shared object (its public API only); the fake side uses
# wire.o and the generated code.
TEST_LIBCLIENT := $(B)/tests/unit/test_libclient

$(B)/tests/unit/test_libclient.o: $(PROTO_H)

$(TEST_LIBCLIENT): $(B)/tests/unit/test_libclient.o $(B)/common/wire.o \
		$(PROTO_OBJ) $(LIBCLIENT_SO)
	$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBCLIENT_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c)

all: $(TEST_LIBCLIENT)
CHECK_PROGS += $(TEST_LIBCLIENT)
