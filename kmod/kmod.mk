# dmabuf_sg: kernel module, its in-guest tests and its benchmark.
#
#   make kmod KDIR=/usr/src/linux-headers-<kver>    module into $(B)/kmod/<kver>/
#   make kmod-tests                                 guest test programs and benchmark
#
# The module is built by kmod/Makefile (out of tree, W=1, warnings fatal);
# the test programs are ordinary userspace C11 with the top-level flags.

# <kver> as uname -r says it: the header directory without its prefix.
KMOD_KVER = $(patsubst linux-headers-%,%,$(notdir $(realpath $(KDIR))))
KMOD_OUT = $(abspath $(B))/kmod/$(KMOD_KVER)

.PHONY: kmod kmod-tests
kmod:
	@test -n "$(KDIR)" || { echo "make kmod: give KDIR=/usr/src/linux-headers-<kver>" >&2; exit 1; }
	$(MAKE) -C kmod KDIR=$(abspath $(KDIR)) OUT=$(KMOD_OUT)

KMOD_TEST_BINS := $(B)/tests/kmod/dmabuf_sg_test $(B)/tests/kmod/dmabuf_sg_hold
KMOD_BENCH_BINS := $(B)/bench/kmod/dmabuf_sg_bench
KMOD_TEST_LIBS := $(shell $(PKG_CONFIG) --libs libdrm 2>/dev/null) -lpthread

kmod-tests: $(KMOD_TEST_BINS) $(KMOD_BENCH_BINS)

KMOD_TEST_OBJS := $(addprefix $(B)/tests/kmod/,test_main.o test_util.o \
	test_input.o test_view_input.o test_alloc.o test_pin.o test_import.o \
	test_view.o test_leak.o test_race.o)

$(B)/tests/kmod/dmabuf_sg_test: $(KMOD_TEST_OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(KMOD_TEST_LIBS)

$(B)/tests/kmod/dmabuf_sg_hold: $(B)/tests/kmod/hold.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(B)/bench/kmod/dmabuf_sg_bench: $(B)/bench/kmod/bench.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(KMOD_TEST_LIBS)
