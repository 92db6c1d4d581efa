# dmabuf-brokerd, the broker daemon.
DAEMON_SRC := $(wildcard daemon/*.c)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(B)/%.o)
DAEMON_BIN := $(B)/daemon/dmabuf-brokerd
DAEMON_PKGS := libevent libsystemd libprotobuf-c inih

$(DAEMON_OBJ): $(PROTO_H)

$(DAEMON_BIN): $(DAEMON_OBJ) $(COMMON_OBJ) $(IMGFMT_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS))

all: $(DAEMON_BIN)
daemon: $(DAEMON_BIN)
.PHONY: daemon
