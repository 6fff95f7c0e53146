#!/usr/bin/env python3
"""Writes the PNG fixtures of test_png_pil.cpp and, beside each, the pixels PIL gives for it.

The PNGs are built chunk by chunk (so that bit depth, colour type, gAMA, sRGB, tRNS and
interlacing are exactly as named); NAME.ppm is Image.open(NAME.png).convert("RGB"), the
reference s8net's PNG import must equal byte for byte. Note what PIL does: no gamma ever (gAMA and
sRGB are ignored), alpha dropped (not composited), 16-bit RGB(A) and grey+alpha reduced to their
high byte, but 16-bit grey opened as 32-bit integers (mode I) whose RGB conversion clips them to
0-255 (0x8080 gives 255). Run it again only to add a case:
    python3 make_fixtures.py   (needs PIL: apt-get install python3-pil)
The committed files were made with Pillow 9.4.0, Debian 12's.
"""
import os
import struct
import warnings
import zlib

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH, HEIGHT = 5, 3  # odd, so that rows of sub-byte pixels end mid-byte


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """One scanline of samples (of any bit depth) as bytes, without the filter byte."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    bits = "".join(format(s, "0%db" % depth) for s in samples)
    bits += "0" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


# Adam7: (first column, first row, column step, row step) of each pass.
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png(pixels, depth, colour_type, chunks=b"", interlaced=False):
    """pixels: HEIGHT rows of WIDTH pixels, each a tuple of samples."""
    ihdr = struct.pack(">IIBBBBB", WIDTH, HEIGHT, depth, colour_type, 0, 0, 1 if interlaced else 0)
    raw = b""
    passes = ADAM7 if interlaced else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        for y in range(y0, HEIGHT, dy):
            row = [s for x in range(x0, WIDTH, dx) for s in pixels[y][x]]
            if row:
                raw += b"\0" + pack_row(row, depth)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunks + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def grid(f):
    return [[f(x, y) for x in range(WIDTH)] for y in range(HEIGHT)]


# Mid-range levels, where a gamma conversion moves a value most.
LEVELS = [0, 0x20, 0x40, 0x80, 0xC0, 0xE0, 0xFF]


def level(x, y, c=0):
    return LEVELS[(x + 2 * y + 3 * c) % len(LEVELS)]


# 16-bit samples whose high and low bytes differ, and the mid grey of the issue.
WIDE = [0x8080, 0x1234, 0xFF01, 0x00FF, 0x0000, 0xFFFF, 0x7F80]


def wide(x, y, c=0):
    return WIDE[(x + 2 * y + 3 * c) % len(WIDE)]


ALPHAS = [0, 0x40, 0x80, 0xFF]
PALETTE = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255), (0x80, 0x40, 0xC0), (0x20, 0xE0, 0x80),
           (255, 255, 255), (0x40, 0x40, 0x40)]
PLTE = chunk(b"PLTE", b"".join(bytes(c) for c in PALETTE))
GAMA_1_0 = chunk(b"gAMA", struct.pack(">I", 100000))
SRGB = chunk(b"sRGB", b"\0")

CASES = {
    "rgb8": png(grid(lambda x, y: (level(x, y, 0), level(x, y, 1), level(x, y, 2))), 8, 2),
    "rgba8": png(grid(lambda x, y: (level(x, y, 0), level(x, y, 1), level(x, y, 2), ALPHAS[(x + y) % 4])), 8, 6),
    "grey8": png(grid(lambda x, y: (level(x, y),)), 8, 0),
    "grey_alpha8": png(grid(lambda x, y: (level(x, y), ALPHAS[(x + y) % 4])), 8, 4),
    "grey1": png(grid(lambda x, y: ((x + y) % 2,)), 1, 0),
    "grey2": png(grid(lambda x, y: ((x + y) % 4,)), 2, 0),
    "grey4": png(grid(lambda x, y: ((x * 3 + y * 5) % 16,)), 4, 0),
    "palette8": png(grid(lambda x, y: ((x + 3 * y) % len(PALETTE),)), 8, 3, PLTE),
    "palette4": png(grid(lambda x, y: ((x + 3 * y) % len(PALETTE),)), 4, 3, PLTE),
    "palette_trns": png(grid(lambda x, y: ((x + 3 * y) % len(PALETTE),)), 8, 3,
                        PLTE + chunk(b"tRNS", bytes([0, 0x40, 0x80, 0xFF, 0, 0x10]))),
    "rgb8_trns": png(grid(lambda x, y: (level(x, y, 0), level(x, y, 1), level(x, y, 2))), 8, 2,
                     chunk(b"tRNS", struct.pack(">HHH", 0x80, 0x80, 0x80))),
    "rgb16": png(grid(lambda x, y: (wide(x, y, 0), wide(x, y, 1), wide(x, y, 2))), 16, 2),
    "rgba16": png(grid(lambda x, y: (wide(x, y, 0), wide(x, y, 1), wide(x, y, 2), wide(x, y, 3))), 16, 6),
    "grey16_8080": png(grid(lambda x, y: (0x8080,)), 16, 0),
    "grey16": png(grid(lambda x, y: (wide(x, y),)), 16, 0),
    "grey_alpha16": png(grid(lambda x, y: (wide(x, y), wide(x, y, 1))), 16, 4),
    "gama_1_0": png(grid(lambda x, y: (level(x, y, 0), level(x, y, 1), level(x, y, 2))), 8, 2, GAMA_1_0),
    "gama_1_0_rgb16": png(grid(lambda x, y: (wide(x, y, 0), wide(x, y, 1), wide(x, y, 2))), 16, 2, GAMA_1_0),
    "srgb": png(grid(lambda x, y: (level(x, y, 0), level(x, y, 1), level(x, y, 2))), 8, 2, SRGB),
    "interlaced_rgb8": png(grid(lambda x, y: (level(x, y, 0), level(x, y, 1), level(x, y, 2))), 8, 2, interlaced=True),
}

if __name__ == "__main__":
    # PIL's advice to convert palette images with tRNS to RGBA: the reference is convert("RGB").
    warnings.filterwarnings("ignore", "Palette images with Transparency")
    for name, data in CASES.items():
        path = os.path.join(HERE, name + ".png")
        with open(path, "wb") as f:
            f.write(data)
        Image.open(path).convert("RGB").save(os.path.join(HERE, name + ".ppm"))
    with open(os.path.join(HERE, "cases.txt"), "w") as f:
        f.write("\n".join(CASES) + "\n")
