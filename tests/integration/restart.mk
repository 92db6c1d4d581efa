# The crash-safety tests: the daemon under a small service manager of the
# tests' own (supervisor.c) that keeps its fd store as systemd does.
# test_restart covers buffers and the store, test_restart_pool pools; both
# share the fixture and requests of restart_kit.c.
RESTART_TESTS := $(B)/tests/integration/test_restart \
	$(B)/tests/integration/test_restart_pool
RESTART_OBJ := $(B)/tests/integration/supervisor.o \
	$(B)/tests/integration/restart_kit.o

$(B)/tests/integration/supervisor.o: ALL_CFLAGS += \
	-DHARNESS_BROKERD='"$(abspath $(B))/daemon/dmabuf-brokerd"'
$(RESTART_OBJ) $(RESTART_TESTS:%=%.o): $(PROTO_H)

$(RESTART_TESTS): %: %.o $(RESTART_OBJ) $(INTEG_HARNESS) \
		$(B)/common/wire.o $(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c)

all: $(RESTART_TESTS)
CHECK_PROGS += $(RESTART_TESTS)
