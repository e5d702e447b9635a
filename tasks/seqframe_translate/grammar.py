"""A small seeded German -> English grammar: the translate task's built-in sample.

Every pair is generated, so the sample carries no third-party licence (``data/README.md``), yet
it has real structure to learn -- the parts of German that word-for-word translation gets wrong:

* **gender, number and case**: nouns are masculine, feminine or neuter; determiners and
  adjective endings agree with the noun in the nominative (subject), accusative (direct object)
  and dative (indirect object, after ``mit`` and place prepositions): *der alte Hund / den alten
  Hund / dem alten Hund*, *ein alter Hund / einen alten Hund*; weak endings after ``der``, mixed
  after ``ein``, strong on bare plurals (*alte Hunde*); dative plurals add ``-n`` (*den
  Kindern*); ``in dem`` contracts to ``im``. English has none of it (*the old dog*, *an old
  dog*; *a*/*an* by the next word's first letter).
* **agreement** of the verb with the subject's number (*sieht / sehen*, *sees / see*).
* **word order**: verb second after a fronted adverb (*Heute sieht der Mann ...* -> *Today the
  man sees ...*; *Oft ...* -> *The man often ...*); the perfect's participle at the end of the
  clause (*hat ... gelesen* -> *has read ...*, with *sein* for verbs of motion); verb-final
  subordinate clauses after ``dass`` and ``weil`` (*..., dass der Hund den Ball sieht* -> *...
  that the dog sees the ball*); ``nicht`` after a definite object against English *does not*
  (*Der Mann sieht den Hund nicht.* -> *The man does not see the dog.*); verb-first questions
  against *do*-support (*Sieht der Mann den Hund?* -> *Does the man see the dog?*).
* **selection**: only people read, animals and people eat food, vehicles are not carried.

:func:`generate` draws distinct pairs from a seed; every random choice goes through
``random.Random.random()``, whose sequence Python keeps stable across versions. Regenerate the
shipped files with ``python -m seqframe_translate.grammar tasks/seqframe_translate/data``.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

SEED = 0
SIZES = {"train": 600, "val": 100, "test": 100}


@dataclass(frozen=True)
class Noun:
    de: str
    de_pl: str
    gender: str  # m, f, n
    en: str
    en_pl: str
    kinds: frozenset[str]  # person, animal, thing, food, readable, vehicle


def _nouns(spec: str, kinds: str) -> list[Noun]:
    out = []
    for entry in spec.split(";"):
        de, de_pl, gender, en, en_pl, *extra = entry.split()
        out.append(Noun(de, de_pl, gender, en, en_pl, frozenset(kinds.split() + extra)))
    return out


PEOPLE = _nouns("Mann Männer m man men; Frau Frauen f woman women; Kind Kinder n child children;"
                "Mädchen Mädchen n girl girls; Lehrer Lehrer m teacher teachers;"
                "Arzt Ärzte m doctor doctors", "person animate")
ANIMALS = _nouns("Hund Hunde m dog dogs; Katze Katzen f cat cats; Pferd Pferde n horse horses;"
                 "Vogel Vögel m bird birds", "animal animate")
THINGS = _nouns("Ball Bälle m ball balls; Buch Bücher n book books readable;"
                "Zeitung Zeitungen f newspaper newspapers readable;"
                "Brief Briefe m letter letters readable; Apfel Äpfel m apple apples food;"
                "Kuchen Kuchen m cake cakes food; Banane Bananen f banana bananas food;"
                "Auto Autos n car cars vehicle; Fahrrad Fahrräder n bicycle bicycles vehicle;"
                "Tasche Taschen f bag bags; Blume Blumen f flower flowers;"
                "Bild Bilder n picture pictures", "thing")
NOUNS = PEOPLE + ANIMALS + THINGS
# (German preposition, English preposition, noun, gender, English noun) -- always definite
PLACES = [("in", "in", "Park", "m", "park"), ("in", "in", "Garten", "m", "garden"),
          ("in", "in", "Küche", "f", "kitchen"), ("in", "in", "Haus", "n", "house"),
          ("in", "at", "Schule", "f", "school"), ("auf", "on", "Straße", "f", "street")]
# adjective stem, English, the noun kinds it suits
ADJECTIVES = [("groß", "big", "any"), ("klein", "small", "any"), ("alt", "old", "any"),
              ("neu", "new", "thing"), ("rot", "red", "thing"),
              ("schwarz", "black", "animal thing"), ("weiß", "white", "animal thing"),
              ("jung", "young", "animate"), ("müde", "tired", "animate"),
              ("glücklich", "happy", "animate")]


def _suits(adjective: tuple[str, str, str], kinds: frozenset[str]) -> bool:
    wanted = set(adjective[2].split())
    return "any" in wanted or bool(wanted & kinds)


@dataclass(frozen=True)
class Verb:
    de: str  # 3rd person singular
    de_pl: str  # 3rd person plural = infinitive
    participle: str
    aux: str  # haben or sein
    en: str  # 3rd person singular
    en_pl: str  # base form
    en_participle: str
    subject: str  # noun kind of the subject
    obj: str | None  # noun kind of the accusative object; None: intransitive


def _verbs(spec: str) -> list[Verb]:
    out = []
    for entry in spec.split(";"):
        fields = [f.replace("_", " ") for f in entry.split()]
        out.append(Verb(*fields[:8], fields[8] if len(fields) > 8 else None))
    return out


INTRANSITIVE = _verbs(
    "schläft schlafen geschlafen haben sleeps sleep slept animate;"
    "läuft laufen gelaufen sein runs run run animate;"
    "spielt spielen gespielt haben plays play played animate;"
    "lacht lachen gelacht haben laughs laugh laughed person;"
    "wartet warten gewartet haben waits wait waited animate;"
    "singt singen gesungen haben sings sing sung person")
TRANSITIVE = _verbs(
    "sieht sehen gesehen haben sees see seen animate any;"
    "sucht suchen gesucht haben looks_for look_for looked_for animate any;"
    "kauft kaufen gekauft haben buys buy bought person thing;"
    "liest lesen gelesen haben reads read read person readable;"
    "isst essen gegessen haben eats eat eaten animate food;"
    "findet finden gefunden haben finds find found animate any;"
    "malt malen gemalt haben paints paint painted person any;"
    "mag mögen gemocht haben likes like liked animate any")
GIVING = _verbs("gibt geben gegeben haben gives give given person thing;"
                "zeigt zeigen gezeigt haben shows show shown person thing")
SAYING = [("sagt", "sagen", "says", "say"), ("weiß", "wissen", "knows", "know"),
          ("glaubt", "glauben", "believes", "believe")]
FRONT = [("Heute", "today", "front"), ("Jetzt", "now", "front"),
         ("Manchmal", "sometimes", "front"), ("Oft", "often", "middle")]

ARTICLES = {"def": {"nom": "der die das die", "acc": "den die das die", "dat": "dem der dem den"},
            "indef": {"nom": "ein eine ein -", "acc": "einen eine ein -",
                      "dat": "einem einer einem -"}}
ENDINGS = {"def": {"nom": "e e e en", "acc": "en e e en", "dat": "en en en en"},
           "indef": {"nom": "er e es e", "acc": "en e es e", "dat": "en en en en"}}
_SLOT = {"m": 0, "f": 1, "n": 2, "pl": 3}


class Grammar:
    """Draws the parts of a sentence from one seeded stream."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def pick(self, items):
        return items[int(self.rng.random() * len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def noun(self, kind: str) -> Noun:
        return self.pick([n for n in NOUNS if kind == "any" or kind in n.kinds])

    def phrase(self, noun: Noun, case: str, definite: bool | None = None,
               plural: bool | None = None) -> tuple[str, str, bool]:
        """A noun phrase in ``case``: (German, English, plural)."""
        plural = self.chance(0.3) if plural is None else plural
        kind = "def" if (self.chance(0.5) if definite is None else definite) else "indef"
        slot = _SLOT["pl" if plural else noun.gender]
        article = ARTICLES[kind][case].split()[slot]
        de_noun = noun.de_pl if plural else noun.de
        if plural and case == "dat" and not de_noun.endswith(("n", "s")):
            de_noun += "n"
        en_noun = noun.en_pl if plural else noun.en
        de_words, en_words = [] if article == "-" else [article], [en_noun]
        if self.chance(0.4):
            suits = [a for a in ADJECTIVES if _suits(a, noun.kinds)]
            stem, en_adj, _ = self.pick(suits)
            ending = ENDINGS[kind][case].split()[slot]
            de_words.append(stem + (ending[1:] if stem.endswith("e") else ending))
            en_words.insert(0, en_adj)
        if kind == "def":
            en_words.insert(0, "the")
        elif not plural:
            en_words.insert(0, "an" if en_words[0][0] in "aeiou" else "a")
        return " ".join([*de_words, de_noun]), " ".join(en_words), plural

    def place(self) -> tuple[str, str]:
        de_prep, en_prep, noun, gender, en = self.pick(PLACES)
        article = ARTICLES["def"]["dat"].split()[_SLOT[gender]]
        if de_prep == "in" and article == "dem":
            return f"im {noun}", f"{en_prep} the {en}"
        return f"{de_prep} {article} {noun}", f"{en_prep} the {en}"


@dataclass
class Clause:
    """One clause before word order: subject, verb (None: ``sein`` + adjective), the rest."""

    subject: tuple[str, str]
    plural: bool
    verb: Verb | None
    middle: list[tuple[str, str]]  # (German, English) in German order: dative, accusative, place
    perfect: bool = False

    def finite(self) -> tuple[str, str]:
        """The German and English finite verb: the verb itself, or the perfect's auxiliary."""
        n = int(self.plural)
        if self.verb is None:
            return ("ist", "sind")[n], ("is", "are")[n]
        if self.perfect:
            return {"haben": ("hat", "haben"), "sein": ("ist", "sind")}[self.verb.aux][n], \
                ("has", "have")[n]
        return (self.verb.de, self.verb.de_pl)[n], (self.verb.en, self.verb.en_pl)[n]

    def de_rest(self) -> list[str]:
        return [d for d, _ in self.middle] + ([self.verb.participle] if self.perfect else [])

    def en_rest(self) -> list[str]:
        head = [self.verb.en_participle] if self.perfect else []
        return head + [e for _, e in self.middle]


def _join(*parts: str | list[str]) -> str:
    words = [w for p in parts for w in ([p] if isinstance(p, str) else p) if w]
    return " ".join(words)


def _sentence(de: str, en: str, mark: str = ".") -> tuple[str, str]:
    return de[0].upper() + de[1:] + mark, en[0].upper() + en[1:] + mark


class SentenceMaker(Grammar):
    """Clauses, then the word orders of :func:`generate`'s sentence kinds."""

    def clause(self, simple: bool = False, perfect: bool = False) -> Clause:
        """A random clause; ``simple``: no dative, no place, a definite object (for nicht)."""
        roll = self.rng.random()
        if roll < 0.15 and not simple:
            noun = self.noun("animate")
            de_s, en_s, plural = self.phrase(noun, "nom")
            suits = [a for a in ADJECTIVES if _suits(a, noun.kinds)]
            stem, en_adj, _ = self.pick(suits)
            return Clause((de_s, en_s), plural, None, [(stem, en_adj)])
        pool = INTRANSITIVE if roll < 0.45 else (GIVING if roll < 0.6 and not simple
                                                 else TRANSITIVE)
        verb = self.pick(pool)
        de_s, en_s, plural = self.phrase(self.noun(verb.subject), "nom")
        middle = []
        if verb in GIVING:
            middle.append(self.phrase(self.noun("animate"), "dat")[:2])
        if verb.obj is not None:
            middle.append(self.phrase(self.noun(verb.obj), "acc", definite=simple or None)[:2])
        elif not simple and self.chance(0.25):
            de, en, _ = self.phrase(self.noun("animate"), "dat")
            middle.append((f"mit {de}", f"with {en}"))
        if not simple and self.chance(0.35):
            middle.append(self.place())
        return Clause((de_s, en_s), plural, verb, middle, perfect and not simple)

    def statement(self) -> tuple[str, str]:
        c = self.clause(perfect=self.chance(0.3))
        de_v, en_v = c.finite()
        return _sentence(_join(c.subject[0], de_v, c.de_rest()),
                         _join(c.subject[1], en_v, c.en_rest()))

    def fronted(self) -> tuple[str, str]:
        """Verb second after an adverb; English keeps subject-verb order."""
        c = self.clause(perfect=self.chance(0.3))
        adverb, en_adverb, where = self.pick(FRONT)
        de_v, en_v = c.finite()
        de = _join(adverb, de_v, c.subject[0], c.de_rest())
        if where == "front":
            return _sentence(de, _join(en_adverb, c.subject[1], en_v, c.en_rest()))
        if c.verb is None:  # "is often tired"
            return _sentence(de, _join(c.subject[1], en_v, en_adverb, c.en_rest()))
        return _sentence(de, _join(c.subject[1], en_adverb, en_v, c.en_rest()))

    def subordinate(self) -> tuple[str, str]:
        """A main clause and a verb-final ``dass`` or ``weil`` clause."""
        inner = self.clause(perfect=self.chance(0.3))
        de_v, en_v = inner.finite()
        de_sub = _join(inner.subject[0], inner.de_rest(), de_v)
        en_sub = _join(inner.subject[1], en_v, inner.en_rest())
        if self.chance(0.5):
            de_s, en_s, plural = self.phrase(self.noun("person"), "nom")
            says = self.pick(SAYING)
            return _sentence(f"{de_s} {says[int(plural)]}, dass {de_sub}",
                             f"{en_s} {says[2 + int(plural)]} that {en_sub}")
        verb = self.pick(INTRANSITIVE)
        de_s, en_s, plural = self.phrase(self.noun(verb.subject), "nom")
        de_main = f"{de_s} {(verb.de, verb.de_pl)[int(plural)]}"
        en_main = f"{en_s} {(verb.en, verb.en_pl)[int(plural)]}"
        return _sentence(f"{de_main}, weil {de_sub}", f"{en_main} because {en_sub}")

    def negated(self) -> tuple[str, str]:
        """``nicht`` after a definite object (or the verb) against English *does not*."""
        c = self.clause(simple=True)
        de_v, en_v = c.finite()
        if c.verb is None:
            return _sentence(_join(c.subject[0], de_v, "nicht", c.de_rest()),
                             _join(c.subject[1], en_v, "not", c.en_rest()))
        do = ("does", "do")[int(c.plural)]
        return _sentence(_join(c.subject[0], de_v, c.de_rest(), "nicht"),
                         _join(c.subject[1], do, "not", c.verb.en_pl, c.en_rest()))

    def question(self) -> tuple[str, str]:
        """Verb first against English *do*-support (or an inverted *is*)."""
        c = self.clause()
        de_v, en_v = c.finite()
        de = _join(de_v, c.subject[0], c.de_rest())
        if c.verb is None:
            return _sentence(de, _join(en_v, c.subject[1], c.en_rest()), "?")
        do = ("does", "do")[int(c.plural)]
        return _sentence(de, _join(do, c.subject[1], c.verb.en_pl, c.en_rest()), "?")

    def sentence(self) -> tuple[str, str]:
        roll = self.rng.random()
        for share, make in ((0.4, self.statement), (0.6, self.fronted),
                            (0.78, self.subordinate), (0.9, self.negated)):
            if roll < share:
                return make()
        return self.question()


def generate(seed: int = SEED, sizes: dict[str, int] | None = None) -> dict[str, list]:
    """Distinct (German, English) pairs for each split, drawn from one seeded stream.

    Returns:
        ``{"train": [(de, en), ...], "val": [...], "test": [...]}``; no German sentence occurs
        twice anywhere, so val and test never repeat a training sentence.
    """
    sizes = dict(SIZES if sizes is None else sizes)
    maker, seen, out = SentenceMaker(seed), set(), {}
    for split, count in sizes.items():
        pairs: list[tuple[str, str]] = []
        while len(pairs) < count:
            pair = maker.sentence()
            if pair[0] not in seen:
                seen.add(pair[0])
                pairs.append(pair)
        out[split] = pairs
    return out


def write(folder: str | Path, seed: int = SEED, sizes: dict[str, int] | None = None) -> list[Path]:
    """Write ``{split}.de`` and ``{split}.en`` for every split of :func:`generate` into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, pairs in generate(seed, sizes).items():
        for index, lang in enumerate(("de", "en")):
            path = folder / f"{split}.{lang}"
            path.write_text("".join(p[index] + "\n" for p in pairs), encoding="utf-8")
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the generated German-English sample.")
    parser.add_argument("folder", help="where to write {train,val,test}.{de,en}")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in write(args.folder, args.seed):
        print(path)


if __name__ == "__main__":
    main()
