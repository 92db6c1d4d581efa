# Manual pages: scdoc sources man/NAME.N.scd, built into $(B)/man/NAME.N
# and installed to $(MANDIR)/manN.  tests/man checks that they build
# cleanly and cover every option, command, config key and library symbol.
SCDOC ?= scdoc
MANDIR ?= $(PREFIX)/share/man
MAN_SRC := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRC:man/%.scd=$(B)/man/%)

# Written through a temporary file so that a failed scdoc leaves no page.
$(B)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	$(SCDOC) <$< >$@.tmp || { rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

man: $(MAN_PAGES)
all: man

# The section is the page's suffix: dmabuf-ctl.1 goes to man1.
man-install: $(MAN_PAGES)
	for p in $(MAN_PAGES); do \
		install -Dm644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/$${p##*/} \
			|| exit 1; \
	done
install: man-install

.PHONY: man man-install
