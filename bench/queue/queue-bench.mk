# Frame queue benchmark: make bench-queue (and make bench).  Not part of
# CHECK_PROGS.  BENCH_ARGS=-q for a quick smoke run.  Figures and how they
# were made: bench/README.md.  Uses the broker benchmarks' kit and the
# integration harness (to start a broker); paths are spelled out as in
# bench/broker/bench.mk.
BENCH_QUEUE := $(B)/bench/queue/bench_queue
BENCH_QUEUE_DEPS := $(B)/tests/integration/harness.o \
	$(B)/tests/integration/harness_raw.o $(B)/bench/broker/benchkit.o \
	$(B)/common/wire.o $(PROTO_OBJ) $(B)/libclient/libdmabuf-broker.so.1

$(B)/bench/queue/bench_queue.o: ALL_CFLAGS += -Itests/integration -Ibench/broker
$(B)/bench/queue/bench_queue.o: $(PROTO_H)

$(BENCH_QUEUE): %: %.o $(BENCH_QUEUE_DEPS)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(filter %.o,$(BENCH_QUEUE_DEPS)) \
		$(LIBCLIENT_LDFLAGS) $(shell $(PKG_CONFIG) --libs libprotobuf-c)

.PHONY: bench-queue
bench-queue: $(BENCH_QUEUE) $(B)/daemon/dmabuf-brokerd
	$(BENCH_QUEUE) $(BENCH_ARGS)

all: $(BENCH_QUEUE)
bench: bench-queue
