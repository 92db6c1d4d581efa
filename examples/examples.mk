# Example programs: a camera that captures from vivid into a pool of
# dma-bufs the broker allocated and streams them through the pool's frame
# queue, and a GPU consumer that attaches by the pool's name and imports
# them into vgem (see examples/README.md).  They link against the client
# library like any program outside the tree would; installed under
# libexec, since they are demonstrations, not commands.
EXAMPLES_BINS := $(B)/examples/dmabuf-camera-example \
	$(B)/examples/dmabuf-gpu-example
EXAMPLES_LIBS := $(shell $(PKG_CONFIG) --libs libdrm)
EXAMPLESDIR ?= $(PREFIX)/libexec/dmabuf-broker

EXAMPLES_CAMERA_OBJ := $(B)/examples/camera.o $(B)/examples/vivid.o
EXAMPLES_GPU_OBJ := $(B)/examples/gpu.o

$(B)/examples/dmabuf-camera-example: $(EXAMPLES_CAMERA_OBJ) $(LIBCLIENT_SO)
	$(CC) $(ALL_LDFLAGS) -o $@ $(EXAMPLES_CAMERA_OBJ) $(LIBCLIENT_LDFLAGS)

$(B)/examples/dmabuf-gpu-example: $(EXAMPLES_GPU_OBJ) $(LIBCLIENT_SO)
	$(CC) $(ALL_LDFLAGS) -o $@ $(EXAMPLES_GPU_OBJ) $(LIBCLIENT_LDFLAGS) $(EXAMPLES_LIBS)

examples: $(EXAMPLES_BINS)
all: examples

# Relinked without the build-tree rpath for installation.
examples-install: $(EXAMPLES_BINS)
	install -d $(DESTDIR)$(EXAMPLESDIR)
	$(CC) $(ALL_LDFLAGS) -o $(B)/examples/dmabuf-camera-example.install \
		$(EXAMPLES_CAMERA_OBJ) -L$(B)/libclient -ldmabuf-broker
	$(CC) $(ALL_LDFLAGS) -o $(B)/examples/dmabuf-gpu-example.install \
		$(EXAMPLES_GPU_OBJ) -L$(B)/libclient -ldmabuf-broker $(EXAMPLES_LIBS)
	for p in camera gpu; do \
		install -m 0755 $(B)/examples/dmabuf-$$p-example.install \
			$(DESTDIR)$(EXAMPLESDIR)/dmabuf-$$p-example || exit 1; \
	done
install: examples-install

.PHONY: examples examples-install
