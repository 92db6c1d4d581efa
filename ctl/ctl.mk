# dmabuf-ctl: the command-line client, linked against libdmabuf-broker.
CTL_SRC := $(wildcard ctl/*.c)
CTL_OBJ := $(CTL_SRC:%.c=$(B)/%.o)
CTL_BIN := $(B)/ctl/dmabuf-ctl
CTL_LIBS := $(shell $(PKG_CONFIG) --libs json-c libdrm)
BINDIR ?= $(PREFIX)/bin

$(CTL_OBJ): $(PROTO_H)

$(CTL_BIN): $(CTL_OBJ) $(LIBCLIENT_SO)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CTL_OBJ) $(LIBCLIENT_LDFLAGS) $(CTL_LIBS)

ctl: $(CTL_BIN)
all: ctl

# Relinked without the build-tree rpath for installation.
ctl-install: $(CTL_OBJ) $(LIBCLIENT_SO)
	install -d $(DESTDIR)$(BINDIR)
	$(CC) $(ALL_LDFLAGS) -o $(B)/ctl/dmabuf-ctl.install $(CTL_OBJ) \
		-L$(B)/libclient -ldmabuf-broker $(CTL_LIBS)
	install -m 0755 $(B)/ctl/dmabuf-ctl.install $(DESTDIR)$(BINDIR)/dmabuf-ctl
install: ctl-install

.PHONY: ctl ctl-install
