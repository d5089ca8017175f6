#!/usr/bin/env bash
# Runs relaybpf's tests on another kernel: boots Debian's cloud kernel image in
# QEMU (TCG, no KVM needed) with the host's root filesystem shared read-only,
# so the guest runs the repository's own binaries and scripts unchanged.
#
# Usage:
#   scripts/vmtest.sh [--kernel 6.1|6.12|host] [--repo DIR] [--smp N] [--mem SIZE]
#                     [--timeout SECONDS] [--no-build] [--only unit|e2e]
#                     [--unit-filter GLOB] [--e2e "SCRIPT..."] [-- COMMAND...]
#
#   --kernel   6.1: newest linux-image-6.1.0-*-cloud-amd64 apt-cache knows;
#              6.12: newest linux-image-6.12.*+deb12-cloud-amd64;
#              host: /boot/vmlinuz-$(uname -r) and /lib/modules/$(uname -r).
#              Default 6.1.
#   --package  boot this kernel image package instead, e.g.
#              linux-image-6.1.0-47-cloud-amd64 (6.1.170): the kernels of
#              one series differ in their backports. Logs in build/vmtest/PKG.
#   --repo     the relaybpf tree to test (default: this script's tree). It is
#              built on the host first (make -j2 all build/unit_tests) unless
#              --no-build.
#   --smp      guest CPUs (default 2, TCG runs one host thread per CPU).
#   --mem      guest memory (default 2G).
#   --timeout  seconds for the whole run; QEMU is killed after (default 3600).
#   --only     of the default run, only the unit tests or only the e2e subset.
#   --unit-filter  of the default run, only the unit tests matching GLOB
#              (criterion's --filter: one extended glob, '@(front6/*|back_in/*)').
#   --e2e      of the default run, these e2e scripts (names in tests/e2e/,
#              each run for IPv4 and IPv6) instead of the four below.
#   COMMAND    run by bash in the guest from the repo root, as root, e.g.
#              `-- build/unit_tests --filter 'front_xdp/*'`. Default: the
#              vmtest run: the unit tests, then the e2e subset over a veth
#              tunnel (TCP, UDP, ICMP, both families, detach), each summary
#              printed.
#
# The console is streamed to stdout and saved with the guest's logs in
# DIR/build/vmtest/<kernel>/ (console.log, unit.log, e2e.log). The exit status
# is the command's in the guest (124 on timeout, 1 when the guest died).
#
# How: the kernel package is fetched with `apt-get download` (cached in this
# tree's build/vmtest/deb) and unpacked with dpkg-deb. Debian's cloud kernels
# have no 9p but do have virtiofs, so QEMU's virtiofsd serves / (mounted
# read-only in the guest) and the log directory (read-write). A tiny initramfs
# (static busybox, the few modules virtiofs needs) mounts them, puts tmpfs and
# overlays on what the tests write (/tmp, /run, /var, /etc, /root), and runs
# the command chrooted into the host's root. The kernel loads further modules
# (veth, sch_ingress, ...) through a modprobe that runs the host's kmod on the
# unpacked package's module tree. Nothing in the guest reaches the outside:
# QEMU gets -nic none.
set -euo pipefail

self=$(readlink -f "$0")
here=$(cd "$(dirname "$self")/.." && pwd)

# ---- In the guest: the default vmtest run (called by the guest's command).
if [ "${1:-}" = --in-guest ]; then
	out=$2 only=$3 filter=$4 scripts=$5
	rc=0
	echo "vmtest: kernel $(uname -r) ($(uname -v))"
	# The TCP hash secrets (inet_ehashfn, inet6_ehashfn) are set on first
	# use, and then a deferred work patches their static keys off in
	# live kernel text. 6.12.118 under TCG died of it (CI, 2026-12-05:
	# "Oops: int3" in inet6_ehashfn, relay_front_in's bpf_skc_lookup_tcp
	# on one CPU while the other patched): done here, before any test,
	# with nothing else running.
	# shellcheck disable=SC2016 # $a expands in the inner bash
	unshare --net bash -c 'ip link set lo up
		for a in 127.0.0.1 ::1; do (exec 3<>"/dev/tcp/$a/9") 2>/dev/null; done; true'
	sleep 1
	if [ "$only" != e2e ]; then
		echo "vmtest: unit tests (build/unit_tests${filter:+ --filter '$filter'})"
		start=$(date +%s)
		# --verbose: unit.log keeps each test's time (TCG makes every
		# program load cost seconds); the console shows failures only.
		build/unit_tests --verbose ${filter:+--filter "$filter"} 2>&1 | tee "$out/unit.log" |
			grep --line-buffered -vE '^\[(RUN |PASS|SKIP)\]' || rc=1
		echo "vmtest: unit failures:"
		grep -E '^\[FAIL\]|^\[----\] [^ ]+:[0-9]+: ' "$out/unit.log" || echo "  none"
		# No summary: criterion refused the filter, or died.
		grep -q 'Synthesis: Tested: [1-9]' "$out/unit.log" || { echo "vmtest: no unit test ran"; rc=1; }
		echo "vmtest: unit: $(grep -E 'Synthesis' "$out/unit.log" | tail -1) in $(($(date +%s) - start)) s"
	fi
	[ "$only" != unit ] || exit $rc
	# The e2e subset (--e2e), over a veth tunnel, both families.
	echo "vmtest: e2e subset"
	start=$(date +%s)
	passed=0 failed=0
	: > "$out/e2e.log"
	for fam in 4 6; do
		for t in $scripts; do
			t0=$(date +%s)
			echo "== $t (IPv$fam)" | tee -a "$out/e2e.log"
			# Streamed: a slow step shows where it is.
			(cd tests/e2e && LAB_TUNNEL=veth LAB_FAMILY=$fam bash "$t" 2>&1) |
				tee "$out/e2e.cur" | sed 's/^/  /' && trc=0 || trc=$?
			cat "$out/e2e.cur" >> "$out/e2e.log"
			read -r p f < <(awk '/^RESULT /{print $2, $3}' "$out/e2e.cur")
			echo "  $t IPv$fam: ${p:-0} passed, ${f:-0} failed, exit $trc ($(($(date +%s) - t0)) s)" |
				tee -a "$out/e2e.log"
			passed=$((passed + ${p:-0}))
			failed=$((failed + ${f:-0}))
			if [ "$trc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
				echo "  FAIL $t (IPv$fam) exited $trc"
				failed=$((failed + 1))
			fi
		done
	done
	echo "vmtest: e2e: $passed passed, $failed failed in $(($(date +%s) - start)) s"
	[ "$failed" -eq 0 ] || rc=1
	exit $rc
fi

# ---- On the host.
kernel=6.1 repo=$here smp=2 mem=2G timeout=3600 build=1 only=all filter= package=
# The e2e subset, over a veth tunnel, both families: TCP relayed both
# ways with a 1 MB upload (test_veth_tcp.sh); UDP (checksum 0 too), ICMP
# echo and errors (test_front_udp_icmp.sh); the client sending complete
# checksums (tx offload off) through the TC and native XDP paths, so the
# backend's stack verifies every rewritten checksum
# (test_front_xdp_native.sh); the back's TCP, UDP, ICMP and RST replies,
# then detach leaving nothing behind (test_back_replies_veth.sh).
scripts="test_veth_tcp.sh test_front_udp_icmp.sh test_front_xdp_native.sh test_back_replies_veth.sh"
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--repo) repo=$(cd "$2" && pwd); shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--only) only=$2; shift 2 ;;
	--package) package=$2; kernel=$2; shift 2 ;;
	--unit-filter) filter=$2; shift 2 ;;
	--e2e) scripts=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,/^set -e/p' "$self" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "vmtest: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
done

die() { echo "vmtest: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root (virtiofsd shares / as root)"
for t in qemu-system-x86_64 dpkg-deb apt-get depmod modprobe; do
	command -v "$t" >/dev/null || die "$t missing: run scripts/deps.sh"
done
virtiofsd=/usr/lib/qemu/virtiofsd
[ -x "$virtiofsd" ] || die "$virtiofsd missing: run scripts/deps.sh (qemu-system-x86)"
busybox=$(command -v busybox) || die "busybox missing: run scripts/deps.sh (busybox-static)"
# The initramfs has no libraries: ldd fails on a static binary only.
! ldd "$busybox" >/dev/null 2>&1 || die "$busybox is not static (busybox-static)"

cache=$here/build/vmtest
mkdir -p "$cache/deb"

# Prints the newest package of a kernel series apt-cache knows, e.g.
# linux-image-6.1.0-57-cloud-amd64: the exact package is looked up on each
# run, never pinned in this file, since Debian removes superseded ABIs.
newest_image() {
	apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -1
}

case "$kernel" in
"$package") pkg=$package ;;
6.1) pkg=$(newest_image '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$') ;;
6.12) pkg=$(newest_image '^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$') ;;
host) pkg= ;;
*) die "unknown kernel '$kernel' (6.1, 6.12 or host)" ;;
esac

if [ -n "$pkg" ]; then
	# Runs from other trees share this cache: one fetches and unpacks at a time.
	exec 9>"$cache/.lock"
	flock 9
	ver=$(apt-cache show --no-all-versions "$pkg" | awk '/^Version:/{print $2; exit}')
	deb=$(ls "$cache/deb/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$deb" ]; then
		echo "vmtest: downloading $pkg $ver"
		# apt-get download writes to the current directory; as root it warns
		# that _apt cannot write there, which is harmless.
		(cd "$cache/deb" && { apt-get download "$pkg=$ver" 2>/dev/null ||
			{ apt-get update -qq && apt-get download "$pkg=$ver"; }; })
		deb=$(ls "$cache/deb/${pkg}_${ver//:/%3a}_"*.deb | head -1)
	fi
	kroot=$cache/$(basename "$deb" .deb)
	if [ ! -f "$kroot/.unpacked" ]; then
		rm -rf "$kroot"
		dpkg-deb -x "$deb" "$kroot"
		kver=$(ls "$kroot/lib/modules")
		depmod -b "$kroot" "$kver"
		touch "$kroot/.unpacked"
	fi
	flock -u 9
	exec 9>&-
	kver=$(ls "$kroot/lib/modules")
	vmlinuz=$kroot/boot/vmlinuz-$kver
	modroot=$kroot
else
	kver=$(uname -r)
	vmlinuz=/boot/vmlinuz-$kver
	[ -f "$vmlinuz" ] || die "kernel=host: $vmlinuz not present on this machine (no host kernel image to boot)"
	[ -d "/lib/modules/$kver" ] || die "kernel=host: /lib/modules/$kver not present"
	modroot=/
fi

out=$repo/build/vmtest/$kernel
rm -rf "$out"
mkdir -p "$out"
if [ $build -eq 1 ]; then
	echo "vmtest: building $repo"
	make -C "$repo" -j2 all build/unit_tests >"$out/build.log" 2>&1 || { cat "$out/build.log"; die "build failed"; }
fi

# The guest's command: the default run, or the one given.
if [ $# -eq 0 ]; then
	cmd="bash $(printf %q "$self") --in-guest $(printf '%q ' "$out" "$only" "$filter" "$scripts")"
else
	cmd=$(printf '%q ' "$@")
fi
cat > "$out/cmd.sh" <<EOF
cd $(printf %q "$repo") || exit 1
$cmd
EOF

# ---- The initramfs: busybox, the modules virtiofs needs, /init.
work=$(mktemp -d "/tmp/vmtest.$$.XXXXXX")
qemu_pid= fsd_pids=()
# virtiofsd exits by itself when QEMU does: a failed kill is no error.
cleanup() {
	if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; fi
	for p in "${fsd_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ird=$work/initramfs
mkdir -p "$ird"/{bin,sbin,proc,sys,dev,newroot,lib/mod}
cp "$busybox" "$ird/bin/busybox"
# modprobe --show-depends prints the insmod order, dependencies first, of one
# module ("builtin ..." for what the kernel has built in: 6.12 has virtio_pci and
# virtiofs built in, 6.1 has them as modules).
for m in virtio_pci virtiofs; do
	modprobe -d "$modroot" -S "$kver" --show-depends "$m"
done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' > "$work/mods"
: > "$ird/lib/mod/order"
while read -r m; do
	b=$(basename "$m")
	case "$b" in
	*.ko.xz) xz -dc "$m" > "$ird/lib/mod/${b%.xz}"; b=${b%.xz} ;;
	*.ko.zst) zstd -qdc "$m" > "$ird/lib/mod/${b%.zst}"; b=${b%.zst} ;;
	*.ko.gz) gzip -dc "$m" > "$ird/lib/mod/${b%.gz}"; b=${b%.gz} ;;
	*) cp "$m" "$ird/lib/mod/$b" ;;
	esac
	echo "$b" >> "$ird/lib/mod/order"
done < "$work/mods"

# The kernel's module requests (veth, sch_ingress, cls_bpf, ...) run this
# from the initramfs' root: the host's kmod, on the package's module tree.
cat > "$ird/sbin/vmtest-modprobe" <<EOF
#!/bin/busybox sh
exec /bin/busybox chroot /newroot /sbin/modprobe -d $(printf %q "$modroot") -S $kver "\$@"
EOF
chmod +x "$ird/sbin/vmtest-modprobe"

cat > "$ird/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in \$(cat /lib/mod/order); do insmod /lib/mod/\$m || echo "vmtest-init: insmod \$m failed"; done
mount -t virtiofs -o ro hostroot /newroot || { echo "vmtest-init: cannot mount the host root"; poweroff -f; }
echo /sbin/vmtest-modprobe > /proc/sys/kernel/modprobe
r=/newroot
mount -t proc proc \$r/proc
mount -t sysfs sys \$r/sys
mount -t devtmpfs dev \$r/dev
mkdir -p \$r/dev/pts \$r/dev/shm
# What udev would add: bash's process substitution needs /dev/fd.
ln -s /proc/self/fd \$r/dev/fd
ln -s /proc/self/fd/0 \$r/dev/stdin
ln -s /proc/self/fd/1 \$r/dev/stdout
ln -s /proc/self/fd/2 \$r/dev/stderr
mount -t devpts devpts \$r/dev/pts
mount -t tmpfs shm \$r/dev/shm
mount -t bpf bpf \$r/sys/fs/bpf
mount -t cgroup2 cgroup2 \$r/sys/fs/cgroup 2>/dev/null
mount -t debugfs debugfs \$r/sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs \$r/sys/kernel/tracing 2>/dev/null
# The tree under test and the kernel's modules may live under the host's
# /tmp (a CI clone): kept visible through the guest's own /tmp.
mkdir -p /hosttmp
mount -o bind \$r/tmp /hosttmp
mount -t tmpfs tmp \$r/tmp
for p in $(printf %q "$repo") $(printf %q "$modroot"); do
	case \$p in /tmp/*) mkdir -p \$r\$p && mount -o bind /hosttmp\${p#/tmp} \$r\$p ;; esac
done
mount -t tmpfs run \$r/run
# Writable copies of what tools write beside /tmp and /run: an overlay with
# the host's directory as its read-only lower layer.
mkdir -p /ovl
mount -t tmpfs ovl /ovl
for d in var etc root; do
	mkdir -p /ovl/\$d/u /ovl/\$d/w
	mount -t overlay -o lowerdir=\$r/\$d,upperdir=/ovl/\$d/u,workdir=/ovl/\$d/w ovl-\$d \$r/\$d ||
		mount -t tmpfs \$d \$r/\$d
done
mount -t virtiofs out \$r$(printf %q "$out") || echo "vmtest-init: cannot mount the log directory"
echo "vmtest-init: up in \$(cut -d' ' -f1 /proc/uptime) s"
chroot \$r /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 /bin/bash $(printf %q "$out/cmd.sh") </dev/console
echo "VMTEST-RESULT rc=\$?"
sync
poweroff -f
EOF
chmod +x "$ird/init"
(cd "$ird" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initramfs.gz"

# ---- virtiofsd for / (the guest mounts it read-only) and for the logs.
start_fsd() { # tag dir
	"$virtiofsd" --socket-path="$work/$1.sock" -o source="$2" -o cache=auto \
		-o sandbox=chroot -o log_level=err >"$work/$1.fsd.log" 2>&1 &
	fsd_pids+=($!)
}
start_fsd hostroot /
start_fsd out "$out"
for _ in $(seq 50); do
	[ -S "$work/hostroot.sock" ] && [ -S "$work/out.sock" ] && break
	sleep 0.1
done

echo "vmtest: booting $kver ($vmlinuz) with $smp CPU(s), $mem, timeout ${timeout}s"
t0=$(date +%s)
# vhost-user (virtiofs) needs the guest memory shared with virtiofsd.
# no_timer_check: on a loaded host TCG can miss the boot's timer interrupt
# test and 6.12 then panicked ("IO-APIC + timer doesn't work").
qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp "$smp" -m "$mem" \
	-object memory-backend-memfd,id=mem,size="$mem",share=on -numa node,memdev=mem \
	-kernel "$vmlinuz" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init no_timer_check" \
	-chardev socket,id=c0,path="$work/hostroot.sock" \
	-device vhost-user-fs-pci,queue-size=1024,chardev=c0,tag=hostroot \
	-chardev socket,id=c1,path="$work/out.sock" \
	-device vhost-user-fs-pci,queue-size=1024,chardev=c1,tag=out \
	-nic none -display none -monitor none -serial stdio -no-reboot \
	</dev/null > >(tee "$out/console.log") 2>&1 &
qemu_pid=$!
rc=
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ $(($(date +%s) - t0)) -ge "$timeout" ]; then
		echo "vmtest: timeout after ${timeout}s, killing QEMU (pid $qemu_pid)"
		kill "$qemu_pid"
		rc=124
		break
	fi
	sleep 1
done
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
sleep 0.2 # tee's last lines
if [ -z "$rc" ]; then
	rc=$(sed -n 's/^VMTEST-RESULT rc=\([0-9]*\).*/\1/p' "$out/console.log" | tail -1)
	[ -n "$rc" ] || { echo "vmtest: the guest died without a result"; rc=1; }
fi
echo "vmtest: kernel $kver: exit $rc after $(($(date +%s) - t0)) s (logs in $out)"
exit "$rc"
