# The crash-safety test: the daemon under a small service manager of the
# test's own (supervisor.c) that keeps its fd store as systemd does.
RESTART_TEST := $(B)/tests/integration/test_restart
RESTART_OBJ := $(B)/tests/integration/supervisor.o

$(RESTART_OBJ): ALL_CFLAGS += \
	-DHARNESS_BROKERD='"$(abspath $(B))/daemon/dmabuf-brokerd"'
$(RESTART_OBJ) $(RESTART_TEST).o: $(PROTO_H)

$(RESTART_TEST): %: %.o $(RESTART_OBJ) $(INTEG_HARNESS) $(B)/common/wire.o \
		$(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c)

all: $(RESTART_TEST)
CHECK_PROGS += $(RESTART_TEST)
