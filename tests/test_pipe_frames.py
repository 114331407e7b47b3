"""The loop's reader of planning-process answers: it cuts a real Connection's byte stream into the same
messages `recv` gives, whatever the reads' boundaries, and never waits for bytes that are not there."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import random
import socket
import threading
import time

import pytest

from songrec.service.pipe_frames import FrameBuffer, NonBlockingReader


def _wire(payloads: list[bytes]) -> bytes:
    """What Connection.send_bytes writes for these payloads, read raw off a real pipe."""
    left, right = multiprocessing.Pipe()
    raw = socket.socket(fileno=os.dup(right.fileno()))

    def send() -> None:  # from a thread: more than a socket buffer's worth
        for payload in payloads:
            left.send_bytes(payload)
        left.close()

    sender = threading.Thread(target=send)
    sender.start()
    try:
        out = bytearray()
        raw.settimeout(5)
        while chunk := raw.recv(1 << 20):
            out += chunk
        return bytes(out)
    finally:
        sender.join(5)
        raw.close()
        right.close()


def test_any_split_of_the_stream_gives_back_every_message_in_order() -> None:
    rng = random.Random(3)
    payloads = [pickle.dumps(("done", i, list(range(rng.randrange(0, 3000))))) for i in range(40)]
    payloads += [b"", b"x" * 70_000]  # an empty message, and one past 16 KiB (sent in two writes)
    wire = _wire(payloads)
    for _ in range(20):
        frames, got, at = FrameBuffer(), [], 0
        while at < len(wire):
            step = rng.choice([1, 2, 3, 5, 4096, 100_000])
            got += frames.feed(wire[at : at + step])
            at += step
        assert got == payloads
        assert frames.pending == 0


def test_a_reader_takes_what_has_arrived_and_reports_the_other_end_closing() -> None:
    left, right = multiprocessing.Pipe()
    reader = NonBlockingReader(right.fileno())
    try:
        assert reader.read() == ([], False)  # nothing there: no wait
        left.send(("done", 1, ["a"]))
        left.send(("done", 2, ["b"]))
        deadline = time.monotonic() + 5
        messages: list[bytes] = []
        while len(messages) < 2 and time.monotonic() < deadline:
            messages += reader.read()[0]
        assert [pickle.loads(m) for m in messages] == [("done", 1, ["a"]), ("done", 2, ["b"])]
        right.send(("still", "blocking"))  # the Connection itself still sends as before
        assert left.recv() == ("still", "blocking")
        left.close()
        deadline = time.monotonic() + 5
        closed = False
        while not closed and time.monotonic() < deadline:
            closed = reader.read()[1]
        assert closed
    finally:
        reader.close()
        right.close()


def test_a_negative_length_is_refused() -> None:
    with pytest.raises(ValueError):
        list(FrameBuffer().feed(b"\xff\xff\xff\xfe"))
