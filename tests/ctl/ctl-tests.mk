# dmabuf-ctl end to end: a shell test pointed at this build tree.
CTL_TEST := $(B)/tests/ctl/test_ctl

$(CTL_TEST): tests/ctl/test_ctl.sh
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nDBB_BUILD=%s exec %s "$$@"\n' \
		"$(abspath $(B))" "$(abspath tests/ctl/test_ctl.sh)" >$@
	chmod +x $@

CHECK_PROGS += $(CTL_TEST)
