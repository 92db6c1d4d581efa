# Example programs: a camera that captures from vivid into dma-bufs the
# broker allocated, and a GPU consumer that imports them by name into vgem
# (see examples/README.md).  They link against the client library like any
# program outside the tree would; installed under libexec, since they are
# demonstrations, not commands.
EXAMPLES_BINS := $(B)/examples/dmabuf-camera-example \
	$(B)/examples/dmabuf-gpu-example
EXAMPLES_LIBS := $(shell $(PKG_CONFIG) --libs libdrm)
EXAMPLESDIR ?= $(PREFIX)/libexec/dmabuf-broker

$(B)/examples/dmabuf-camera-example: $(B)/examples/camera.o $(LIBCLIENT_SO)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBCLIENT_LDFLAGS)

$(B)/examples/dmabuf-gpu-example: $(B)/examples/gpu.o $(LIBCLIENT_SO)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBCLIENT_LDFLAGS) $(EXAMPLES_LIBS)

examples: $(EXAMPLES_BINS)
all: examples

# Relinked without the build-tree rpath for installation.
examples-install: $(EXAMPLES_BINS)
	install -d $(DESTDIR)$(EXAMPLESDIR)
	for p in camera gpu; do \
		$(CC) $(ALL_LDFLAGS) -o $(B)/examples/dmabuf-$$p-example.install \
			$(B)/examples/$$p.o -L$(B)/libclient -ldmabuf-broker \
			$(EXAMPLES_LIBS) && \
		install -m 0755 $(B)/examples/dmabuf-$$p-example.install \
			$(DESTDIR)$(EXAMPLESDIR)/dmabuf-$$p-example || exit 1; \
	done
install: examples-install

.PHONY: examples examples-install
