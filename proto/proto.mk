# Generated protobuf-c code for the wire protocol.
PROTO_SRC := proto/dmabuf_broker.proto
PROTO_C := $(B)/proto/dmabuf_broker.pb-c.c
PROTO_H := $(B)/proto/dmabuf_broker.pb-c.h
PROTO_OBJ := $(B)/proto/dmabuf_broker.pb-c.o

$(PROTO_C) $(PROTO_H): $(PROTO_SRC)
	@mkdir -p $(B)/proto
	$(PROTOC_C) --proto_path=proto --c_out=$(B)/proto $(notdir $(PROTO_SRC))

# Generated code is not held to our -W flags.
$(PROTO_OBJ): $(PROTO_C)
	$(CC) -std=c11 $(CFLAGS) $(filter -fsanitize% -fno-%,$(ALL_CFLAGS)) \
		-fPIC -I$(B)/proto -c -o $@ $<

proto: $(PROTO_OBJ)
.PHONY: proto
