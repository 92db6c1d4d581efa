# Broker benchmarks: make bench-broker (or make bench, which also runs
# vm-bench where its owner defines it).  Not part of CHECK_PROGS: tests check
# behaviour, benchmarks time it.  BENCH_ARGS=-q for a quick smoke run.
# Paths are spelled out: this fragment is read before libclient's.
BENCH_BROKER := $(B)/bench/broker/bench_broker
BENCH_HARNESS := $(B)/tests/integration/harness.o \
	$(B)/tests/integration/harness_raw.o
BENCH_KIT := $(B)/bench/broker/benchkit.o
BENCH_BROKER_DEPS := $(BENCH_HARNESS) $(BENCH_KIT) $(B)/common/wire.o \
	$(PROTO_OBJ) $(B)/libclient/libdmabuf-broker.so.1

$(B)/bench/broker/bench_broker.o: ALL_CFLAGS += -Itests/integration
$(B)/bench/broker/bench_broker.o: $(PROTO_H)

$(BENCH_BROKER): $(B)/bench/broker/bench_broker.o $(BENCH_BROKER_DEPS)
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
bench-broker: $(BENCH_BROKER) $(BENCH_REGISTRY) $(B)/daemon/dmabuf-brokerd
	$(BENCH_REGISTRY) $(BENCH_ARGS)
	$(BENCH_BROKER) $(BENCH_ARGS)

all: $(BENCH_BROKER) $(BENCH_REGISTRY)
bench: bench-broker
