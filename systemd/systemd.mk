# Installs the systemd units and their companions: sysusers, tmpfiles and
# the udev rule.  The units and the tmpfiles entry name installed paths,
# so they are written from their .in templates at install time, with the
# BINDIR and SYSCONFDIR given to `make install`.  The modules-load.d entry
# comes with the module (kmod-install in kmod/kmod.mk): on a system
# without the module it would only make systemd-modules-load fail.

SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
SYSUSERS_DIR ?= $(PREFIX)/lib/sysusers.d
TMPFILES_DIR ?= $(PREFIX)/lib/tmpfiles.d
UDEV_RULES_DIR ?= $(PREFIX)/lib/udev/rules.d
MODULES_LOAD_DIR ?= $(PREFIX)/lib/modules-load.d

SYSTEMD_SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install-systemd:
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(SYSUSERS_DIR) \
		$(DESTDIR)$(TMPFILES_DIR) $(DESTDIR)$(UDEV_RULES_DIR)
	$(SYSTEMD_SUBST) systemd/dmabuf-brokerd.service.in \
		>$(DESTDIR)$(SYSTEMD_UNIT_DIR)/dmabuf-brokerd.service
	install -m 0644 systemd/dmabuf-brokerd.socket $(DESTDIR)$(SYSTEMD_UNIT_DIR)/
	install -m 0644 systemd/dmabuf-broker.sysusers.conf \
		$(DESTDIR)$(SYSUSERS_DIR)/dmabuf-broker.conf
	$(SYSTEMD_SUBST) systemd/dmabuf-broker.tmpfiles.conf.in \
		>$(DESTDIR)$(TMPFILES_DIR)/dmabuf-broker.conf
	install -m 0644 systemd/60-dmabuf-broker.rules $(DESTDIR)$(UDEV_RULES_DIR)/
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/dmabuf-brokerd.service \
		$(DESTDIR)$(TMPFILES_DIR)/dmabuf-broker.conf

install: install-systemd
.PHONY: install-systemd

# The install test: `make install DESTDIR=<tmp> PREFIX=/usr` of this build
# tree, checked as a package would ship it (tests/systemd/test-install.sh).
# Once per build: a sanitizer tree would relink its programs without the
# sanitizer flags.
ifneq ($(SANITIZE),1)
INSTALL_TEST := $(B)/tests/systemd/test-install
$(INSTALL_TEST): systemd/systemd.mk
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec %s/tests/systemd/test-install.sh %s\n' \
		'$(CURDIR)' '$(abspath $(B))' >$@
	chmod 0755 $@
CHECK_PROGS += $(INSTALL_TEST)
endif
