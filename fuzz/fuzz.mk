# libFuzzer targets (fuzz/README.md): the broker's request decoding and
# dispatch, and the client library's reply and event decoding.
#
#   make B=build/x fuzz         fuzz each target for FUZZ_SECONDS
#   make B=build/x fuzz-targets build them only
#   make B=build/x fuzz-seeds   write the seed corpus again (fuzz/corpus)
#
# The targets need clang (libFuzzer); they are built with ASan and UBSan
# in their own objects under $(B)/fuzz/obj.  $(B)/fuzz/check, one of
# CHECK_PROGS, replays every corpus file and regression and fuzzes each
# target briefly; without clang it reports each test skipped.
FUZZ_CC ?= clang-14
FUZZ_SECONDS ?= 300
FUZZ_CHECK_SECONDS ?= 20
# clang without its libFuzzer runtime (libclang-rt-14-dev) cannot link them.
FUZZ_HAVE_RUNTIME := $(wildcard $(shell $(FUZZ_CC) -print-runtime-dir \
	2>/dev/null)/libclang_rt.fuzzer-*.a)

FUZZ_OBJ_DIR := $(B)/fuzz/obj
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra \
	-Wno-unused-parameter $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	-Iinclude -Icommon -Idaemon -I$(B)/proto -Ikmod/uapi -Ifuzz \
	$(shell $(PKG_CONFIG) --cflags $(DAEMON_PKGS) 2>/dev/null)

FUZZ_TARGETS := $(B)/fuzz/fuzz_broker $(B)/fuzz/fuzz_libclient
FUZZ_COMMON := $(FUZZ_OBJ_DIR)/fuzz/fuzz_util.o $(FUZZ_OBJ_DIR)/common/wire.o \
	$(FUZZ_OBJ_DIR)/common/chan.o \
	$(FUZZ_OBJ_DIR)/proto.o
FUZZ_BROKER_OBJ := $(FUZZ_OBJ_DIR)/fuzz/fuzz_broker.o \
	$(patsubst %.c,$(FUZZ_OBJ_DIR)/%.o,$(filter-out daemon/main.c,$(DAEMON_SRC)) \
		$(BACKENDS_SRC) common/imgfmt.c)
FUZZ_LIBCLIENT_OBJ := $(FUZZ_OBJ_DIR)/fuzz/fuzz_libclient.o \
	$(patsubst %.c,$(FUZZ_OBJ_DIR)/%.o,$(LIBCLIENT_SRC))

# The tree's sources under the tree's warnings, the targets' own held to
# -Werror as well.
$(FUZZ_OBJ_DIR)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(if $(filter fuzz/%,$<),-Werror) \
		-MMD -MP -c -o $@ $<

$(FUZZ_OBJ_DIR)/proto.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -W%,$(FUZZ_CFLAGS)) -c -o $@ $<

$(B)/fuzz/fuzz_broker: $(FUZZ_BROKER_OBJ) $(FUZZ_COMMON)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs $(DAEMON_PKGS))

$(B)/fuzz/fuzz_libclient: $(FUZZ_LIBCLIENT_OBJ) $(FUZZ_COMMON)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs libprotobuf-c)

# The check: a wrapper with this tree's paths, which tests/check.sh runs.
# Sanitizer trees (SANITIZE=1) leave it out: the targets have theirs.
$(B)/fuzz/check: fuzz/fuzz.mk $(if $(FUZZ_HAVE_RUNTIME),$(FUZZ_TARGETS))
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec %s/fuzz/run.sh check %s %s %s\n' \
		'$(abspath .)' '$(abspath $(B))' '$(FUZZ_CHECK_SECONDS)' \
		'$(FUZZ_CC)' >$@
	chmod +x $@
ifneq ($(SANITIZE),1)
CHECK_PROGS += $(B)/fuzz/check
endif

# Writes the seeds as gen_seeds.c builds them (a plain host program).
$(B)/fuzz/gen_seeds: $(B)/fuzz/gen_seeds.o $(PROTO_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs libprotobuf-c)
$(B)/fuzz/gen_seeds.o: ALL_CFLAGS += -Ifuzz

fuzz-targets: $(FUZZ_TARGETS)
fuzz: $(FUZZ_TARGETS)
	fuzz/run.sh fuzz $(abspath $(B)) $(FUZZ_SECONDS) $(FUZZ_CC)
fuzz-seeds: $(B)/fuzz/gen_seeds
	$(B)/fuzz/gen_seeds fuzz/corpus
.PHONY: fuzz fuzz-targets fuzz-seeds
