#!/bin/bash
# What the install tree and its post-install steps gave the system: the
# broker's user and folders (sysusers, tmpfiles), its group's access to
# every allocator node this kernel has (the udev rule), the dma-heap link,
# and no modules-load.d entry without the module.

source "$PROJECT/tests/systemd/lib.sh"

# node_group_rw NODE: NODE is a device whose group is the broker's, rw.
node_group_rw() {
	local seen

	seen=$(stat -Lc '%F %G %a' "$1")
	[[ $seen == "character special file $BROKER_USER 660" ]] && return 0
	echo "# $1: $seen"
	return 1
}

# node_acl_rw NODE GROUP: NODE keeps GROUP, and the broker's group has an
# rw ACL entry on it.
node_acl_rw() {
	local acl group

	acl=$(getfacl -cp "$1" 2>&1)
	group=$(stat -Lc %G "$1")
	[[ $group == "$2" && $'\n'$acl$'\n' == *$'\n'"group:$BROKER_USER:rw-"$'\n'* ]] && return 0
	echo "# $1: group $group; ACL: ${acl//$'\n'/ }"
	return 1
}

system_user() {
	local uid shell

	IFS=: read -r _ _ uid _ _ _ shell < <(getent passwd "$BROKER_USER") || return 1
	echo "# $BROKER_USER: uid $uid, shell $shell"
	[[ $uid -gt 0 && $uid -lt 1000 && $shell == */nologin ]] &&
		getent group "$BROKER_USER" >/dev/null
}

folders() {
	[[ $(stat -c '%F %U %a' /etc/dmabuf-broker) == "directory root 755" &&
		$(stat -c '%F %U %a' /run/dmabuf-broker) == "directory root 755" ]]
}

heap_link() {
	[[ -L /dev/dma_heap/dmabuf_sg && $(readlink -f /dev/dma_heap/dmabuf_sg) == /dev/dmabuf_sg ]]
}

# each NAME CHECK GLOB [ARGS]: CHECK on every node GLOB matches, one result;
# SKIP when the kernel has none.
each() {
	local name=$1 check=$2 glob=$3 node failed=0 found=0

	shift 3
	for node in $glob; do
		[[ -c $node && ! -L $node ]] || continue
		found=1
		"$check" "$node" "$@" || failed=1
	done
	if [[ $found -eq 0 ]]; then
		tap_skip "$name" "no $glob in this kernel"
	elif [[ $failed -eq 0 ]]; then
		tap_ok "$name"
	else
		tap_not_ok "$name"
	fi
}

no_modules_load() {
	[[ ! -e $PREFIX/lib/modules-load.d/dmabuf_sg.conf &&
		! -e /etc/modules-load.d/dmabuf_sg.conf &&
		-z $(find "/lib/modules/$KVER" -name 'dmabuf_sg.ko*' -print -quit) ]]
}

tap_check "sysusers: $BROKER_USER is a system user and group without a shell" system_user
tap_check "tmpfiles: /etc/dmabuf-broker and /run/dmabuf-broker" folders
each "udev: /dev/dmabuf_sg is group $BROKER_USER, 0660" node_group_rw /dev/dmabuf_sg
tap_check "udev: /dev/dma_heap/dmabuf_sg links to /dev/dmabuf_sg" heap_link
each "udev: every dma-heap is group $BROKER_USER, 0660" node_group_rw "/dev/dma_heap/*"
each "udev: /dev/udmabuf keeps group kvm, $BROKER_USER has rw" node_acl_rw /dev/udmabuf kvm
each "udev: DRM primary nodes keep group video, $BROKER_USER has rw" node_acl_rw "/dev/dri/card*" video
each "udev: DRM render nodes keep group render, $BROKER_USER has rw" node_acl_rw "/dev/dri/renderD*" render
tap_check "no modules-load.d entry nor module from make install" no_modules_load
tap_check "systemd-modules-load did not fail" \
	test "$(unit_prop systemd-modules-load.service Result)" = success
