#!/usr/bin/env python3
"""Frames whose headers a NIC left partly in pages, as the front's public
device receives them: a TAP device in NAPI frags mode takes each frame as
an iovec, the first element in the skb's linear area and the others in page
fragments (tun_napi_alloc_frags), which GRO (off on the device) then leaves
as they are. The linear area is what the caller asks for, as a driver that
splits headers from payload (ixgbe legacy-rx, igb, gve) gives it.

  tapfrags.py create DEV
      a persistent TAP device DEV in NAPI frags mode (the namespace's).
  tapfrags.py run DEV CLIENT PUBLIC PORT CLIENT_MAC DEV_MAC
      as the client CLIENT behind DEV: prints one line per check:
      - a TCP SYN to PUBLIC:PORT whose linear area is the Ethernet header
        alone: "syn: synack" when the SYN-ACK comes back from PUBLIC:PORT;
      - fragmentation-needed (ICMPv6 Packet Too Big) about that SYN-ACK
        whose quote is in the pages (linear: Ethernet, IP and ICMP
        headers): "error: sent";
      - IPv6: a SYN behind four 80-byte Destination Options headers, 200
        bytes of them linear: "chain: synack" as above.
"""
import fcntl
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawpkt import csum, ipv4, ipv6, with_l4_csum  # noqa: E402

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
IFF_TAP = 0x0002
IFF_NAPI = 0x0010
IFF_NAPI_FRAGS = 0x0020
IFF_NO_PI = 0x1000
FLAGS = IFF_TAP | IFF_NO_PI | IFF_NAPI | IFF_NAPI_FRAGS


def tap_open(dev, flags=FLAGS):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), flags))
    return fd


def mac(text):
    return bytes(int(b, 16) for b in text.split(":"))


def tcp_syn(src, dst, sport, dport, ext=b"", ext_proto=None):
    l4 = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    l4 = with_l4_csum(src, dst, socket.IPPROTO_TCP, l4, 16)
    if len(src) == 4:
        return ipv4(src, dst, socket.IPPROTO_TCP, l4)
    return ipv6(src, dst, ext_proto or socket.IPPROTO_TCP, ext + l4)


def dstopts_chain(count, size):
    """count Destination Options headers of size bytes, then TCP. The option
    is RFC 3692's experimental 0x1e, whose type says "skip if unknown": the
    kernel refuses padding longer than 7 bytes."""
    out = b""
    for i in range(count):
        nxt = 60 if i < count - 1 else socket.IPPROTO_TCP
        pad = size - 2
        out += struct.pack("!BB", nxt, size // 8 - 1) + struct.pack("!BB", 0x1E, pad - 2) + \
            bytes(pad - 2)
    return out


def frag_needed(src, dst, quoted):
    """From the client to the front: the client's link is narrower than
    the SYN-ACK it quotes."""
    if len(src) == 4:
        icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1300) + quoted[:28]
        return ipv4(src, dst, socket.IPPROTO_ICMP,
                    icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:])
    icmp = struct.pack("!BBHI", 2, 0, 0, 1280) + quoted[:1232]
    return ipv6(src, dst, socket.IPPROTO_ICMPV6,
                with_l4_csum(src, dst, socket.IPPROTO_ICMPV6, icmp, 2))


def send(fd, eth, pkt, linear):
    """The frame, its first linear bytes in the skb's head, the rest in a
    page fragment."""
    frame = eth + pkt
    os.writev(fd, [frame[:linear], frame[linear:]])


def wait_synack(fd, public, client, port, sport, skip=0):
    """The SYN-ACK's IP packet, or None after 3 s. skip: bytes before each
    frame (a virtio-net header)."""
    v6 = len(public) == 16
    deadline = time.time() + 3
    while time.time() < deadline:
        if not select.select([fd], [], [], 0.2)[0]:
            continue
        frame = os.read(fd, 65536)[skip:]
        pkt = frame[14:]
        if frame[12:14] != (b"\x86\xdd" if v6 else b"\x08\x00"):
            continue
        if v6:
            if pkt[6] != socket.IPPROTO_TCP or pkt[8:24] != public or pkt[24:40] != client:
                continue
            tcp = pkt[40:]
        else:
            if pkt[9] != socket.IPPROTO_TCP or pkt[12:16] != public or pkt[16:20] != client:
                continue
            tcp = pkt[(pkt[0] & 15) * 4:]
        sp, dp = struct.unpack("!HH", tcp[:4])
        if sp == port and dp == sport and tcp[13] & 0x12 == 0x12:
            return pkt
    return None


def run(dev, client_s, public_s, port, client_mac, dev_mac):
    fam = socket.AF_INET6 if ":" in client_s else socket.AF_INET
    client = socket.inet_pton(fam, client_s)
    public = socket.inet_pton(fam, public_s)
    eth = mac(dev_mac) + mac(client_mac) + (b"\x86\xdd" if fam == socket.AF_INET6 else b"\x08\x00")
    fd = tap_open(dev)
    ip_hlen = 40 if fam == socket.AF_INET6 else 20

    send(fd, eth, tcp_syn(client, public, 40001, port), 14)
    synack = wait_synack(fd, public, client, port, 40001)
    print("syn: " + ("synack" if synack else "timeout"), flush=True)
    if synack:
        send(fd, eth, frag_needed(client, public, synack), 14 + ip_hlen + 8)
        print("error: sent", flush=True)
    if fam == socket.AF_INET6:
        chain = dstopts_chain(4, 80)
        send(fd, eth, tcp_syn(client, public, 40002, port, chain, 60), 14 + 40 + 200)
        ok = wait_synack(fd, public, client, port, 40002)
        print("chain: " + ("synack" if ok else "timeout"), flush=True)
    os.close(fd)


def main():
    if sys.argv[1] == "create":
        fd = tap_open(sys.argv[2])
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
        os.close(fd)
    elif sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6], sys.argv[7])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
