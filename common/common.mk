# Code the broker and the client library share.
COMMON_SRC := common/wire.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)

$(COMMON_OBJ): $(PROTO_H)
