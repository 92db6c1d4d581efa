# The program tests/systemd/cases/50-crash-safety.sh runs in the systemd
# guest (from $BUILD): not a GUEST_PROGS test of its own, since it kills
# and restarts the installed service.
CRASH_CHECK := $(B)/tests/systemd/crash_check

$(CRASH_CHECK).o: ALL_CFLAGS += -Itests/integration
$(CRASH_CHECK).o: $(PROTO_H)
$(CRASH_CHECK): %: %.o $(INTEG_HARNESS) $(B)/common/wire.o $(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs libprotobuf-c)

all: $(CRASH_CHECK)
