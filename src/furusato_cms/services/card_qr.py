"""The registration card's QR codes, drawn quickly (issue 16).

A card shows one QR code per registration, each holding a freshly signed statement
(services/card_statements.py), so nothing about a code can be kept from one request to
the next. segno, which draws every other QR code here, works module by module in Python:
about 12 ms for one card code (version 13, 69 × 69 modules), most of it spent trying the
eight mask patterns, so a card with ten registrations took 130 ms of CPU.

This module makes the same symbol — byte mode, error level M raised to Q or H when that
fits in the same version, the mask with the lowest penalty of ISO/IEC 18004 §7.8.3 —
module for module identical to ``segno.make(text, error="m", micro=False)`` (the tests
compare them), but computes with whole-symbol integers: each symbol is one Python
``int`` with a bit per module, rows ``STRIDE`` bits apart, so a penalty rule is a few
shifts, ANDs and ``bit_count`` calls instead of a loop over 4,761 modules.

What depends only on the version (where the function patterns, the data modules and the
eight masks lie, and in which order the codeword bits fill the data modules) is worked
out once per version and process (``_layout``): it is the geometry of the QR code
format, like segno's own tables, and holds nothing of any request.

The tables of the standard (error correction blocks, capacities, alignment pattern
positions, format and version information) come from ``segno.consts``.
"""
import threading

from segno import consts

ERROR_LEVELS = {"L": consts.ERROR_LEVEL_L, "M": consts.ERROR_LEVEL_M,
                "Q": consts.ERROR_LEVEL_Q, "H": consts.ERROR_LEVEL_H}
_BOOST = (consts.ERROR_LEVEL_L, consts.ERROR_LEVEL_M, consts.ERROR_LEVEL_Q,
          consts.ERROR_LEVEL_H)
_FORMAT_LEVEL = {consts.ERROR_LEVEL_M: 0x00, consts.ERROR_LEVEL_L: 0x08,
                 consts.ERROR_LEVEL_H: 0x10, consts.ERROR_LEVEL_Q: 0x18}
PAD = 4
"""Light modules kept around the symbol inside its integer (columns after each row, rows
above and below): the N3 rule treats the outside of the symbol as light."""

# -- Reed-Solomon over GF(256) with the QR code's polynomial x^8+x^4+x^3+x^2+1 ------------

_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]

_rs_tables: dict = {}


def _rs_table(degree: int) -> list:
    """For each byte f, f times the generator polynomial of ``degree`` (without its
    leading 1), packed big-endian into one int: one XOR per data byte."""
    table = _rs_tables.get(degree)
    if table is None:
        generator = [1]
        for root in range(degree):
            product = [0] * (len(generator) + 1)
            for i, coefficient in enumerate(generator):
                product[i] ^= coefficient
                if coefficient:
                    product[i + 1] ^= _EXP[_LOG[coefficient] + root]
            generator = product
        logs = [_LOG[c] for c in generator[1:]]
        table = [0] * 256
        for factor in range(1, 256):
            shift = _LOG[factor]
            table[factor] = int.from_bytes(bytes(_EXP[shift + g] for g in logs), "big")
        _rs_tables[degree] = table
    return table


def _ec_codewords(block: bytes, degree: int) -> bytes:
    table = _rs_table(degree)
    top = 8 * (degree - 1)
    keep = (1 << top) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder & keep) << 8) ^ table[byte ^ (remainder >> top)]
    return remainder.to_bytes(degree, "big")


# -- the bit stream ------------------------------------------------------------------


def _version_and_level(length: int, error: int) -> tuple:
    for version in range(1, 41):
        count_bits = 8 if version < 10 else 16
        bits = 4 + count_bits + 8 * length
        capacity = consts.SYMBOL_CAPACITY[version]
        if capacity[error] >= bits:
            for better in _BOOST[_BOOST.index(error) + 1:]:
                if capacity[better] < bits:
                    break
                error = better
            return version, error, count_bits
    raise ValueError("too much data for a QR code")


def _codewords(data: bytes, version: int, error: int, count_bits: int) -> bytes:
    """Data and error correction codewords, interleaved (ISO/IEC 18004 §7.4–7.6)."""
    capacity = consts.SYMBOL_CAPACITY[version][error]
    length = 4 + count_bits + 8 * len(data)
    stream = (((consts.MODE_BYTE << count_bits) | len(data)) << 8 * len(data)) \
        | int.from_bytes(data, "big")
    terminator = min(capacity - length, 4)
    stream <<= terminator
    length += terminator
    # Zero bits up to the next codeword boundary; like segno, a whole zero codeword when
    # the terminator already ends on one (harmless: readers stop at the terminator).
    padding = min(8 - length % 8, capacity - length)
    stream <<= padding
    length += padding
    message = stream.to_bytes(length // 8, "big") \
        + (b"\xec\x11" * capacity)[:capacity // 8 - length // 8]
    data_blocks, ec_blocks, start = [], [], 0
    for group in consts.ECC[version][error]:
        for _ in range(group.num_blocks):
            block = message[start:start + group.num_data]
            start += group.num_data
            data_blocks.append(block)
            ec_blocks.append(_ec_codewords(block, group.num_total - group.num_data))
    longest = max(len(block) for block in data_blocks)
    interleaved = bytearray()
    for i in range(longest):
        interleaved.extend(block[i] for block in data_blocks if i < len(block))
    for i in range(len(ec_blocks[0])):
        interleaved.extend(block[i] for block in ec_blocks)
    return bytes(interleaved)


# -- the geometry of one version -------------------------------------------------------

_FINDER = ((0, 0, 0, 0, 0, 0, 0, 0, 0),
           (0, 1, 1, 1, 1, 1, 1, 1, 0),
           (0, 1, 0, 0, 0, 0, 0, 1, 0),
           (0, 1, 0, 1, 1, 1, 0, 1, 0),
           (0, 1, 0, 1, 1, 1, 0, 1, 0),
           (0, 1, 0, 1, 1, 1, 0, 1, 0),
           (0, 1, 0, 0, 0, 0, 0, 1, 0),
           (0, 1, 1, 1, 1, 1, 1, 1, 0),
           (0, 0, 0, 0, 0, 0, 0, 0, 0))
_ALIGNMENT = ((1, 1, 1, 1, 1), (1, 0, 0, 0, 1), (1, 0, 1, 0, 1), (1, 0, 0, 0, 1),
              (1, 1, 1, 1, 1))
_MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)


class _Layout:
    """Where everything of one version lies, as bit masks over the symbol's integer
    (bit ``(row + PAD) * stride + column``)."""

    def __init__(self, version: int):
        size = version * 4 + 17
        stride = size + PAD
        self.size, self.stride = size, stride
        grid = [[2] * size for _ in range(size)]  # 2: a data module
        if version >= 7:
            for i in range(6):
                for k in (size - 11, size - 10, size - 9):
                    grid[i][k] = grid[k][i] = 0
        for i in range(9):
            grid[i][8] = grid[8][i] = grid[-i][8] = grid[8][-i] = 0
        for i in range(8, size - 8):
            grid[i][6] = grid[6][i] = 1 - (i % 2)
        for top, left in ((0, 0), (0, size - 8), (size - 8, 0)):
            row_offset = 1 if top == 0 else 0
            column_offset = 1 if left == 0 else 0
            for r in range(8):
                grid[top + r][left:left + 8] = _FINDER[row_offset + r][
                    column_offset:column_offset + 8]
        if version >= 2:
            positions = consts.ALIGNMENT_POS[version - 2]
            corners = {(positions[0], positions[0]), (positions[0], positions[-1]),
                       (positions[-1], positions[0])}
            for x in positions:
                for y in positions:
                    if (x, y) in corners:
                        continue
                    for r in range(5):
                        grid[x - 2 + r][y - 2:y + 3] = _ALIGNMENT[r]

        def bit(row, column):
            return 1 << ((row + PAD) * stride + column)

        self.function = sum(bit(r, c) for r in range(size) for c in range(size)
                            if grid[r][c] == 1)
        # The codeword bits fill the data modules two columns at a time, right to left,
        # alternately upwards and downwards, skipping the vertical timing pattern.
        order = []
        for right in range(size - 1, 0, -2):
            if right <= 6:
                right -= 1
            upwards = ((right & 2) == 0)
            for vertical in range(size):
                for column in (right, right - 1):
                    goes_up = upwards ^ (column < 6)
                    row = size - 1 - vertical if goes_up else vertical
                    if grid[row][column] == 2:
                        grid[row][column] = 3
                        order.append((row, column))
        self.data_modules = len(order)
        position = {cell: index for index, cell in enumerate(order)}
        canvas = (size + 2 * PAD) * stride
        # ``picks[k]`` says which stream bit goes to canvas bit ``canvas - 1 - k`` (the
        # string's first character is the integer's top bit); the last index is a "0".
        blank = self.data_modules
        picks = [blank] * canvas
        for (row, column), index in position.items():
            picks[canvas - 1 - ((row + PAD) * stride + column)] = index
        self.picks = picks
        self.masks = [sum(bit(r, c) for (r, c) in order if condition(r, c))
                      for condition in _MASKS]
        self.inside = sum(((1 << size) - 1) << ((r + PAD) * stride) for r in range(size))
        self.everything = (1 << canvas) - 1
        self.dark_module = bit(size - 8, 8)
        self.version_bits = 0
        if version >= 7:
            info = consts.VERSION_INFO[version - 7]
            for i in range(6):
                for k in range(3):
                    if info >> (i * 3 + k) & 1:
                        self.version_bits |= bit(size - 11 + k, i) | bit(i, size - 11 + k)
        self.format_cells = []
        v_offset = h_offset = 0
        for i in range(8):
            if i == 6:
                v_offset += 1
                h_offset = 1
            self.format_cells.append((i, bit(i + v_offset, 8), bit(8, i + h_offset)))
            self.format_cells.append((i, bit(8, size - 1 - i), bit(size - 1 - i, 8)))

    def format_bits(self, error: int, mask: int) -> int:
        info = consts.FORMAT_INFO[mask + _FORMAT_LEVEL[error]]
        bits = 0
        for i, low_cell, high_cell in self.format_cells:
            if info >> i & 1:
                bits |= low_cell
            if info >> (14 - i) & 1:
                bits |= high_cell
        return bits


_layouts: dict = {}
_layouts_lock = threading.Lock()


def _layout(version: int) -> _Layout:
    layout = _layouts.get(version)
    if layout is None:
        with _layouts_lock:
            layout = _layouts.get(version) or _Layout(version)
            _layouts[version] = layout
    return layout


# -- the penalty of a mask (ISO/IEC 18004 §7.8.3, computed as segno does) ----------------


def _runs_penalty(dark, light, step) -> int:
    """N1: 3 + (length - 5) for every run of five or more modules of one colour."""
    score = 0
    for same in (dark, light):
        five = same & (same >> step) & (same >> 2 * step) & (same >> 3 * step) \
            & (same >> 4 * step)
        if five:
            score += five.bit_count() + 2 * (five & ~(five >> step)).bit_count()
    return score


def _finder_like(dark, light_around, step) -> tuple:
    """Where 1:1:3:1:1 (dark:light:dark:light:dark) starts, and where it has four light
    modules (or the symbol's edge) before it or after it."""
    light = light_around
    found = dark & (light >> step) & (dark >> 2 * step) & (dark >> 3 * step) \
        & (dark >> 4 * step) & (light >> 5 * step) & (dark >> 6 * step)
    if not found:
        return 0, 0
    before = (light << step) & (light << 2 * step) & (light << 3 * step) \
        & (light << 4 * step)
    after = (light >> 7 * step) & (light >> 8 * step) & (light >> 9 * step) \
        & (light >> 10 * step)
    return found, found & (before | after)


def _n3_score(found, counted, step, stride) -> int:
    """40 for each counted pattern, scanning each line as segno does: after a counted
    pattern the scan goes on 7 modules later, after an uncounted one 4 modules later,
    so a pattern overlapping a counted one (4 or 6 modules on) is not counted again.
    Only patterns overlapping another need that scan; the others count as found."""
    chained = found & ((found >> 4 * step) | (found >> 6 * step)
                       | (found << 4 * step) | (found << 6 * step))
    score = 40 * (counted & ~chained).bit_count()
    positions = []
    while chained:
        low = chained & -chained
        index = low.bit_length() - 1
        chained ^= low
        line, along = (index // stride, index % stride) if step == 1 else \
            (index % stride, index // stride)
        positions.append((line, along, bool(counted & low)))
    line_now, next_allowed = None, 0
    for line, along, is_counted in sorted(positions):
        if line != line_now:
            line_now, next_allowed = line, 0
        if along < next_allowed:
            continue
        if is_counted:
            score += 40
            next_allowed = along + 7
        else:
            next_allowed = along + 4
    return score


def _penalty(symbol, layout) -> int:
    stride, inside = layout.stride, layout.inside
    light = inside & ~symbol
    score = _runs_penalty(symbol, light, 1) + _runs_penalty(symbol, light, stride)
    blocks_dark = symbol & (symbol >> 1) & (symbol >> stride) & (symbol >> (stride + 1))
    blocks_light = light & (light >> 1) & (light >> stride) & (light >> (stride + 1))
    score += 3 * (blocks_dark.bit_count() + blocks_light.bit_count())
    light_around = layout.everything & ~symbol
    for step in (1, stride):
        found, counted = _finder_like(symbol, light_around, step)
        if found:
            score += _n3_score(found, counted, step, stride)
    percent = float(symbol.bit_count()) / (layout.size ** 2)
    score += 10 * int(abs(percent * 100 - 50) / 5)
    return score


# -- the symbol and its drawing -------------------------------------------------------------


class Symbol:
    """A QR code as rows of bits (bit ``c`` of ``rows[r]`` is the module in column ``c``)."""

    def __init__(self, size, rows, version, error, mask):
        self.size, self.rows = size, rows
        self.version, self.error, self.mask = version, error, mask

    def matrix(self) -> tuple:
        """Rows of 0/1 like ``segno.QRCode.matrix``."""
        return tuple(bytearray((row >> c) & 1 for c in range(self.size)) for row in self.rows)

    def svg_data_uri(self, scale=4, border=4) -> str:
        """A small SVG as a ``data:`` URI with only the characters a data URI needs
        escaped: one horizontal stroke per run of dark modules, eight modules at a time
        (a run crossing a multiple of eight is two strokes end to end), so each row is
        a join of ready-made pieces."""
        side = self.size + 2 * border
        width = (self.size + 7) // 8
        path = []
        for row_number, row in enumerate(self.rows):
            if row:
                path.append(f"M{border} {row_number + border + 0.5:g}")
                path.extend(map(_EIGHT.__getitem__,
                                row.to_bytes(width, "little").rstrip(b"\0")))
        return ("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' "
                f"width='{side * scale}' height='{side * scale}' viewBox='0 0 {side} {side}'"
                "%3E%3Cpath stroke='%23000' d='" + "".join(path) + "'/%3E%3C/svg%3E")


def _eight(byte: int) -> str:
    """The path piece for eight modules (bit i: the module i places right of the pen),
    leaving the pen eight modules on."""
    piece, pen, column = [], 0, 0
    while column < 8:
        if byte >> column & 1:
            start = column
            while column < 8 and byte >> column & 1:
                column += 1
            if start > pen:
                piece.append(f"m{start - pen} 0")
            piece.append(f"h{column - start}")
            pen = column
        else:
            column += 1
    if pen < 8:
        piece.append(f"m{8 - pen} 0")
    return "".join(piece)


_EIGHT = [_eight(byte) for byte in range(256)]
"""A table of the 256 pieces: a property of the drawing, not of any code."""


def make(text: str, error: str = "M") -> Symbol:
    """The QR code of ``text`` (UTF-8, byte mode), as ``segno.make(text, error=...,
    micro=False)`` makes it for text that is not all digits or upper-case letters."""
    data = text.encode("utf-8")
    version, level, count_bits = _version_and_level(len(data), ERROR_LEVELS[error])
    layout = _layout(version)
    codewords = _codewords(data, version, level, count_bits)
    bits = format(int.from_bytes(codewords, "big"), f"0{len(codewords) * 8}b")
    bits = bits[:layout.data_modules].ljust(layout.data_modules, "0") + "0"
    placed = int("".join(map(bits.__getitem__, layout.picks)), 2)
    best = None
    for mask, pattern in enumerate(layout.masks):
        symbol = layout.function | (placed ^ pattern)
        score = _penalty(symbol, layout)
        if best is None or score < best[0]:
            best = (score, mask, symbol)
    _score, mask, symbol = best
    symbol |= layout.dark_module | layout.version_bits | layout.format_bits(level, mask)
    full = (1 << layout.size) - 1
    rows = [(symbol >> ((r + PAD) * layout.stride)) & full for r in range(layout.size)]
    return Symbol(layout.size, rows, version, level, mask)
