# shellcheck shell=bash
# Kernel packages, module builds and the initramfs for tests/vm/run.sh
# (sourced).  Everything is cached under $VM and reused on later runs.

APT_OPTS=(-q -y -o APT::Sandbox::User=root -o DPkg::Lock::Timeout=600)
HOST_PACKAGES=(qemu-system-x86 busybox-static kmod cpio xz-utils gzip
	util-linux coreutils systemd udev acl)
# What the initramfs needs to reach the host: virtio, 9p and overlayfs.
# Their dependencies and load order come from depmod, per kernel.
INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p overlay)

APT_UPDATED=no

apt_update() {
	[[ $APT_UPDATED == yes ]] && return 0
	APT_UPDATED=yes
	log "apt-get update"
	apt-get "${APT_OPTS[@]}" update >"$VM/apt-update.log" 2>&1 ||
		log "apt-get update failed (see $VM/apt-update.log)"
}

# Refreshes the package lists when they are missing or older than a day,
# so that "the newest kernel" means the archive's, not a stale image's.
apt_update_if_stale() {
	local fresh

	fresh=$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' \
		-mmin -1440 2>/dev/null)
	[[ -n $fresh ]] || apt_update
}

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == \
		"install ok installed" ]]
}

apt_install() {
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive INITRD=No apt-get "${APT_OPTS[@]}" \
		install --no-install-recommends "$@" >>"$VM/apt-install.log" 2>&1
}

ensure_host_packages() {
	local missing=() p

	for p in "${HOST_PACKAGES[@]}"; do
		is_installed "$p" || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	apt_install "${missing[@]}" || { apt_update && apt_install "${missing[@]}"; }
}

# (Pipes into grep -q or head would kill apt-cache with SIGPIPE and, under
# pipefail, fail: read its whole output instead.)
candidate_version() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p'
}

has_candidate() {
	local ver

	ver=$(candidate_version "$1")
	[[ -n $ver && $ver != "(none)" ]]
}

# series_of 6.12.117+deb12-amd64 -> 6.12
series_of() {
	local major=${1%%.*} rest=${1#*.}
	echo "$major.${rest%%[!0-9]*}"
}

# Lists "kver image-package" candidates for a series, best first: the
# kernel linux-image-amd64 points to, then the newest -amd64-unsigned ones.
kernel_candidates() {
	local series=$1 meta pkg

	meta=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p')
	meta=${meta%%$'\n'*}
	if [[ -n $meta && $(series_of "${meta#linux-image-}") == "$series" ]]; then
		echo "${meta#linux-image-} $meta"
	fi
	apt-cache pkgnames "linux-image-$series." 2>/dev/null |
		{ grep -E "^linux-image-${series//./\\.}\.[0-9][^-]*-amd64-unsigned$" || true; } |
		sort -rV | while read -r pkg; do
			pkg=${pkg%-unsigned}
			echo "${pkg#linux-image-} $pkg-unsigned"
		done
}

# resolve_kernel SERIES: sets KVER and IMAGE_PKG to the newest kernel of
# SERIES whose image and headers both are in the archive.
resolve_kernel() {
	local series=$1 kver pkg try

	for try in cached updated; do
		while read -r kver pkg; do
			if has_candidate "$pkg" && has_candidate "linux-headers-$kver"; then
				KVER=$kver IMAGE_PKG=$pkg
				return 0
			fi
		done < <(kernel_candidates "$series")
		[[ $try == cached ]] && apt_update
	done
	return 1
}

# fetch_image: downloads $IMAGE_PKG into the cache (once); sets IMAGE_DEB.
fetch_image() {
	local ver

	ver=$(candidate_version "$IMAGE_PKG")
	IMAGE_DEB=$VM/cache/${IMAGE_PKG}_${ver//:/%3a}_amd64.deb
	[[ -s $IMAGE_DEB ]] && return 0
	mkdir -p "$VM/cache"
	log "downloading $IMAGE_PKG $ver"
	(cd "$VM/cache" && apt-get "${APT_OPTS[@]}" download "$IMAGE_PKG=$ver") \
		>"$VM/$KVER/download.log" 2>&1 ||
		{ apt_update && (cd "$VM/cache" &&
			apt-get "${APT_OPTS[@]}" download "$IMAGE_PKG=$ver") \
			>>"$VM/$KVER/download.log" 2>&1; }
	[[ -s $IMAGE_DEB ]]
}

# extract_image: unpacks the image package into $VM/$KVER/root and runs
# depmod on it, unless that was already done for this very package.
extract_image() {
	local root=$VM/$KVER/root stamp=$VM/$KVER/root.stamp

	[[ -f $stamp && $(<"$stamp") == "${IMAGE_DEB##*/}" ]] && return 0
	log "extracting ${IMAGE_DEB##*/}"
	rm -rf "$root" "$stamp"
	dpkg-deb -x "$IMAGE_DEB" "$root" &&
		depmod -b "$root" "$KVER" &&
		echo "${IMAGE_DEB##*/}" >"$stamp"
}

# install_headers: the module builds against the distribution's headers
# package.  Its 6.12 packages depend on the kernel image: the image we
# already downloaded satisfies that, so nothing is fetched twice; INITRD=No
# spares the host an initramfs it will never boot.
install_headers() {
	local hdr=linux-headers-$KVER extra=() deps

	is_installed "$hdr" && return 0
	deps=$(apt-cache depends "$hdr" 2>/dev/null)
	if grep -q "Depends: $IMAGE_PKG\$" <<<"$deps"; then
		extra=("$IMAGE_DEB")
	fi
	apt_install "$hdr" "${extra[@]}" ||
		{ apt_update && apt_install "$hdr" "${extra[@]}"; }
}

# initramfs_module_files: the .ko files of INITRAMFS_MODULES and their
# dependencies, in load order, without duplicates or built-ins.
initramfs_module_files() {
	local m

	for m in "${INITRAMFS_MODULES[@]}"; do
		modprobe -d "$VM/$KVER/root" -S "$KVER" --show-depends "$m"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# copy_module SRC DEST: busybox insmod takes plain .ko files only.
copy_module() {
	case $1 in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

initramfs_is_fresh() {
	local f

	[[ -s $INITRD ]] || return 1
	for f in "$VM/$KVER/root.stamp" "$HERE/initramfs-init" "$HERE/kernel.sh"; do
		[[ $INITRD -nt $f ]] || return 1
	done
}

build_initramfs() {
	local stage=$VM/$KVER/initramfs n=0 src name applet

	INITRD=$VM/$KVER/initrd.cpio.gz
	initramfs_is_fresh && return 0
	log "building $INITRD"
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,modules}
	cp /bin/busybox "$stage/bin/busybox"
	for applet in $(busybox --list); do
		[[ $applet == busybox ]] || ln -sf busybox "$stage/bin/$applet"
	done
	mknod -m 600 "$stage/dev/console" c 5 1
	install -m 755 "$HERE/initramfs-init" "$stage/init"
	while read -r src; do
		n=$((n + 1))
		name=${src##*/}
		copy_module "$src" "$stage/modules/$(printf %02d "$n")-${name%%.ko*}.ko"
	done < <(initramfs_module_files)
	(cd "$stage" && find . | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
}

# submake ARGS...: make with -j2 (this machine is shared) and without the
# jobserver or command-line variables of a make that may have started us.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j2 "$@"
}

# build_module: builds dmabuf_sg.ko for $KVER into $KMOD_DIR with the
# kmod/Makefile contract (KDIR, OUT).  Sets MODULE_RESULT: ok, failed or
# "skip <reason>".
build_module() {
	local logf=$VM/$KVER/kmod-build.log

	KMOD_DIR=$BUILD/kmod/$KVER
	if [[ ! -f $PROJECT/kmod/Makefile ]]; then
		MODULE_RESULT="skip kmod/Makefile not found"
		return 0
	fi
	mkdir -p "$KMOD_DIR"
	log "building dmabuf_sg.ko for $KVER"
	if submake -C "$PROJECT/kmod" KDIR="/usr/src/linux-headers-$KVER" \
		OUT="$KMOD_DIR" >"$logf" 2>&1 && [[ -f $KMOD_DIR/dmabuf_sg.ko ]]; then
		MODULE_RESULT=ok
	else
		MODULE_RESULT=failed
	fi
}

# build_guest_tests: `make kmod-tests` at top level, once per run.  Sets
# GUEST_TESTS_RESULT like build_module.
build_guest_tests() {
	local logf=$VM/kmod-tests-build.log make_args

	project_make_args
	if ! submake "${make_args[@]}" -n kmod-tests >"$logf" 2>&1; then
		if grep -q "No rule to make target 'kmod-tests'" "$logf"; then
			GUEST_TESTS_RESULT="skip no kmod-tests target in the Makefile"
		else
			GUEST_TESTS_RESULT=failed
		fi
		return 0
	fi
	log "building the in-guest tests (make kmod-tests)"
	if submake "${make_args[@]}" kmod-tests >"$logf" 2>&1; then
		GUEST_TESTS_RESULT=ok
	else
		GUEST_TESTS_RESULT=failed
	fi
}

# project_make_args: sets make_args (the caller's local) for a make of the
# project into $BUILD.
project_make_args() {
	make_args=(-C "$PROJECT" --no-print-directory)
	[[ $BUILD == "$PROJECT/build" ]] || make_args+=(B="$BUILD")
}

# build_broker: the daemon, the library, the integration tests and
# GUEST_PROGS for tests/vm/guest-broker.sh, once per run.  Sets
# BROKER_RESULT like build_module, and BROKER_PROGS and GUEST_PROGS to
# their paths under $BUILD.
build_broker() {
	local logf=$VM/broker-build.log make_args p

	project_make_args
	BROKER_PROGS="" GUEST_PROGS=""
	log "building the broker and its tests (make all check-progs guest-progs)"
	if ! submake "${make_args[@]}" all check-progs guest-progs >"$logf" 2>&1; then
		BROKER_RESULT=failed
		return 0
	fi
	BROKER_RESULT=ok
	for p in $(submake -s "${make_args[@]}" print-check-progs); do
		[[ $p == */integration/* ]] && BROKER_PROGS+=" $(build_relative "$p")"
	done
	for p in $(submake -s "${make_args[@]}" print-guest-progs); do
		GUEST_PROGS+=" $(build_relative "$p")"
	done
	BROKER_PROGS=${BROKER_PROGS# } GUEST_PROGS=${GUEST_PROGS# }
}

# stage_install: `make install DESTDIR=$INSTALL_ROOT PREFIX=/usr` of the
# build, which the systemd guests apply to their root as a package would.
# Sets INSTALL_RESULT like build_module.
stage_install() {
	local make_args

	project_make_args
	rm -rf "$INSTALL_ROOT"
	if [[ $BROKER_RESULT != ok ]]; then
		INSTALL_RESULT="skip the broker did not build"
	elif submake "${make_args[@]}" DESTDIR="$INSTALL_ROOT" PREFIX=/usr install \
		>"$VM/install.log" 2>&1; then
		INSTALL_RESULT=ok
	else
		INSTALL_RESULT=failed
	fi
}

# build_relative PATH: a path make printed (under build/ or $BUILD),
# relative to the build folder.
build_relative() {
	local p=${1#"$BUILD"/}

	echo "${p#build/}"
}
