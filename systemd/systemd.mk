# Installs the systemd units and their companions.
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system

install-systemd:
	install -Dm644 systemd/dmabuf-brokerd.socket $(DESTDIR)$(SYSTEMD_UNIT_DIR)/dmabuf-brokerd.socket
	install -Dm644 systemd/dmabuf-brokerd.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/dmabuf-brokerd.service
	install -Dm644 systemd/dmabuf-broker.sysusers.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/dmabuf-broker.conf
	install -Dm644 systemd/dmabuf-broker.tmpfiles.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/dmabuf-broker.conf
	install -Dm644 systemd/dmabuf_sg.modules-load.conf $(DESTDIR)$(PREFIX)/lib/modules-load.d/dmabuf_sg.conf

install: install-systemd
.PHONY: install-systemd
