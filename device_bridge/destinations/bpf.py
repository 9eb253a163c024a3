"""The kernel filter of the destination observer: classic BPF that lets only DNS answers and TLS ClientHellos through.

A speaker's interface carries every byte of its audio uploads, music and updates; the observer needs two
kinds of packet out of all that. The filter runs in the kernel on each packet of the AF_PACKET socket and
hands user space only:

* DNS answers: UDP from source port 53 (IPv4 and IPv6), and
* the first segment of a TLS handshake from a client: TCP to port 443 whose payload starts with a
  handshake record (0x16) holding a ClientHello (handshake type 1).

Everything else costs the kernel a dozen instructions and user space nothing. The test reads fixed
offsets only: IPv4 with its header length (any options), IPv6 without extension headers (a ClientHello or
DNS answer behind one is missed, not misread), no VLAN tags, and not fragments past the first. A load past
the end of the packet ends a classic BPF program with "drop", which is what an empty TCP segment (a
SYN, an ACK) gets. The bytes are given as (code, jt, jf, k) with the names from linux/filter.h, and the
jumps are resolved from labels, so the program below reads like the `tcpdump -d` listing it matches:

    (ip and udp src port 53) or (ip6 and udp src port 53)
    or (tcp dst port 443 and tcp[((tcp[12] & 0xf0) >> 2)] = 0x16 and tcp[((tcp[12] & 0xf0) >> 2) + 5] = 1)
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Sequence

# linux/filter.h
BPF_LD, BPF_LDX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = 0x00, 0x01, 0x04, 0x05, 0x06, 0x07
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_ABS, BPF_IND, BPF_MSH = 0x20, 0x40, 0xA0
BPF_ADD, BPF_AND, BPF_RSH = 0x00, 0x50, 0x70
BPF_JEQ, BPF_JSET = 0x10, 0x40
BPF_K, BPF_X = 0x00, 0x08
BPF_TAX = 0x00
SO_ATTACH_FILTER = 26

ETH_HEADER = 14
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
IPPROTO_TCP, IPPROTO_UDP = 6, 17
DNS_PORT, TLS_PORT = 53, 443
TLS_HANDSHAKE, CLIENT_HELLO = 0x16, 0x01
#: The most a packet hands user space: whole frames (a DNS answer or ClientHello fits one).
SNAPLEN = 0xFFFF

Instruction = tuple[int, int, int, int]


class _Program:
    """A tiny assembler: instructions whose jumps name labels, resolved to offsets by `assemble()`."""

    def __init__(self) -> None:
        self._code: list[tuple[int, str | int, str | int, int]] = []
        self._labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def op(self, code: int, k: int = 0) -> None:
        self._code.append((code, 0, 0, k))

    def jump(self, code: int, k: int, true: str | int, false: str | int) -> None:
        """A conditional jump; an int target means "the next instruction" when 0."""
        self._code.append((code, true, false, k))

    def assemble(self) -> list[Instruction]:
        out = []
        for index, (code, jt, jf, k) in enumerate(self._code):
            out.append((code, self._offset(index, jt), self._offset(index, jf), k))
        return out

    def _offset(self, index: int, target: str | int) -> int:
        if isinstance(target, int):
            return target
        offset = self._labels[target] - index - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"jump to {target!r} out of range")
        return offset


def observer_program() -> list[Instruction]:
    """The filter described in the module docstring."""
    p = _Program()
    ld_b, ld_h = BPF_LD | BPF_B | BPF_ABS, BPF_LD | BPF_H | BPF_ABS
    ld_b_ind, ld_h_ind = BPF_LD | BPF_B | BPF_IND, BPF_LD | BPF_H | BPF_IND
    jeq, jset = BPF_JMP | BPF_JEQ | BPF_K, BPF_JMP | BPF_JSET | BPF_K

    p.op(ld_h, 12)                                         # EtherType
    p.jump(jeq, ETHERTYPE_IPV4, 0, "not_v4")
    p.op(ld_b, ETH_HEADER + 9)                             # IPv4 protocol
    p.jump(jeq, IPPROTO_UDP, 0, "v4_tcp?")
    p.op(ld_h, ETH_HEADER + 6)                             # flags + fragment offset
    p.jump(jset, 0x1FFF, "drop", 0)                        # not the first fragment: no UDP header
    p.op(BPF_LDX | BPF_B | BPF_MSH, ETH_HEADER)            # X = IPv4 header length
    p.op(ld_h_ind, ETH_HEADER)                             # UDP source port
    p.jump(jeq, DNS_PORT, "accept", "drop")
    p.label("v4_tcp?")
    p.jump(jeq, IPPROTO_TCP, 0, "drop")
    p.op(ld_h, ETH_HEADER + 6)
    p.jump(jset, 0x1FFF, "drop", 0)
    p.op(BPF_LDX | BPF_B | BPF_MSH, ETH_HEADER)            # X = IPv4 header length
    p.op(ld_h_ind, ETH_HEADER + 2)                         # TCP destination port
    p.jump(jeq, TLS_PORT, 0, "drop")
    p.op(ld_b_ind, ETH_HEADER + 12)                        # TCP data offset (high nibble)
    p.op(BPF_ALU | BPF_AND | BPF_K, 0xF0)
    p.op(BPF_ALU | BPF_RSH | BPF_K, 2)                     # A = TCP header length
    p.op(BPF_ALU | BPF_ADD | BPF_X)                        # A = IP + TCP header lengths
    p.op(BPF_MISC | BPF_TAX)                               # X = A: payload starts at ETH_HEADER + X
    p.op(ld_b_ind, ETH_HEADER)                             # TLS record type (no payload: drop)
    p.jump(jeq, TLS_HANDSHAKE, 0, "drop")
    p.op(ld_b_ind, ETH_HEADER + 5)                         # handshake type
    p.jump(jeq, CLIENT_HELLO, "accept", "drop")

    p.label("not_v4")
    p.jump(jeq, ETHERTYPE_IPV6, 0, "drop")
    v6 = ETH_HEADER + 40                                   # fixed header, no extension headers
    p.op(ld_b, ETH_HEADER + 6)                             # IPv6 next header
    p.jump(jeq, IPPROTO_UDP, 0, "v6_tcp?")
    p.op(ld_h, v6)                                         # UDP source port
    p.jump(jeq, DNS_PORT, "accept", "drop")
    p.label("v6_tcp?")
    p.jump(jeq, IPPROTO_TCP, 0, "drop")
    p.op(ld_h, v6 + 2)                                     # TCP destination port
    p.jump(jeq, TLS_PORT, 0, "drop")
    p.op(ld_b, v6 + 12)
    p.op(BPF_ALU | BPF_AND | BPF_K, 0xF0)
    p.op(BPF_ALU | BPF_RSH | BPF_K, 2)
    p.op(BPF_MISC | BPF_TAX)                               # X = TCP header length
    p.op(ld_b_ind, v6)
    p.jump(jeq, TLS_HANDSHAKE, 0, "drop")
    p.op(ld_b_ind, v6 + 5)
    p.jump(jeq, CLIENT_HELLO, "accept", "drop")

    p.label("accept")
    p.op(BPF_RET | BPF_K, SNAPLEN)
    p.label("drop")
    p.op(BPF_RET | BPF_K, 0)
    return p.assemble()


def attach(sock: socket.socket, program: Sequence[Instruction]) -> None:
    """Attach a classic BPF program to `sock` (SO_ATTACH_FILTER); the kernel copies it."""
    filters = (ctypes.c_ubyte * (8 * len(program)))()
    for index, (code, jt, jf, k) in enumerate(program):
        struct.pack_into("=HBBI", filters, 8 * index, code, jt, jf, k)
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }, with native alignment.
    fprog = struct.pack("@HP", len(program), ctypes.addressof(filters))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
