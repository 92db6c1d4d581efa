# Unit tests of the daemon's registry, access rules and configuration.
# Each links only the unit under test and cmocka; config also links the
# backend table it validates names against (and the backends with it).
TEST_REGISTRY := $(B)/tests/unit/test_registry
TEST_POLICY := $(B)/tests/unit/test_policy
TEST_CONFIG := $(B)/tests/unit/test_config
TEST_FDS := $(B)/tests/unit/test_fds
DAEMON_UNIT_TESTS := $(TEST_REGISTRY) $(TEST_POLICY) $(TEST_CONFIG) $(TEST_FDS)

$(DAEMON_UNIT_TESTS:%=%.o): $(PROTO_H)
$(DAEMON_UNIT_TESTS:%=%.o): ALL_CFLAGS += -Idaemon
$(TEST_CONFIG).o: ALL_CFLAGS += \
	-DSAMPLE_CONFIG='"$(abspath daemon/broker.conf)"'
$(TEST_CONFIG).o: daemon/broker.conf

$(TEST_REGISTRY): $(B)/tests/unit/test_registry.o $(B)/daemon/registry.o \
		$(B)/daemon/policy.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

$(TEST_FDS): $(B)/tests/unit/test_fds.o $(B)/daemon/fds.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

$(TEST_POLICY): $(B)/tests/unit/test_policy.o $(B)/daemon/policy.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

$(TEST_CONFIG): $(B)/tests/unit/test_config.o $(B)/daemon/config.o \
		$(BACKENDS_OBJ) $(IMGFMT_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka inih libdrm)

all: $(DAEMON_UNIT_TESTS)
CHECK_PROGS += $(DAEMON_UNIT_TESTS)
