# libdmabuf-broker.so.1: the client library, its pkg-config file and install.
#
# Programs in the tree link with $(LIBCLIENT_LDFLAGS) and depend on
# $(LIBCLIENT_SO); the rpath lets them run from the build tree.  Fragments
# read before this one (bench/, ctl/) must spell the path out in their
# prerequisites: $(B)/libclient/libdmabuf-broker.so.1.
LIBCLIENT_VERSION := 0.2.0
LIBCLIENT_SRC := $(wildcard libclient/*.c)
LIBCLIENT_OBJ := $(LIBCLIENT_SRC:%.c=$(B)/%.o)
LIBCLIENT_SO := $(B)/libclient/libdmabuf-broker.so.1
LIBCLIENT_LINK := $(B)/libclient/libdmabuf-broker.so
LIBCLIENT_PC := $(B)/libclient/dmabuf-broker.pc
LIBCLIENT_SYM := libclient/libdmabuf-broker.sym
LIBCLIENT_LDFLAGS := -L$(B)/libclient \
	-Wl,-rpath,$(abspath $(B)/libclient) -ldmabuf-broker
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

# Only the API (declared default in client-private.h) leaves the library.
$(LIBCLIENT_OBJ): ALL_CFLAGS += -fvisibility=hidden
$(LIBCLIENT_OBJ): $(PROTO_H)

$(LIBCLIENT_SO): $(LIBCLIENT_OBJ) $(COMMON_OBJ) $(PROTO_OBJ) $(LIBCLIENT_SYM)
	$(CC) -shared -Wl,-soname,libdmabuf-broker.so.1 \
		-Wl,--version-script=$(LIBCLIENT_SYM) -Wl,--no-undefined \
		-Wl,-z,defs -Wl,-z,relro -Wl,-z,now \
		-o $@ $(LIBCLIENT_OBJ) $(COMMON_OBJ) $(PROTO_OBJ) $(ALL_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs libprotobuf-c)
	ln -sf libdmabuf-broker.so.1 $(LIBCLIENT_LINK)

# The pc file is written again at install time, so that PREFIX/LIBDIR given
# to `make install` win over those of the build.
LIBCLIENT_PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	-e 's|@VERSION@|$(LIBCLIENT_VERSION)|' libclient/dmabuf-broker.pc.in

$(LIBCLIENT_PC): libclient/dmabuf-broker.pc.in libclient/libclient.mk
	@mkdir -p $(dir $@)
	$(LIBCLIENT_PC_SED) > $@

libclient: $(LIBCLIENT_SO) $(LIBCLIENT_PC)
all: libclient

libclient-install: $(LIBCLIENT_SO) $(LIBCLIENT_PC)
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(LIBCLIENT_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libdmabuf-broker.so.1 $(DESTDIR)$(LIBDIR)/libdmabuf-broker.so
	install -m 0644 include/dmabuf-broker.h $(DESTDIR)$(INCLUDEDIR)/
	$(LIBCLIENT_PC_SED) > $(DESTDIR)$(LIBDIR)/pkgconfig/dmabuf-broker.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/dmabuf-broker.pc
install: libclient-install

.PHONY: libclient libclient-install
