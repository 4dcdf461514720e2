"""Print a QR code PNG in a terminal with Unicode half blocks.

The PNG is only sampled, never decoded as a QR code: dark pixels are found, the module size
is read off the top-left finder pattern (7 modules wide), and each module's centre pixel
decides dark or light. Two module rows share one text row (``▀``, ``▄``, ``█``, space).
Light modules are drawn as blocks, so the code reads on a dark terminal background.
"""

from __future__ import annotations

from typing import List, Optional

import png

Grid = List[List[bool]]  # True = dark module


def _dark_pixels(data: bytes) -> Grid:
    width, height, rows, _info = png.Reader(bytes=data).asRGBA8()
    grid: Grid = []
    for row in rows:
        line = []
        for x in range(width):
            r, g, b, a = row[4 * x: 4 * x + 4]
            line.append(a > 127 and (r + g + b) < 3 * 128)
        grid.append(line)
    return grid


def modules(data: bytes) -> Optional[Grid]:
    """The QR modules of a PNG as a boolean grid, or None if no QR-like square is found."""
    pixels = _dark_pixels(data)
    dark_rows = [y for y, line in enumerate(pixels) if any(line)]
    if not dark_rows:
        return None
    top, bottom = dark_rows[0], dark_rows[-1]
    cols = [x for x in range(len(pixels[0])) if any(pixels[y][x] for y in dark_rows)]
    left, right = cols[0], cols[-1]
    # The top-left finder pattern starts with a dark run of 7 modules.
    run = 0
    while left + run <= right and pixels[top][left + run]:
        run += 1
    size = run / 7.0
    if size <= 0:
        return None
    count = int(round((right - left + 1) / size))
    rows_count = int(round((bottom - top + 1) / size))
    grid: Grid = []
    for j in range(rows_count):
        y = min(bottom, top + int((j + 0.5) * size))
        grid.append([pixels[y][min(right, left + int((i + 0.5) * size))] for i in range(count)])
    return grid


def render(data: bytes, *, border: int = 2) -> str:
    """The QR of a PNG as text lines (empty string if the image holds no QR)."""
    grid = modules(data)
    if not grid:
        return ""
    width = len(grid[0]) + 2 * border
    light_row = [False] * width
    rows = [light_row] * border + [[False] * border + r + [False] * border for r in grid] + [light_row] * border
    if len(rows) % 2:
        rows.append(light_row)
    out = []
    for y in range(0, len(rows), 2):
        top, bottom = rows[y], rows[y + 1]
        line = []
        for x in range(width):
            t, b = not top[x], not bottom[x]  # light modules are drawn
            line.append("█" if t and b else "▀" if t else "▄" if b else " ")
        out.append("".join(line))
    return "\n".join(out)
