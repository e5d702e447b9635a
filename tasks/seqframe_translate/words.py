"""A rule-based word tokenizer and its detokenizer, in the spirit of the Moses scripts.

Works offline with no model and no language resources beyond a few abbreviations. One sentence
is tokenised in five steps:

1. **Normalise**: Unicode NFC (so ``a`` + combining diaeresis becomes ``ä``), every run of
   whitespace (tabs, non-breaking spaces) becomes one space, the ends are stripped.
2. **Cut** each whitespace-separated chunk with one regular expression, tried in order:

   * a *word*: letters, digits and ``_`` joined by internal hyphens, apostrophes, periods or
     ``&`` (``e-mail``, ``don't``, ``z.B``, ``3.5``, ``R&B``) or by commas between digits
     (``1,000``), keeping a trailing hyphen (German ``Ein- und Ausgang``);
   * a run of two or more periods (``...``) or hyphens (``--``);
   * any other single character: punctuation and symbols stand alone (``(``, ``"``, ``,``).
3. **Abbreviations**: a period cut off after a word is joined back to it when the word has an
   internal period (``z.B.``, ``U.S.``), is one letter (``J.``), or is in the language's short
   list of non-breaking prefixes (:data:`NONBREAKING`: ``Dr.``, ``Nr.``, ``ca.``...). The
   period that ends the sentence is always a token of its own.
4. **Clitics**: English splits before an apostrophe inside a word (``don't`` -> ``don 't``,
   ``man's`` -> ``man 's``, as Moses does); French and Italian split after it (``l'homme`` ->
   ``l' homme``); other languages keep such words whole.
5. **Lowercase** (optional), last, so ``Dr.`` was still recognised.

:func:`detokenize` reverses steps 2-4: tokens are joined by single spaces except that closing
punctuation (``. , ; : ! ? % ) ] }``, ellipses) attaches to the token before it, opening brackets
to the token after them, quotes alternate between opening and closing (``"``, ``'``; ``„ “``
German-style, ``“ ”`` English-style, ``« »``), and clitics re-attach. Lowercasing cannot be
undone. For typical sentences ``detokenize(tokenize(s)) == s`` (whitespace-normalised);
``tests/tasks/translate/test_translate_words.py`` measures how often on real text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Abbreviations whose period never ends a sentence (lowercase, without the period).
NONBREAKING: dict[str, frozenset[str]] = {
    "en": frozenset("mr mrs ms dr prof st jr sr vs etc inc ltd co mt ft approx dept".split()),
    "de": frozenset("dr prof nr str ca bzw usw evtl ggf hr fr st vgl inkl zb sog abs".split()),
    "fr": frozenset("m mme mlle dr prof st etc".split()),
}
_SPLIT_BEFORE_APOSTROPHE = ("en",)
_SPLIT_AFTER_APOSTROPHE = ("fr", "it", "ca")

_TOKEN = re.compile(
    r"""\w+(?:(?:[-'’.&]|(?<=\d),(?=\d))\w+)*(?:-(?!\w))?   # a word
      | \.{2,} | -{2,}                                      # runs of periods or hyphens
      | \S                                                  # any other character alone
    """,
    re.VERBOSE,
)
_WORD = re.compile(r"\w")
_SPACES = re.compile(r"\s+")

_ATTACH_LEFT = frozenset(". , ; : ! ? % ) ] } ... … »".split())  # no space before these
_ATTACH_RIGHT = frozenset("( [ { ¿ ¡ «".split())  # no space after these
_CLITIC_LEFT = re.compile(r"^['’]\w")  # English "'s", "'t", "'re": glued to the word before
_CLITIC_RIGHT = re.compile(r"\w['’]$")  # French "l'", "qu'": glued to the word after


def normalise(text: str) -> str:
    """NFC, whitespace runs to one space, ends stripped (step 1 of the module docstring)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _is_abbreviation(word: str, lang: str) -> bool:
    if not _WORD.match(word):
        return False
    if "." in word or (len(word) == 1 and word.isalpha()):
        return True
    return word.lower() in NONBREAKING.get(lang, frozenset())


def _join_abbreviations(tokens: list[str], lang: str) -> list[str]:
    if "." not in tokens[:-1]:  # the common case: at most a final period
        return tokens
    out: list[str] = []
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        if token == "." and out and i != last and _is_abbreviation(out[-1], lang):
            out[-1] += "."
        else:
            out.append(token)
    return out


_BEFORE_APOSTROPHE = re.compile(r"(?<=\w)(?=['’]\w)")
_AFTER_APOSTROPHE = re.compile(r"(?<=\w['’])(?=\w)")


def _split_clitics(tokens: list[str], lang: str) -> list[str]:
    if lang in _SPLIT_BEFORE_APOSTROPHE:
        pattern = _BEFORE_APOSTROPHE
    elif lang in _SPLIT_AFTER_APOSTROPHE:
        pattern = _AFTER_APOSTROPHE
    else:
        return tokens
    return [piece for token in tokens for piece in
            (pattern.split(token) if "'" in token or "’" in token else (token,))]


def tokenize(text: str, lang: str = "", lowercase: bool = False) -> list[str]:
    """Cut one sentence into word and punctuation tokens (see the module docstring).

    Args:
        text: raw text of one sentence.
        lang: ISO 639-1 code (``en``, ``de``...): selects the abbreviations and clitic rules;
            any other code gets the language-neutral rules.
        lowercase: lowercase the tokens (after the abbreviation rule).

    Returns:
        The tokens; empty for a blank sentence.
    """
    tokens = _TOKEN.findall(normalise(text))
    tokens = _split_clitics(_join_abbreviations(tokens, lang), lang)
    return [t.lower() for t in tokens] if lowercase else tokens


@dataclass
class _Quotes:
    """Which quotation marks are open, so the next one of a kind closes them."""

    open: list[str]

    def opens(self, token: str) -> bool:
        """True when ``token`` opens a quotation (no space after), False when it closes one."""
        if token in ('"', "'"):
            closing = bool(self.open) and self.open[-1] == token
        elif token in ("„", "‚"):
            closing = False
        elif token == "“":  # German closing after „, English opening otherwise
            closing = bool(self.open) and self.open[-1] == "„"
        elif token == "‘":
            closing = bool(self.open) and self.open[-1] == "‚"
        else:  # ” ’
            closing = True
        if closing:
            if self.open:
                self.open.pop()
        else:
            self.open.append(token)
        return not closing


_QUOTES = frozenset('" \' „ “ ” ‚ ‘ ’'.split())


def detokenize(tokens: list[str], lang: str = "") -> str:
    """Join tokens into text, undoing :func:`tokenize`'s spacing (not its lowercasing)."""
    quotes = _Quotes([])
    out: list[str] = []
    glue_next = True  # no space before the first token
    for token in tokens:
        glue = glue_next
        glue_next = False
        if token in _QUOTES:
            if quotes.opens(token):
                glue_next = True
            else:
                glue = True
        elif token in _ATTACH_LEFT or (lang in _SPLIT_BEFORE_APOSTROPHE
                                       and _CLITIC_LEFT.match(token)):
            glue = True
        if token in _ATTACH_RIGHT or (lang in _SPLIT_AFTER_APOSTROPHE
                                      and _CLITIC_RIGHT.search(token)):
            glue_next = True
        out.append(token if glue else " " + token)
    return "".join(out)
