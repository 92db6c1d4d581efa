# Integration tests: a real daemon on a private socket, real client
# processes.  The harness finds the daemon through $DBB_BROKERD, else the
# build tree's (compiled in below); DBB_DAEMON_WRAPPER runs it under e.g.
# valgrind.  The library path is spelled out because prerequisites are
# expanded when this fragment is read.
INTEG_LIB := $(B)/libclient/libdmabuf-broker.so.1
INTEG_HARNESS := $(B)/tests/integration/harness.o \
	$(B)/tests/integration/harness_raw.o
INTEG_PROGS := $(B)/tests/integration/test_broker \
	$(B)/tests/integration/test_backends \
	$(B)/tests/integration/test_badinput \
	$(B)/tests/integration/test_resume \
	$(B)/tests/integration/test_hostile \
	$(B)/tests/integration/test_shares \
	$(B)/tests/integration/test_charge \
	$(B)/tests/integration/test_pools

$(B)/tests/integration/harness.o: ALL_CFLAGS += \
	-DHARNESS_BROKERD='"$(abspath $(B))/daemon/dmabuf-brokerd"'
$(INTEG_HARNESS) $(INTEG_PROGS:%=%.o): $(PROTO_H)

$(INTEG_PROGS): %: %.o $(INTEG_HARNESS) $(INTEG_LIB) $(B)/common/wire.o \
		$(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(INTEG_HARNESS) $(B)/common/wire.o \
		$(PROTO_OBJ) $(LIBCLIENT_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs cmocka libprotobuf-c)

all: $(INTEG_PROGS)
CHECK_PROGS += $(INTEG_PROGS)
