"""Student text made safe to store and print (issue #8): once where it enters, idempotent."""

from __future__ import annotations

import json

import pytest

from dlhw.autograder.wire.text import clean


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("plain text, tabs\tand\nnewlines", "plain text, tabs\tand\nnewlines"),
        ("windows\r\nlines", "windows\nlines"),
        ("\x1b[2J\x1b[HTOTAL 31/31", "\\x1b[2J\\x1b[HTOTAL 31/31"),
        ("overwrite\rTOTAL", "overwrite\\x0dTOTAL"),
        (
            "back\x08\x08space \x00 nul \x7f del \x9b csi",
            "back\\x08\\x08space \\x00 nul \\x7f del \\x9b csi",
        ),
        (
            "abc\u202edcba \u2066iso\u2069 zero\u200bwidth",
            "abc\\u202edcba \\u2066iso\\u2069 zero\\u200bwidth",
        ),
        (
            "soft\xadhyphen \u061cmark \u180esep \u206einv \ufff9ann\ufffb tag\U000e0041",
            "soft\\xadhyphen \\u061cmark \\u180esep \\u206einv \\ufff9ann\\ufffb tag\\U000e0041",
        ),
        (
            "no-break\xa0and ideographic\u3000spaces stay",
            "no-break\xa0and ideographic\u3000spaces stay",
        ),
        ("lone \ud800 surrogate \udfff", "lone \ufffd surrogate \ufffd"),
        ("accents é, CJK 字, emoji 🎉", "accents é, CJK 字, emoji 🎉"),
    ],
)
def test_clean(raw, shown):
    assert clean(raw) == shown
    assert clean(shown) == shown  # idempotent: cleaning twice changes nothing
    shown.encode("utf-8")  # never a UnicodeEncodeError
    json.loads(json.dumps(shown, ensure_ascii=False))
