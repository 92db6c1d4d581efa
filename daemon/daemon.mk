# dmabuf-brokerd, the broker daemon.
DAEMON_SRC := $(wildcard daemon/*.c)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(B)/%.o)
DAEMON_BIN := $(B)/daemon/dmabuf-brokerd
DAEMON_PKGS := libevent libsystemd libprotobuf-c inih libdrm nettle

# One file per backend; the unit tests of the config link them too, since
# config validation reads the backend table.
BACKENDS_SRC := $(wildcard daemon/backends/*.c)
BACKENDS_OBJ := $(BACKENDS_SRC:%.c=$(B)/%.o)
$(BACKENDS_OBJ): ALL_CFLAGS += -Idaemon

$(DAEMON_OBJ): $(PROTO_H)

# The configuration and what it reads into: the name rules of [names]
# (which check prefixes as buffer names and groups as the access rules
# do).  Tests that load a config link these.
CONFIG_OBJ := $(B)/daemon/config.o $(B)/daemon/names.o \
	$(B)/daemon/policy.o $(B)/daemon/registry.o

$(DAEMON_BIN): $(DAEMON_OBJ) $(BACKENDS_OBJ) $(COMMON_OBJ) $(IMGFMT_OBJ) $(PROTO_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS))

all: $(DAEMON_BIN)
daemon: $(DAEMON_BIN)
.PHONY: daemon

BINDIR ?= $(PREFIX)/bin
# /etc for a system install (PREFIX=/usr), beside the prefix otherwise.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)

# The sample config is installed only where none exists, so an upgrade
# never overwrites what an administrator wrote.
daemon-install: $(DAEMON_BIN)
	install -Dm755 $(DAEMON_BIN) $(DESTDIR)$(BINDIR)/dmabuf-brokerd
	test -e $(DESTDIR)$(SYSCONFDIR)/dmabuf-broker/broker.conf || \
		install -Dm644 daemon/broker.conf $(DESTDIR)$(SYSCONFDIR)/dmabuf-broker/broker.conf
install: daemon-install
.PHONY: daemon-install
