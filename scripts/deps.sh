#!/usr/bin/env bash
# Installs the Debian packages relaybpf needs to build, test and run the demo.
# Idempotent: prints nothing and touches nothing when everything is present.
set -euo pipefail

packages=(
  # build
  make gcc clang llvm pkg-config libbpf-dev libelf-dev zlib1g-dev bpftool
  # runtime and lab
  iproute2 iputils-ping nftables ethtool wireguard-go wireguard-tools socat iperf3 util-linux procps kmod
  # BGP in test_scale_out_bgp.sh and test_scale_out_frr.sh (the lab runs its own bird, zebra
  # and bgpd per namespace, never the services)
  bird2 frr
  # tests
  libcriterion-dev python3 python3-prometheus-client curl jq strace tmux systemd valgrind man-db
  # the Debian package (make deb) and its test: installed with apt-get, the
  # completion loaded by bash-completion
  build-essential dpkg-dev debhelper lintian bash-completion
  # fuzzing (libFuzzer runtime), lint
  libclang-rt-14-dev cppcheck clang-tidy
  # kernel matrix (make vmtest): QEMU with its virtiofsd, a static busybox for the initramfs
  qemu-system-x86 busybox-static
  # benchmark (make bench): the recipe's iptables (nft backend), the chart
  iptables gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
