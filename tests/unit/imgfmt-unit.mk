# Unit tests of the image-format table and layout check: links only
# imgfmt.o.
TEST_IMGFMT := $(B)/tests/unit/test_imgfmt

$(TEST_IMGFMT): $(B)/tests/unit/test_imgfmt.o $(IMGFMT_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs cmocka)

all: $(TEST_IMGFMT)
CHECK_PROGS += $(TEST_IMGFMT)
