# dmabuf-ctl end to end: a shell test pointed at this build tree, and the
# queue producer/consumer it looks at (queue_peer.c).  The library's path
# is spelled out: this fragment is read before libclient.mk, and
# prerequisites are expanded when read.
CTL_TEST := $(B)/tests/ctl/test_ctl
CTL_QUEUE_PEER := $(B)/tests/ctl/queue_peer

$(CTL_QUEUE_PEER): $(B)/tests/ctl/queue_peer.o $(B)/libclient/libdmabuf-broker.so.1
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBCLIENT_LDFLAGS)

$(CTL_TEST): tests/ctl/test_ctl.sh $(CTL_QUEUE_PEER)
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nDBB_BUILD=%s exec %s "$$@"\n' \
		"$(abspath $(B))" "$(abspath tests/ctl/test_ctl.sh)" >$@
	chmod +x $@

CHECK_PROGS += $(CTL_TEST)
