# dmabuf-broker top-level Makefile.
#
# Everything is built out of tree into $(B) (default: build/).  Each part of
# the project keeps its rules in a fragment beside its sources; this file only
# holds the shared flags and the top-level targets.
#
#   make            build the daemon, library, dmabuf-ctl and tests
#   make deps       install the Debian packages the build and tests need
#   make run        start the broker in the foreground (best backend)
#   make check      run every test (unit, integration, sanitizers, valgrind,
#                   kernel tests in QEMU) and print "N passed, N failed"
#   make bench      run the benchmarks
#   make clean

B ?= build
PREFIX ?= /usr/local

CC ?= cc
PKG_CONFIG ?= pkg-config
PROTOC_C ?= protoc-c

PKGS := libevent libsystemd libprotobuf-c libdrm inih json-c

WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
	-Wvla -Wundef -Wshadow -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) \
	-Iinclude -Icommon -I$(B)/proto -Ikmod/uapi \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
ALL_LDFLAGS := $(LDFLAGS)

# Sanitizer builds go to their own tree: make B=build/asan SANITIZE=1
ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
endif

.PHONY: all deps run check check-progs print-check-progs bench clean install
.PHONY: guest-progs print-guest-progs
all:

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c -o $@ $<

# Programs that print TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, or their
# own) and that tests/check.sh runs; fragments append to it.
CHECK_PROGS :=
# Programs that tests/vm runs inside each test guest, once per kernel, after
# the module's and the broker's tests (TAP, exit 77 to skip); fragments
# append to it.
GUEST_PROGS :=

# The fragments that define variables others use come first.
FIRST_MK := proto/proto.mk common/common.mk libclient/libclient.mk
include $(FIRST_MK)
include $(sort $(filter-out $(FIRST_MK), \
	$(wildcard */*.mk tests/*/*.mk bench/*/*.mk)))

check-progs: $(CHECK_PROGS)
print-check-progs:
	@echo $(CHECK_PROGS)
guest-progs: $(GUEST_PROGS)
print-guest-progs:
	@echo $(GUEST_PROGS)

deps:
	scripts/install-deps.sh

# Installs what it needs, builds and starts the broker in the foreground.
run: deps
	$(MAKE) --no-print-directory all
	scripts/run-broker.sh

# Installs what it needs, builds and runs every test; see tests/check.sh.
check: deps
	tests/check.sh

clean:
	rm -rf $(B)

# Dependency files only: an install tree staged under $(B) has folders named
# *.d (rules.d, sysusers.d).
-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
