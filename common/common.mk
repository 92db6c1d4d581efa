# Code the broker and the client library share.
COMMON_SRC := common/wire.c common/chan.c
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)

$(COMMON_OBJ): $(PROTO_H)

# The image-format table and layout check, shared by the broker and
# dmabuf-ctl (not the library: it passes layouts through unchecked).
IMGFMT_OBJ := $(B)/common/imgfmt.o
