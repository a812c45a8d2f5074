"""What text a record may hold, and how any text (a record's, a file name, a message) is made safe to show.

Record strings are valid, normalised Unicode (NFC) without lone surrogates, control characters (tab and
newline aside) or invisible format characters: bidi overrides and zero-width joiners make one name look
like another, and a lone surrogate cannot even be encoded for a page. Names that identify an entry (method,
benchmark, profile, constructor arguments) are identifiers from a fixed ASCII set, so a Cyrillic "о" can
never pass for a Latin "o"; `skeleton` finds the ASCII look-alikes that remain ("pr0tonet", "Proto_Net").
"""

from __future__ import annotations

import re
import unicodedata

# Unicode categories refused in record text: Cc control, Cf format (bidi, zero-width, BOM), Cs surrogate,
# Co private use, Cn unassigned.
REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
ALLOWED_CONTROLS = {"\n", "\t"}
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,99}")
ARGUMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
# A constructor argument's string value: a choice ("contrastive"), a record's file name, a module path.
TOKEN = re.compile(r"[A-Za-z0-9_.:/+=@,\- ]{0,300}")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TextError(ValueError):
    """Text a record may not hold; the message names the character by its code point, never prints it."""


def refused_character(text: str) -> str | None:
    """The first character of `text` a record may not hold, described ("U+202E RIGHT-TO-LEFT OVERRIDE"),
    or None."""
    for char in text:
        if char not in ALLOWED_CONTROLS and unicodedata.category(char) in REFUSED_CATEGORIES:
            return f"U+{ord(char):04X} {unicodedata.name(char, 'a control, format or surrogate character')}"
    return None


def check(text: str) -> None:
    """Raises TextError when `text` holds a refused character or is not in Unicode normal form NFC."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return  # the common case, decided without looking at each character
    refused = refused_character(text)
    if refused:
        raise TextError(f"holds the invisible or invalid character {refused}; records hold plain text")
    if not unicodedata.is_normalized("NFC", text):
        raise TextError("is not in Unicode normal form NFC; normalise it (unicodedata.normalize('NFC', s))")


def check_name(text: str, pattern: re.Pattern = NAME) -> None:
    """Raises TextError unless `text` is an identifier of `pattern`'s ASCII set (NFKC-stable by
    construction)."""
    if not pattern.fullmatch(text):
        raise TextError(
            f"{printable(text)[:80]!r} is not a valid name: use ASCII letters, digits and "
            f"{_punctuation(pattern)} only, starting with a letter, at most 100 characters"
        )


def _punctuation(pattern: re.Pattern) -> str:
    return "'_', '.' and '-'" if pattern is NAME else "'_'"


# ASCII look-alikes folded together by `skeleton`.
_LOOKALIKES = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "$": "s", "3": "e"})


def skeleton(name: str) -> str:
    """What a name looks like: case, separators and ASCII look-alikes (0/o, 1/l/i, rn/m, vv/w) folded, so
    two names with one skeleton are confusable."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    folded = re.sub(r"[\s_.\-]+", "", folded).replace("rn", "m").replace("vv", "w")
    return folded.translate(_LOOKALIKES)


def printable(value: object) -> str:
    """Any text made safe to print or render: each refused character (including the lone surrogates that
    undecodable file names carry) replaced by its escape, e.g. `\\u202e`."""
    return "".join(
        char if char in ALLOWED_CONTROLS or unicodedata.category(char) not in REFUSED_CATEGORIES
        else char.encode("unicode_escape", "backslashreplace").decode("ascii")
        for char in str(value)
    )  # fmt: skip
