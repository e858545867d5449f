#!/usr/bin/env python3
"""Generate the demo media files with nothing but the Python stdlib.

    python scripts/gen_media.py            # images (committed) + big.bin
    python scripts/gen_media.py --big      # only media/big.bin (not committed; setup.sh runs this)

big.bin is 8 MiB: block i (i = 0..262143) is sha256(b"edgecache big.bin block " + i as 8-byte big-endian).
"""
import hashlib
import math
import struct
import sys
import zlib
from pathlib import Path

MEDIA = Path(__file__).resolve().parent.parent / "media"
BIG_SIZE = 8 * 1024 * 1024


# ---------- PNG (RGB, 8 bit, zlib) ----------
def png_bytes(width, height, pixel):
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type: none
        for x in range(width):
            raw.extend(pixel(x, y))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


# ---------- JPEG (baseline, YCbCr 4:4:4, one quant table, simple 8-bit Huffman tables) ----------
ZIGZAG = sorted(((i, j) for i in range(8) for j in range(8)), key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else -p[0]))
QUANT = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]  # row-major, Annex K luminance
COS = [[math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)] for u in range(8)]
# Canonical Huffman tables: every DC category gets a 4-bit code, every AC symbol an 8-bit code.
DC_SYMBOLS = list(range(12))
AC_SYMBOLS = [0x00, 0xF0] + [(run << 4) | size for run in range(16) for size in range(1, 11)]


def huffman_codes(length, symbols):
    return {sym: (code, length) for code, sym in enumerate(symbols)}


DC_CODES = huffman_codes(4, DC_SYMBOLS)
AC_CODES = huffman_codes(8, AC_SYMBOLS)


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, value, length):
        for bit in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> bit) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc = self.n = 0

    def flush(self):
        while self.n:
            self.write(1, 1)  # pad with ones
        return bytes(self.out)


def magnitude(value):
    size = abs(value).bit_length()
    bits = value if value >= 0 else value + (1 << size) - 1
    return size, bits


def encode_block(block, prev_dc, bits):
    coeffs = []
    for u, v in ZIGZAG:
        s = sum(block[y][x] * COS[u][y] * COS[v][x] for y in range(8) for x in range(8))
        cu = math.sqrt(0.5) if u == 0 else 1.0
        cv = math.sqrt(0.5) if v == 0 else 1.0
        coeffs.append(round(0.25 * cu * cv * s / QUANT[u * 8 + v]))
    size, value = magnitude(coeffs[0] - prev_dc)
    bits.write(*DC_CODES[size])
    bits.write(value, size)
    run = 0
    for c in coeffs[1:]:
        if c == 0:
            run += 1
            continue
        while run > 15:
            bits.write(*AC_CODES[0xF0])
            run -= 16
        size, value = magnitude(c)
        bits.write(*AC_CODES[(run << 4) | size])
        bits.write(value, size)
        run = 0
    if run:
        bits.write(*AC_CODES[0x00])
    return coeffs[0]


def jpeg_bytes(width, height, pixel):
    assert width % 8 == 0 and height % 8 == 0
    ycc = [[None] * width for _ in range(height)]
    for y in range(height):
        for x in range(width):
            r, g, b = pixel(x, y)
            ycc[y][x] = (
                0.299 * r + 0.587 * g + 0.114 * b - 128,
                -0.168736 * r - 0.331264 * g + 0.5 * b,
                0.5 * r - 0.418688 * g - 0.081312 * b,
            )
    bits = BitWriter()
    prev = [0, 0, 0]
    for by in range(0, height, 8):
        for bx in range(0, width, 8):
            for comp in range(3):
                block = [[ycc[by + y][bx + x][comp] for x in range(8)] for y in range(8)]
                prev[comp] = encode_block(block, prev[comp], bits)
    scan = bits.flush()

    def segment(marker, data):
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data

    def dht(table_class_id, length, symbols):
        counts = [0] * 16
        counts[length - 1] = len(symbols)
        return segment(0xC4, bytes([table_class_id]) + bytes(counts) + bytes(symbols))

    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = bytes([0]) + bytes(QUANT[u * 8 + v] for u, v in ZIGZAG)
    sof = struct.pack(">BHHB", 8, height, width, 3) + bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
    sos = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return (b"\xFF\xD8" + segment(0xE0, app0) + segment(0xDB, dqt) + segment(0xC0, sof)
            + dht(0x00, 4, DC_SYMBOLS) + dht(0x10, 8, AC_SYMBOLS) + segment(0xDA, sos) + scan + b"\xFF\xD9")


# ---------- the files ----------
def images():
    def stripes(x, y):
        return (40, 110, 200) if (x // 8 + y // 8) % 2 else (250, 200, 60)

    def gradient(x, y):
        return (x * 2 % 256, y * 2 % 256, 160)

    def rings(x, y):
        d = int(math.hypot(x - 48, y - 48))
        return (230, 80 + (d * 9) % 150, 90) if (d // 6) % 2 else (30, 30, 60)

    def sunset(x, y):
        sun = math.hypot(x - 80, y - 60) < 22
        sky = (255, max(0, 190 - y * 2), 80 + y)
        sea = (20, 60 + (x * 3 + y * 7) % 40, 120)
        return (255, 240, 170) if sun else (sky if y < 64 else sea)

    return {
        "courses/python.png": png_bytes(64, 64, stripes),
        "courses/maths.png": png_bytes(128, 128, gradient),
        "courses/design.png": png_bytes(96, 96, rings),
        "courses/sunset.jpg": jpeg_bytes(160, 96, sunset),
    }


def big_bin():
    prefix = b"edgecache big.bin block "
    return b"".join(hashlib.sha256(prefix + i.to_bytes(8, "big")).digest() for i in range(BIG_SIZE // 32))


def write(rel, data):
    path = MEDIA / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a half-written big.bin is never served
    print(f"wrote media/{rel} ({len(data)} bytes)")


def main(argv):
    if "--big" not in argv:
        for rel, data in images().items():
            write(rel, data)
    write("big.bin", big_bin())


if __name__ == "__main__":
    main(sys.argv[1:])
