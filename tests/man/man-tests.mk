# The manual pages against what the programs accept: a shell test pointed
# at this build tree, so it needs the pages, both programs and the library.
MAN_TEST := $(B)/tests/man/check-man

$(MAN_TEST): tests/man/check-man.sh $(MAN_PAGES) $(DAEMON_BIN) $(CTL_BIN) \
		$(LIBCLIENT_SO)
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nDBB_BUILD=%s exec %s "$$@"\n' \
		"$(abspath $(B))" "$(abspath tests/man/check-man.sh)" >$@
	chmod +x $@

CHECK_PROGS += $(MAN_TEST)
