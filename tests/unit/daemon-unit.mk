# Unit tests of the daemon's registry, access rules, configuration,
# resumable sessions, the limits all uids share, the worker thread, and the
# pool table with its queues' state.  Each links only the unit under test and cmocka;
# config also links the backend table it validates names against (and the
# backends with it) and the name rules of [names], resume the registry and
# logging it works on.
TEST_REGISTRY := $(B)/tests/unit/test_registry
TEST_POLICY := $(B)/tests/unit/test_policy
TEST_CONFIG := $(B)/tests/unit/test_config
TEST_FDS := $(B)/tests/unit/test_fds
TEST_RESUME := $(B)/tests/unit/test_resume
TEST_SHARES := $(B)/tests/unit/test_shares
TEST_WORKER := $(B)/tests/unit/test_worker
TEST_POOL := $(B)/tests/unit/test_pool
DAEMON_UNIT_TESTS := $(TEST_REGISTRY) $(TEST_POLICY) $(TEST_CONFIG) $(TEST_FDS) \
	$(TEST_RESUME) $(TEST_SHARES) $(TEST_WORKER) $(TEST_POOL)

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

$(TEST_SHARES): $(B)/tests/unit/test_shares.o $(B)/daemon/shares.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

# The pool table and the queues' slots and counters page.
$(TEST_POOL): $(B)/tests/unit/test_pool.o $(B)/daemon/pool.o \
		$(B)/daemon/queue.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

# The worker's own thread against a real event loop.
$(TEST_WORKER): $(B)/tests/unit/test_worker.o $(B)/daemon/worker.o
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libevent)

# Resumable sessions run on a real registry and event loop.
$(TEST_RESUME): $(B)/tests/unit/test_resume.o $(B)/daemon/resume.o \
		$(B)/daemon/registry.o $(B)/daemon/policy.o $(B)/daemon/log.o \
		$(B)/daemon/broker.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libevent libsystemd nettle)

$(TEST_POLICY): $(B)/tests/unit/test_policy.o $(B)/daemon/policy.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

$(TEST_CONFIG): $(B)/tests/unit/test_config.o $(CONFIG_OBJ) \
		$(BACKENDS_OBJ) $(IMGFMT_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka inih libdrm)

all: $(DAEMON_UNIT_TESTS)
CHECK_PROGS += $(DAEMON_UNIT_TESTS)
