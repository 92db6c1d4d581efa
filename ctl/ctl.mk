# dmabuf-ctl: the command-line client, linked against libdmabuf-broker.
# The library's path is spelled out: this fragment is read before
# libclient.mk, and prerequisites are expanded when read.
CTL_LIB := $(B)/libclient/libdmabuf-broker.so.1
CTL_SRC := $(wildcard ctl/*.c)
CTL_OBJ := $(CTL_SRC:%.c=$(B)/%.o)
CTL_BIN := $(B)/ctl/dmabuf-ctl
CTL_LIBS := $(shell $(PKG_CONFIG) --libs json-c libdrm)
BINDIR ?= $(PREFIX)/bin


$(CTL_BIN): $(CTL_OBJ) $(IMGFMT_OBJ) $(CTL_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CTL_OBJ) $(IMGFMT_OBJ) $(LIBCLIENT_LDFLAGS) \
		$(CTL_LIBS)

ctl: $(CTL_BIN)
all: ctl

# Relinked without the build-tree rpath for installation.
ctl-install: $(CTL_OBJ) $(IMGFMT_OBJ) $(CTL_LIB)
	install -d $(DESTDIR)$(BINDIR)
	$(CC) $(ALL_LDFLAGS) -o $(B)/ctl/dmabuf-ctl.install $(CTL_OBJ) $(IMGFMT_OBJ) \
		-L$(B)/libclient -ldmabuf-broker $(CTL_LIBS)
	install -m 0755 $(B)/ctl/dmabuf-ctl.install $(DESTDIR)$(BINDIR)/dmabuf-ctl
install: ctl-install

.PHONY: ctl ctl-install
