#!/usr/bin/env python3
"""An ICMP error whose checksum is still partial (CHECKSUM_PARTIAL), as a
virtio-net header with NEEDS_CSUM makes it (a guest, or a userspace stack
writing to a TAP with IFF_VNET_HDR), which BPF_PROG_TEST_RUN cannot build.

  tapcsum.py create DEV
      a persistent TAP device DEV that takes a virtio-net header.
  tapcsum.py run DEV CLIENT PUBLIC PORT CLIENT_MAC DEV_MAC
      as the client CLIENT behind DEV: a SYN to PUBLIC:PORT ("syn: synack"
      when the SYN-ACK comes back), then fragmentation-needed (ICMPv6 Packet
      Too Big) quoting the whole SYN-ACK, its ICMP checksum left to the
      device: csum_start at the ICMP header, csum_offset 2, the field the
      pseudo-header's sum (ICMP: 0) ("error: sent").
  tapcsum.py check DEV SRC SECONDS
      on DEV: the first ICMP(v6) error from SRC within SECONDS, its
      checksums recomputed: "icmp ok|bad quoted-tcp ok|bad", or "none".
"""
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawpkt import csum, ipv4, ipv6  # noqa: E402
from tapfrags import IFF_NO_PI, IFF_TAP, TUNSETPERSIST, mac, tap_open, tcp_syn, \
    wait_synack  # noqa: E402
import fcntl  # noqa: E402

IFF_VNET_HDR = 0x4000
FLAGS = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR
VNET_HDR_LEN = 10
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
ETH_P_ALL = 3


def pseudo6(src, dst, length, proto):
    return src + dst + struct.pack("!IxxxB", length, proto)


def partial_error(src, dst, quoted):
    """The error's IP packet, its ICMP checksum field holding what a stack
    leaves there for the device to finish."""
    if len(src) == 4:
        icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1300) + quoted
        return ipv4(src, dst, socket.IPPROTO_ICMP, icmp)
    icmp = struct.pack("!BBHI", 2, 0, 0, 1280) + quoted
    seed = ~csum(pseudo6(src, dst, len(icmp), socket.IPPROTO_ICMPV6)) & 0xFFFF
    return ipv6(src, dst, socket.IPPROTO_ICMPV6, icmp[:2] + struct.pack("!H", seed) + icmp[4:])


def run(dev, client_s, public_s, port, client_mac, dev_mac):
    fam = socket.AF_INET6 if ":" in client_s else socket.AF_INET
    client = socket.inet_pton(fam, client_s)
    public = socket.inet_pton(fam, public_s)
    eth = mac(dev_mac) + mac(client_mac) + (b"\x86\xdd" if fam == socket.AF_INET6 else b"\x08\x00")
    ip_hlen = 40 if fam == socket.AF_INET6 else 20
    fd = tap_open(dev, FLAGS)
    plain = struct.pack("<BBHHHH", 0, 0, 0, 0, 0, 0)

    os.write(fd, plain + eth + tcp_syn(client, public, 40003, port))
    synack = wait_synack(fd, public, client, port, 40003, VNET_HDR_LEN)
    print("syn: " + ("synack" if synack else "timeout"), flush=True)
    if synack:
        vnet = struct.pack("<BBHHHH", VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 14 + ip_hlen, 2)
        os.write(fd, vnet + eth + partial_error(client, public, synack))
        print("error: sent", flush=True)
    os.close(fd)


def verdict(ok):
    return "ok" if ok else "bad"


def check_error(pkt, src):
    """The verdict line for an ICMP(v6) error from src quoting TCP, or None."""
    if pkt[0] >> 4 == 4:
        if pkt[9] != socket.IPPROTO_ICMP or pkt[12:16] != src:
            return None
        icmp = pkt[(pkt[0] & 15) * 4:struct.unpack("!H", pkt[2:4])[0]]
        icmp_ok = csum(icmp) == 0
        inner = icmp[8:]
        if icmp[0] != 3 or inner[9] != socket.IPPROTO_TCP:
            return None
        tcp = inner[(inner[0] & 15) * 4:struct.unpack("!H", inner[2:4])[0]]
        pseudo = inner[12:20] + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    else:
        if pkt[6] != socket.IPPROTO_ICMPV6 or pkt[8:24] != src:
            return None
        icmp = pkt[40:40 + struct.unpack("!H", pkt[4:6])[0]]
        icmp_ok = csum(pseudo6(pkt[8:24], pkt[24:40], len(icmp), socket.IPPROTO_ICMPV6) +
                       icmp) == 0
        inner = icmp[8:]
        if icmp[0] != 2 or inner[6] != socket.IPPROTO_TCP:
            return None
        tcp = inner[40:40 + struct.unpack("!H", inner[4:6])[0]]
        pseudo = pseudo6(inner[8:24], inner[24:40], len(tcp), socket.IPPROTO_TCP)
    return "icmp %s quoted-tcp %s" % (verdict(icmp_ok), verdict(csum(pseudo + tcp) == 0))


def check(dev, src_s, seconds):
    src = socket.inet_pton(socket.AF_INET6 if ":" in src_s else socket.AF_INET, src_s)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    s.bind((dev, ETH_P_ALL))
    print("listening", flush=True)
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not select.select([s], [], [], 0.2)[0]:
            continue
        line = check_error(s.recv(65536), src)
        if line:
            print(line, flush=True)
            return
    print("none", flush=True)


def main():
    if sys.argv[1] == "create":
        fd = tap_open(sys.argv[2], FLAGS)
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
        os.close(fd)
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7])
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
