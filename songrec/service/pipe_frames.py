"""Reading multiprocessing.Connection messages on the event loop without ever blocking it.

A planning process answers through its Connection (`send`: a 4-byte big-endian length, or -1 and an
8-byte length, then the pickle). Reading it with `recv` blocks until a whole message is there, so it
needed a thread per worker, and every answer then crossed back to the loop (a wake-up of the loop and a
hand-off of the GIL). Instead the loop watches the socket and takes what has arrived without waiting
(MSG_DONTWAIT): FrameBuffer cuts the bytes into messages; a message split across reads waits for the rest.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator

#: Bytes taken from the socket per read; a callback reads until the socket is empty.
READ_CHUNK = 256 * 1024
_SHORT = struct.Struct("!i")
_LONG = struct.Struct("!Q")


class FrameBuffer:
    """Bytes in, whole messages out, in the Connection's framing."""

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Append `data`; yield every message now complete."""
        self._data += data
        while True:
            buffer = self._data
            if len(buffer) < 4:
                return
            (size,) = _SHORT.unpack_from(buffer)
            start = 4
            if size == -1:
                if len(buffer) < 12:
                    return
                (size,) = _LONG.unpack_from(buffer, 4)
                start = 12
            if size < 0:
                raise ValueError(f"a message of {size} bytes")
            end = start + size
            if len(buffer) < end:
                return
            message = bytes(buffer[start:end])
            del buffer[:end]
            yield message

    @property
    def pending(self) -> int:
        """Bytes of a message not yet complete."""
        return len(self._data)


class NonBlockingReader:
    """A second handle on a Connection's socket that reads without waiting (its flags stay as they are:
    the Connection still sends, blocking, on the same socket)."""

    def __init__(self, fd: int) -> None:
        self.sock = socket.socket(fileno=os.dup(fd))
        self.frames = FrameBuffer()

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> tuple[list[bytes], bool]:
        """Every message complete so far, and whether the other end has closed."""
        messages: list[bytes] = []
        while True:
            try:
                data = self.sock.recv(READ_CHUNK, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return messages, False
            except OSError:
                return messages, True
            if not data:
                return messages, True
            messages += self.frames.feed(data)

    def close(self) -> None:
        self.sock.close()
