"""A small PNG reader for screenshot checks (8-bit RGB or RGBA, not interlaced: what Chromium writes)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _paeth_row(line: np.ndarray, previous: np.ndarray, channels: int) -> np.ndarray:
    out = line.astype(np.int32)
    up = previous.astype(np.int32)
    for x in range(len(out)):
        a = out[x - channels] if x >= channels else 0
        b = up[x]
        c = up[x - channels] if x >= channels else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        out[x] = (out[x] + predictor) & 0xFF
    return out.astype(np.uint8)


def _average_row(line: np.ndarray, previous: np.ndarray, channels: int) -> np.ndarray:
    out = line.astype(np.int32)
    for x in range(len(out)):
        a = out[x - channels] if x >= channels else 0
        out[x] = (out[x] + ((a + int(previous[x])) >> 1)) & 0xFF
    return out.astype(np.uint8)


def read_png(data: bytes) -> np.ndarray:
    """The pixels of `data` as an array (height, width, 3) of uint8 RGB; ValueError for other PNG kinds."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    position, compressed = len(_SIGNATURE), bytearray()
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(bytes(compressed)), dtype=np.uint8).reshape(height, stride + 1)
    pixels = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = int(raw[y, 0]), raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: a running sum per channel
            row = (np.cumsum(line.reshape(width, channels).astype(np.int64), axis=0) & 0xFF).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            row = line + previous
        elif kind == 3:
            row = _average_row(line, previous, channels)
        elif kind == 4:
            row = _paeth_row(line, previous, channels)
        else:
            raise ValueError(f"row {y}: unknown PNG filter {kind}")
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, channels)[:, :, :3]


def longest_vertical_run(image: np.ndarray, colour: tuple[int, int, int], tolerance: int = 4) -> int:
    """The most pixels of `colour` (within `tolerance` per channel) stacked in one column."""
    mask = np.all(np.abs(image.astype(np.int16) - np.array(colour, dtype=np.int16)) <= tolerance, axis=2)
    runs = np.zeros(mask.shape[1], dtype=np.int64)
    best = 0
    for row in mask:
        runs = np.where(row, runs + 1, 0)
        best = max(best, int(runs.max()))
    return best
