# dmabuf_sg: kernel module, its in-guest tests and its benchmark.
#
#   make kmod KDIR=/usr/src/linux-headers-<kver>    module into $(B)/kmod/<kver>/
#   make kmod-tests                                 guest test programs and benchmark
#   make kmod-install KDIR=...                      the module built for that kernel
#
# The module is built by kmod/Makefile (out of tree, W=1, warnings fatal);
# the test programs are ordinary userspace C11 with the top-level flags.

# <kver> as uname -r says it: the header directory without its prefix.
KMOD_KVER = $(patsubst linux-headers-%,%,$(notdir $(realpath $(KDIR))))
KMOD_OUT = $(abspath $(B))/kmod/$(KMOD_KVER)

.PHONY: kmod kmod-tests kmod-install
kmod:
	@test -n "$(KDIR)" || { echo "make kmod: give KDIR=/usr/src/linux-headers-<kver>" >&2; exit 1; }
	$(MAKE) -C kmod KDIR=$(abspath $(KDIR)) OUT=$(KMOD_OUT)

# The module goes to updates/ (ahead of the kernel's own modules), with the
# modules-load.d entry that has systemd load it at boot: the two are
# installed together or not at all.  depmod runs for a live install only;
# a package's postinst runs it for a DESTDIR tree.
KMOD_INSTALL_DIR = /lib/modules/$(KMOD_KVER)/updates
kmod-install:
	@test -n "$(KDIR)" || { echo "make kmod-install: give KDIR=/usr/src/linux-headers-<kver>" >&2; exit 1; }
	@test -f $(KMOD_OUT)/dmabuf_sg.ko || { echo "make kmod-install: no $(KMOD_OUT)/dmabuf_sg.ko; run make kmod KDIR=$(KDIR)" >&2; exit 1; }
	install -Dm644 $(KMOD_OUT)/dmabuf_sg.ko $(DESTDIR)$(KMOD_INSTALL_DIR)/dmabuf_sg.ko
	install -Dm644 systemd/dmabuf_sg.modules-load.conf \
		$(DESTDIR)$(MODULES_LOAD_DIR)/dmabuf_sg.conf
	$(if $(DESTDIR),,depmod $(KMOD_KVER))

KMOD_TEST_BINS := $(B)/tests/kmod/dmabuf_sg_test $(B)/tests/kmod/dmabuf_sg_hold
KMOD_BENCH_BINS := $(B)/bench/kmod/dmabuf_sg_bench
KMOD_TEST_LIBS := $(shell $(PKG_CONFIG) --libs libdrm 2>/dev/null) -lpthread

kmod-tests: $(KMOD_TEST_BINS) $(KMOD_BENCH_BINS)

KMOD_TEST_OBJS := $(addprefix $(B)/tests/kmod/,test_main.o test_util.o \
	test_input.o test_view_input.o test_alloc.o test_heap.o test_pin.o \
	test_charge.o test_import.o test_view.o test_leak.o test_race.o \
	test_pool.o)

# The kernel's own dma-heap selftest (tools/testing/selftests/dmabuf-heaps/),
# which guest.sh runs against the module's heap: taken from Debian's
# linux-source-6.12 (scripts/install-deps.sh all), only its folder and the
# kselftest.h it includes extracted into $(B)/kselftest/ once, and built
# static as its own Makefile does, with libdrm's copy of <drm/drm.h>.  Not
# built without the tarball; guest.sh then reports it not run.
KSELFTEST_TARBALL ?= /usr/src/linux-source-6.12.tar.xz
KSELFTEST_DIR := $(B)/kselftest
KSELFTEST_HEAP := $(B)/tests/kmod/dmabuf-heap
KSELFTEST_DRM_INCLUDE := $(patsubst -I%,%,$(shell $(PKG_CONFIG) --cflags-only-I libdrm 2>/dev/null))

ifneq ($(wildcard $(KSELFTEST_TARBALL)),)
kmod-tests: $(KSELFTEST_HEAP)
endif

$(KSELFTEST_DIR)/dmabuf-heaps/dmabuf-heap.c: $(KSELFTEST_TARBALL)
	rm -rf $(KSELFTEST_DIR)
	mkdir -p $(KSELFTEST_DIR)/include
	tar -xJf $< -C $(KSELFTEST_DIR) --strip-components=4 --wildcards \
		'*/tools/testing/selftests/dmabuf-heaps/*' \
		'*/tools/testing/selftests/kselftest.h'
	ln -sfn $(KSELFTEST_DRM_INCLUDE) $(KSELFTEST_DIR)/include/drm
	touch $@

$(KSELFTEST_HEAP): $(KSELFTEST_DIR)/dmabuf-heaps/dmabuf-heap.c
	@mkdir -p $(@D)
	$(CC) -static -O3 -Wall -I$(KSELFTEST_DIR)/include -o $@ $<

$(B)/tests/kmod/dmabuf_sg_test: $(KMOD_TEST_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(KMOD_TEST_LIBS)

$(B)/tests/kmod/dmabuf_sg_hold: $(B)/tests/kmod/hold.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(B)/bench/kmod/dmabuf_sg_bench: $(B)/bench/kmod/bench.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(KMOD_TEST_LIBS)
