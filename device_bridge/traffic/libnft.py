"""nftables listings inside the bridge's own process, through libnftables (the library the `nft` command is built on).

The counters are read ten times a second. Through the `nft` command each reading cost a process, or a
round trip through pipes to a long-running one; libnftables does the same work (a netlink conversation
with the kernel, JSON out) in this process. Debian's nftables package depends on libnftables1, so where
`nft` works the library is there too; ctypes reaches it, nothing needs building or installing.

The API, from nftables/libnftables.h (stable since nftables 0.9): `nft_ctx_new(NFT_CTX_DEFAULT)` makes a
context and opens its netlink socket; output flags JSON | HANDLE give what `nft -j -a` prints; output and
error streams are buffered and read back after each `nft_run_cmd_from_buffer`.

A context is not thread-safe, so each command borrows an idle context (or makes one) and gives it back:
no context is ever used by two threads at once, and the sampler thread, reading at 10 Hz, in practice keeps
reusing the same one. Commands on different contexts can run at the same time. Of the library's few
process-wide things, two matter: its one-time set-up in `nft_ctx_new`, and an interface-name cache that
`nft_ctx_free` releases. Making and freeing contexts is therefore serialised. The commands run here never
name an interface, so that cache stays empty.

A context can be opened in a named network namespace (`ip netns`). Its netlink socket belongs to the
namespace it was created in, so a short-lived thread enters the namespace, makes the context and ends.
The tests use this. The bridge itself runs in the namespace it measures.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import socket
import threading
from collections.abc import Callable
from typing import NamedTuple, TypeVar

LIBRARY = "libnftables.so.1"

# From nftables/libnftables.h.
_NFT_CTX_DEFAULT = 0
_NFT_CTX_OUTPUT_HANDLE = 1 << 3
_NFT_CTX_OUTPUT_JSON = 1 << 4

_NETLINK_NETFILTER = 12  # linux/netlink.h (Python's socket module does not name it)
_CLONE_NEWNET = 0x40000000  # sched.h

_PROTOTYPES = (
    ("nft_ctx_new", ctypes.c_void_p, (ctypes.c_uint32,)),
    ("nft_ctx_free", None, (ctypes.c_void_p,)),
    ("nft_ctx_output_set_flags", None, (ctypes.c_void_p, ctypes.c_uint)),
    ("nft_ctx_buffer_output", ctypes.c_int, (ctypes.c_void_p,)),
    ("nft_ctx_buffer_error", ctypes.c_int, (ctypes.c_void_p,)),
    ("nft_run_cmd_from_buffer", ctypes.c_int, (ctypes.c_void_p, ctypes.c_char_p)),
    ("nft_ctx_get_output_buffer", ctypes.c_char_p, (ctypes.c_void_p,)),
    ("nft_ctx_get_error_buffer", ctypes.c_char_p, (ctypes.c_void_p,)),
)

# The library's one-time set-up in nft_ctx_new, and the interface cache nft_ctx_free releases, are process-wide.
_MAKE_AND_FREE = threading.Lock()

T = TypeVar("T")


class LibraryUnavailable(Exception):
    """libnftables cannot be loaded here (the message says why); the `nft` command is the way then."""


class Result(NamedTuple):
    """What one command did: `ok`, its JSON `output`, and the `error` text nft would have printed."""

    ok: bool
    output: str
    error: str


@functools.cache
def _load(name: str) -> ctypes.CDLL:
    try:
        library = ctypes.CDLL(name)
    except OSError as error:
        raise LibraryUnavailable(f"{name} could not be loaded ({error})") from None
    for function, restype, argtypes in _PROTOTYPES:
        try:
            entry = getattr(library, function)
        except AttributeError:
            raise LibraryUnavailable(f"{name} has no {function}(): not the libnftables this code knows") from None
        entry.restype = restype
        entry.argtypes = argtypes
    return library


class Libnftables:
    """Runs nft commands in-process with JSON output, on contexts lent out one thread at a time.

    Raises LibraryUnavailable when the library cannot be loaded. `run()` raises OSError when no context
    can be made (no netlink socket, no such namespace); errors of the command itself come back in Result.

    Attributes:
        name: the library loaded (default libnftables.so.1).
        netns: the named network namespace the contexts work in, or None for this process's own.
    """

    def __init__(self, name: str = LIBRARY, *, netns: str | None = None) -> None:
        self.name = name
        self.netns = netns
        self._library = _load(name)
        self._lock = threading.Lock()
        self._idle: list[_Context] = []
        self._generation = 0  # bumped by close(): contexts lent out before it are freed on return

    def run(self, command: str) -> Result:
        """Run one nft command (say "list set inet earmuff count_internet") and return what it printed."""
        context, generation = self._borrow()
        try:
            return context.run(command)
        finally:
            self._give_back(context, generation)

    def close(self) -> None:
        """Free the idle contexts; those lent out are freed when given back. Idempotent; `run` works on."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for context in idle:
            context.free()

    def _borrow(self) -> tuple[_Context, int]:
        with self._lock:
            generation = self._generation
            if self._idle:
                return self._idle.pop(), generation
        if self.netns is None:
            return _Context(self._library), generation
        return in_namespace(self.netns, lambda: _Context(self._library)), generation

    def _give_back(self, context: _Context, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._idle.append(context)
                return
        context.free()


class _Context:
    """One nft_ctx: JSON output with handles, both streams buffered."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._library = library
        # WORKAROUND: libnftables calls exit() when it cannot open its netlink socket (nftables 1.0.6,
        # netlink_init_error). Opening one first turns that into an OSError here.
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER).close()
        with _MAKE_AND_FREE:
            self._ctx = library.nft_ctx_new(_NFT_CTX_DEFAULT)
        if not self._ctx:
            raise OSError(errno.ENOMEM, "libnftables could not make a context")
        library.nft_ctx_output_set_flags(self._ctx, _NFT_CTX_OUTPUT_JSON | _NFT_CTX_OUTPUT_HANDLE)
        if library.nft_ctx_buffer_output(self._ctx) != 0 or library.nft_ctx_buffer_error(self._ctx) != 0:
            self.free()
            raise OSError(errno.ENOMEM, "libnftables could not buffer its output")

    def run(self, command: str) -> Result:
        status = self._library.nft_run_cmd_from_buffer(self._ctx, command.encode())
        output = self._library.nft_ctx_get_output_buffer(self._ctx) or b""
        error = self._library.nft_ctx_get_error_buffer(self._ctx) or b""
        return Result(status == 0, output.decode(errors="replace"), error.decode(errors="replace"))

    def free(self) -> None:
        with _MAKE_AND_FREE:
            self._library.nft_ctx_free(self._ctx)
        self._ctx = None


def in_namespace(netns: str, make: Callable[[], T]) -> T:
    """`make()` on a short-lived thread that has entered the named network namespace (ip netns's /run/netns/NAME)."""
    outcome: dict[str, object] = {}

    def enter_and_make() -> None:
        try:
            fd = os.open(os.path.join("/run/netns", netns), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            outcome["error"] = OSError(errno.ENOENT, f"there is no network namespace {netns!r}")
            return
        try:
            if _libc().setns(fd, _CLONE_NEWNET) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"cannot enter network namespace {netns!r}: {os.strerror(code)}")
            outcome["value"] = make()
        except BaseException as error:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = error
        finally:
            os.close(fd)

    thread = threading.Thread(target=enter_and_make, name=f"earmuff-netns-{netns}")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)
