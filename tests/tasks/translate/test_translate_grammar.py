"""The generated German-English sample: shipped files = generator output; German by hand."""

from __future__ import annotations

import pytest
from seqframe_translate import grammar
from seqframe_translate.grammar import GIVING, INTRANSITIVE, NOUNS, TRANSITIVE, Grammar
from seqframe_translate.sources import DATA_DIR


def test_shipped_files_are_the_generators_output(tmp_path):
    grammar.write(tmp_path)
    for split in ("train", "val", "test"):
        for lang in ("de", "en"):
            name = f"{split}.{lang}"
            assert (DATA_DIR / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_generation_is_seeded_and_never_repeats_a_sentence():
    first = grammar.generate(5, {"train": 50, "test": 20})
    assert first == grammar.generate(5, {"train": 50, "test": 20})
    assert first != grammar.generate(6, {"train": 50, "test": 20})
    german = [de for pairs in first.values() for de, _ in pairs]
    assert len(german) == len(set(german)) == 70


class Fixed(Grammar):
    """A grammar whose adjective choice is set by the test instead of drawn."""

    def __init__(self, adjective: str | None):
        super().__init__(0)
        self.adjective = adjective

    def chance(self, p: float) -> bool:
        return self.adjective is not None

    def pick(self, items):
        return next(item for item in items if item[0] == self.adjective)


NOUN = {n.de: n for n in NOUNS}


@pytest.mark.parametrize("noun, case, definite, plural, adjective, de, en", [
    ("Hund", "nom", True, False, "alt", "der alte Hund", "the old dog"),
    ("Hund", "acc", True, False, "alt", "den alten Hund", "the old dog"),
    ("Hund", "dat", True, False, "alt", "dem alten Hund", "the old dog"),
    ("Hund", "nom", False, False, "alt", "ein alter Hund", "an old dog"),
    ("Hund", "acc", False, False, "alt", "einen alten Hund", "an old dog"),
    ("Hund", "dat", False, False, "alt", "einem alten Hund", "an old dog"),
    ("Hund", "nom", False, True, "alt", "alte Hunde", "old dogs"),
    ("Hund", "dat", True, True, "alt", "den alten Hunden", "the old dogs"),
    ("Hund", "dat", False, True, "alt", "alten Hunden", "old dogs"),
    ("Katze", "acc", True, False, "klein", "die kleine Katze", "the small cat"),
    ("Katze", "dat", True, False, "klein", "der kleinen Katze", "the small cat"),
    ("Katze", "nom", False, False, "klein", "eine kleine Katze", "a small cat"),
    ("Katze", "dat", False, False, "klein", "einer kleinen Katze", "a small cat"),
    ("Pferd", "acc", False, False, "groß", "ein großes Pferd", "a big horse"),
    ("Pferd", "dat", True, False, "groß", "dem großen Pferd", "the big horse"),
    ("Pferd", "nom", True, True, "groß", "die großen Pferde", "the big horses"),
    ("Kind", "nom", False, False, "müde", "ein müdes Kind", "a tired child"),
    ("Mann", "acc", True, False, "müde", "den müden Mann", "the tired man"),
    ("Mann", "nom", False, False, "müde", "ein müder Mann", "a tired man"),
    ("Kind", "dat", True, True, None, "den Kindern", "the children"),
    ("Auto", "dat", True, True, None, "den Autos", "the cars"),
    ("Frau", "dat", True, True, None, "den Frauen", "the women"),
    ("Apfel", "nom", False, False, None, "ein Apfel", "an apple"),
    ("Vogel", "acc", False, True, None, "Vögel", "birds"),
])
def test_noun_phrases_agree_in_gender_number_and_case(noun, case, definite, plural, adjective,
                                                      de, en):
    got = Fixed(adjective).phrase(NOUN[noun], case, definite=definite, plural=plural)
    assert got == (de, en, plural)


FINITE = {form for verbs in (INTRANSITIVE, TRANSITIVE, GIVING) for v in verbs
          for form in (v.de, v.de_pl)} | {"hat", "haben", "ist", "sind"}


def shipped() -> list[tuple[str, str]]:
    pairs = []
    for split in ("train", "val", "test"):
        de = (DATA_DIR / f"{split}.de").read_text(encoding="utf-8").splitlines()
        en = (DATA_DIR / f"{split}.en").read_text(encoding="utf-8").splitlines()
        pairs += list(zip(de, en, strict=True))
    return pairs


def test_word_order_rules_hold_in_every_shipped_pair():
    kinds = dict.fromkeys(("subordinate", "question", "negated"), 0)
    for de, en in shipped():
        assert de[0].isupper() and en[0].isupper() and de[-1] == en[-1] and de[-1] in ".?"
        if ", dass " in de or ", weil " in de:  # verb-final: the finite verb closes the clause
            kinds["subordinate"] += 1
            assert de[:-1].split()[-1] in FINITE, de
            assert (" that " in en) == (", dass " in de) and (" because " in en) == (
                ", weil " in de), (de, en)
        if de.endswith("?"):  # verb first, against do-support or an inverted copula
            kinds["question"] += 1
            assert de.split()[0].lower() in FINITE, de
            assert en.split()[0] in ("Does", "Do", "Is", "Are"), en
        if " nicht" in de:
            kinds["negated"] += 1
            assert " not " in en, (de, en)
    assert min(kinds.values()) >= 50  # each construction is well represented in 800 pairs
