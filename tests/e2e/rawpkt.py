#!/usr/bin/env python3
"""Crafted IPv4 or IPv6 packets (the family of DST) for the e2e tests, sent
through a raw socket with valid checksums (any source address: the point is
to forge them).

  rawpkt.py synflood NET DST PORT SECONDS
      TCP SYNs from random sources (host numbers 100-254 of the network NET,
      e.g. 203.0.113.0/24 or 2001:db8:1::/64) and random ports to DST:PORT
      for SECONDS; prints "sent seconds".
  rawpkt.py send MARK KIND SRC DST SPORT DPORT
      one packet, the socket's fwmark MARK (picks the route, e.g. into a
      tunnel); KIND: syn, ack (TCP), udp, echo-request, echo-reply (ICMP or
      ICMPv6, SPORT is the identifier).
  rawpkt.py vlan DEV DSTMAC VID KIND SRC DST SPORT DPORT
      the same packet in an Ethernet frame tagged 802.1Q with VLAN VID (0:
      a priority tag only), sent as it is out of DEV (a packet socket).
"""
import ipaddress
import random
import socket
import struct
import sys
import time

SO_MARK = 36


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, l4):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), random.getrandbits(16), 0, 64,
                     proto, 0, src, dst)
    return ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + l4


def ipv6(src, dst, proto, l4):
    return struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, src, dst) + l4


def with_l4_csum(src, dst, proto, l4, off):
    # The pseudo-header: IPv4's length is 16 bits, IPv6's 32 (RFC 8200 8.1).
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(l4), proto)
    return l4[:off] + struct.pack("!H", csum(pseudo + l4)) + l4[off + 2:]


def packet(kind, src, dst, sport, dport):
    """src and dst packed, 4 or 16 bytes: the family."""
    ip = ipv4 if len(src) == 4 else ipv6
    if kind in ("syn", "ack"):
        flags = 0x02 if kind == "syn" else 0x10
        l4 = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32),
                         0 if kind == "syn" else 1, 5 << 4, flags, 64240, 0, 0)
        return ip(src, dst, socket.IPPROTO_TCP,
                  with_l4_csum(src, dst, socket.IPPROTO_TCP, l4, 16))
    if kind == "udp":
        l4 = struct.pack("!HHHH", sport, dport, 8 + 4, 0) + b"spof"
        return ip(src, dst, socket.IPPROTO_UDP,
                  with_l4_csum(src, dst, socket.IPPROTO_UDP, l4, 6))
    if ip is ipv4:
        icmp_type = {"echo-request": 8, "echo-reply": 0}[kind]
        l4 = struct.pack("!BBHHH", icmp_type, 0, 0, sport, 1) + b"spof"
        return ip(src, dst, socket.IPPROTO_ICMP, l4[:2] + struct.pack("!H", csum(l4)) + l4[4:])
    # ICMPv6's checksum covers the pseudo-header, ICMP's does not.
    icmp_type = {"echo-request": 128, "echo-reply": 129}[kind]
    l4 = struct.pack("!BBHHH", icmp_type, 0, 0, sport, 1) + b"spof"
    return ip(src, dst, socket.IPPROTO_ICMPV6,
              with_l4_csum(src, dst, socket.IPPROTO_ICMPV6, l4, 2))


def raw_socket(dst):
    """A raw socket of DST's family; IPPROTO_RAW: we write the IP header
    (IPv6 too: Linux implies IPV6_HDRINCL for it)."""
    family = socket.AF_INET if ipaddress.ip_address(dst).version == 4 else socket.AF_INET6
    return socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_RAW)


def synflood(net, dst, port, secs):
    s = raw_socket(dst)
    s.setblocking(False)
    # Host numbers 100-254: never the lab's own addresses.
    first = ipaddress.ip_network(net).network_address
    sources = [(first + n).packed for n in range(100, 255)]
    daddr = ipaddress.ip_address(dst).packed
    t0 = time.monotonic()
    end, sent = t0 + secs, 0
    while time.monotonic() < end:
        for _ in range(200):
            try:
                s.sendto(packet("syn", random.choice(sources), daddr, random.randint(1024, 65535),
                                port), (dst, 0))
                sent += 1
            except BlockingIOError:
                pass
    print(sent, time.monotonic() - t0)


def send(mark, kind, src, dst, sport, dport):
    s = raw_socket(dst)
    s.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
    s.sendto(packet(kind, ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed,
                    sport, dport), (dst, 0))


def vlan(dev, dstmac, vid, kind, src, dst, sport, dport):
    ethertype = 0x0800 if ipaddress.ip_address(dst).version == 4 else 0x86DD
    frame = (bytes.fromhex(dstmac.replace(":", "")) + bytes.fromhex("020000000040") +
             struct.pack("!HHH", 0x8100, vid, ethertype) +
             packet(kind, ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed,
                    sport, dport))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    s.send(frame)


# tapfrags.py imports the packet builders.
if __name__ == "__main__":
    if sys.argv[1] == "synflood":
        synflood(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif sys.argv[1] == "vlan":
        vlan(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7],
             int(sys.argv[8]), int(sys.argv[9]))
    else:
        send(int(sys.argv[2], 0), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]),
             int(sys.argv[7]))
