# Broker benchmarks: make bench-broker (or make bench, which also runs
# vm-bench where its owner defines it).  Not part of CHECK_PROGS: tests check
# behaviour, benchmarks time it.  BENCH_ARGS=-q for a quick smoke run.
# Figures and how they were made: bench/README.md.
# Paths are spelled out: this fragment is read before libclient's.
BENCH_BROKER := $(B)/bench/broker/bench_broker
# The dma-buf backends against their own ioctls, and a dma-buf's handout
# against a memfd's: made for the 6.12 test guest, where every backend has
# its device (tests/kmod/guest.sh runs it in bench mode, after the module's
# benchmark); elsewhere it says SKIP for each device that is missing.
BENCH_BACKENDS := $(B)/bench/broker/bench_backends
BENCH_HARNESS := $(B)/tests/integration/harness.o \
	$(B)/tests/integration/harness_raw.o
BENCH_KIT := $(B)/bench/broker/benchkit.o
BENCH_BROKER_DEPS := $(BENCH_HARNESS) $(BENCH_KIT) $(B)/common/wire.o \
	$(PROTO_OBJ) $(B)/libclient/libdmabuf-broker.so.1

# Whether the module's page pool serves the broker's kmod Allocs, counted
# from its statistics, in the root memory cgroup and in a child one: made
# for the test guests too (bench/README.md says how it is run there).
BENCH_POOL := $(B)/bench/broker/bench_pool

BENCH_CLIENT_OBJS := $(B)/bench/broker/bench_broker.o \
	$(B)/bench/broker/bench_backends.o $(B)/bench/broker/bench_pool.o
$(BENCH_CLIENT_OBJS): ALL_CFLAGS += -Itests/integration
$(BENCH_CLIENT_OBJS): $(PROTO_H)

$(BENCH_BROKER) $(BENCH_BACKENDS) $(BENCH_POOL): %: %.o $(BENCH_BROKER_DEPS)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BENCH_HARNESS) $(BENCH_KIT) \
		$(B)/common/wire.o $(PROTO_OBJ) $(LIBCLIENT_LDFLAGS) \
		$(shell $(PKG_CONFIG) --libs libprotobuf-c)

# The registry alone, in process, at 100,000 buffers: the daemon needs an
# fd per buffer and cannot hold that many under a 20,000 RLIMIT_NOFILE.
BENCH_REGISTRY := $(B)/bench/broker/bench_registry

$(B)/bench/broker/bench_registry.o: ALL_CFLAGS += -Idaemon
$(B)/bench/broker/bench_registry.o: $(PROTO_H)

$(BENCH_REGISTRY): $(B)/bench/broker/bench_registry.o $(B)/daemon/registry.o $(B)/daemon/policy.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

.PHONY: bench-broker
bench-broker: $(BENCH_BROKER) $(BENCH_BACKENDS) $(BENCH_REGISTRY) \
		$(B)/daemon/dmabuf-brokerd
	$(BENCH_REGISTRY) $(BENCH_ARGS)
	$(BENCH_BROKER) $(BENCH_ARGS)
	$(BENCH_BACKENDS) $(BENCH_ARGS)

all: $(BENCH_BROKER) $(BENCH_BACKENDS) $(BENCH_POOL) $(BENCH_REGISTRY)
bench: bench-broker
