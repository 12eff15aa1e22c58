"""Text that comes from the student, made safe to store and to show.

Whatever the submission says (its printed output, exception messages, strings in its replies, the
first line of a cell) enters the trusted side as text that may hold lone surrogates (valid in a
JSON string, not encodable in UTF-8: they crash a `print` of results.json) and control or
formatting characters (ANSI escapes, carriage returns, backspaces, bidirectional overrides) that
rewrite what a terminal or a web page shows: a forged "TOTAL 31/31" line, say. `clean` is applied
once, where such text enters (protocol.py decodes every string with it; session.py cleans the
worker's output), and it is idempotent, so the CLI can apply it again to whatever it prints.

Kept: newlines, tabs and every printable character. Replaced: lone surrogates by U+FFFD, and
every other control or format character by a visible escape such as ``\\x1b`` or ``\\u202e``.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates, and the Unicode format
# characters that reorder or hide text: bidi marks, embeddings, overrides and isolates (U+061C
# too), zero-width characters and joiners, the soft hyphen, the Mongolian vowel separator, line
# and paragraph separators, invisible operators and deprecated format controls (U+2060-206F),
# the BOM, interlinear annotations (U+FFF9-FFFB) and the invisible tag characters (U+E0000-E007F).
# Not every non-printable character: a no-break or ideographic space stays as it is.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u180e\ud800-\udfff\u200b-\u200f"
    "\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: str) -> str:
    """`text` with lone surrogates replaced and control/format characters made visible.

    A Windows line ending (CRLF) becomes a plain newline first, so ordinary output keeps its
    lines; any other carriage return is shown as ``\\x0d``, since it lets a line overwrite what a
    terminal showed before it."""
    if text.isprintable() or not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text.replace("\r\n", "\n"))
