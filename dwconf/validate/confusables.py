"""Text that reads other than it is: a word mixing scripts (`customers-v3-accounts` with a
Cyrillic U+0430 for its second `a` is another map, and its address loses the letter)
and characters that reorder or hide text (bidirectional controls, zero-width spaces), which
let a reviewer see something else than what dwconf reads.

Every key and string value of every file is checked, and the rendered names of maps (a
template can make any character); text that is plain ASCII, nearly all of it, costs one
`str.isascii()`. Scripts are Unicode's (`confusable_homoglyphs`' tables): a word of letters
and digits may use one script besides the shared characters (digits, punctuation), or the
combinations Japanese, Chinese and Korean writing use (Unicode TR39's "highly restrictive"
level).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
from confusable_homoglyphs import categories

from dwconf.diagnostics import Diagnostic, error
from dwconf.load.project import Project
from dwconf.yaml import Document, YamlPath

SHARED = frozenset({"COMMON", "INHERITED"})
ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Bidirectional controls (the "Trojan Source" characters) and invisible ones. Joiners
# (U+200C, U+200D) are left alone: Persian, Indic scripts and emoji need them.
HIDDEN = {
    "\u061c": "ARABIC LETTER MARK",
    "\u200b": "ZERO WIDTH SPACE",
    "\u200e": "LEFT-TO-RIGHT MARK",
    "\u200f": "RIGHT-TO-LEFT MARK",
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2060": "WORD JOINER",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE",
}


def text(project: Project) -> Iterator[Diagnostic]:
    """DW1401/DW1402 over every file of the project, and the rendered map names."""
    for doc in _documents(project):
        if _ascii(doc.data):
            continue
        for path, value, key in _strings(doc.data, ()):
            yield from check(value, doc, path, key)
    for spec in project.maps():
        yield from check(spec.model.name, spec.doc, ("name",), False)


def check(value: str, doc: Document, path: YamlPath, key: bool) -> Iterator[Diagnostic]:
    """The problems of one key or string value."""
    if value.isascii():
        return
    what = "this key" if key else "this value"
    hidden = sorted({HIDDEN[c] for c in value if c in HIDDEN})
    if hidden:
        yield error(
            "DW1402",
            f"{what} holds characters that reorder or hide text: {', '.join(hidden)}",
            doc.span(path, key=key),
            "delete them (an editor that shows invisible characters finds them)",
        )
    for word in words(value):
        scripts = mixed_scripts(word)
        if scripts:
            main, *others = scripts
            strays = [c for c in dict.fromkeys(word) if categories.alias(c) in others]
            named = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in strays[:3])
            yield error(
                "DW1401",
                f"{what} mixes scripts in the word '{_visible(word)}': {named}"
                + (" …" if len(strays) > 3 else "")
                + f" among {main.title()} letters",
                doc.span(path, key=key),
                "retype the word in one script: letters from another script only look alike",
            )


def mixed_scripts(word: str) -> list[str]:
    """The scripts `word` mixes, the one most of its letters are in first, when it mixes them
    in a way writing doesn't; else []."""
    if word.isascii():
        return []
    counts = Counter(categories.alias(c) for c in word)
    scripts = set(counts) - SHARED
    if len(scripts) < 2 or any(scripts <= allowed for allowed in ALLOWED_MIXES):
        return []
    return sorted(scripts, key=lambda s: (-counts[s], s))


def words(value: str) -> list[str]:
    """The runs of letters, marks, digits, `_` and invisible format characters: a mark or a
    joiner put inside a word doesn't split it in two for this check."""
    found, current = [], []
    for char in value:
        if unicodedata.category(char)[0] in "LMN" or unicodedata.category(char) in ("Cf", "Pc"):
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def _visible(word: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in word)


def _ascii(data: Any) -> bool:
    """Whether a document holds ASCII text only, found in one pass of orjson's C code (it
    writes other characters as they are)."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).isascii()
    except TypeError:  # a value orjson can't write: look at every string instead
        return False


def _documents(project: Project) -> Iterator[Document]:
    if project.settings_doc is not None:
        yield project.settings_doc
    for env in project.environments.values():
        yield env.doc
    for solution in project.solutions.values():
        if solution.doc is not None:
            yield solution.doc
        for spec in solution.maps:
            yield spec.doc


def _strings(data: Any, path: YamlPath) -> Iterator[tuple[YamlPath, str, bool]]:
    """(path, text, is a key) of every key and string value."""
    if isinstance(data, str):
        yield path, data, False
    elif isinstance(data, dict):
        for k, v in data.items():
            if isinstance(k, str):
                yield (*path, k), k, True
            yield from _strings(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _strings(v, (*path, i))
