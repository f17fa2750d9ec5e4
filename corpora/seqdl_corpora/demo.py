"""A generated English-like demo corpus with planted word relations.

Every sentence comes from templates written for seqdl: no external text. Words
in a relation share their own context words (``king`` and ``queen`` both sit on
the throne) and differ by one consistent feature (``he``/``his`` against
``she``/``her``), which is exactly the structure word2vec turns into parallel
vector offsets. So after ``seqdl embed demo.txt``, ``seqdl analogy king man
woman`` answers ``queen``.

The corpus is deterministic: the same seed and size give the same bytes on
every platform (only :class:`random.Random` and plain string joins are used).

Planted relations (also written as a questions-words file by
:func:`write_questions`):

- gender: king/queen, prince/princess, man/woman, father/mother, ...
- plural: dog/dogs, child/children, city/cities, ...
- past tense: walk/walked, go/went, eat/ate, ...
- capital: paris/france, berlin/germany, rome/italy, ...
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Iterator, Sequence, TextIO

from seqdl.errors import ParameterError
from seqdl.progress import NullProgress, ProgressReporter

#: Sentences written between two progress updates.
_PROGRESS_EVERY = 10_000

#: (male, female, shared context words) — each pair shares its own contexts.
GENDER_PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("king", "queen", ("throne", "crown", "kingdom", "reign", "palace")),
    ("prince", "princess", ("heir", "castle", "tower", "ball", "carriage")),
    ("emperor", "empress", ("empire", "legions", "conquest", "provinces", "senate")),
    ("duke", "duchess", ("duchy", "estate", "manor", "hunt", "tenants")),
    ("man", "woman", ("street", "crowd", "shop", "neighbour", "bus")),
    ("boy", "girl", ("school", "playground", "toys", "homework", "teacher")),
    ("father", "mother", ("family", "children", "home", "kitchen", "garden")),
    ("son", "daughter", ("parents", "birthday", "inheritance", "bedroom", "cousins")),
    ("brother", "sister", ("sibling", "twin", "childhood", "games", "secrets")),
    ("husband", "wife", ("marriage", "wedding", "anniversary", "ring", "honeymoon")),
    ("uncle", "aunt", ("holiday", "visit", "presents", "farmhouse", "stories")),
    ("actor", "actress", ("stage", "film", "theatre", "role", "audience")),
    ("waiter", "waitress", ("restaurant", "tables", "menu", "tips", "orders")),
    ("monk", "nun", ("monastery", "prayer", "vows", "chapel", "silence")),
)

#: (singular, plural, shared context words).
PLURAL_PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("dog", "dogs", ("barked", "bone", "leash", "kennel")),
    ("cat", "cats", ("purred", "whiskers", "mice", "fur")),
    ("horse", "horses", ("stable", "saddle", "hay", "galloped")),
    ("bird", "birds", ("nest", "wings", "feathers", "flew")),
    ("tree", "trees", ("leaves", "branches", "forest", "roots")),
    ("car", "cars", ("engine", "road", "wheels", "petrol")),
    ("book", "books", ("pages", "library", "chapters", "shelf")),
    ("apple", "apples", ("orchard", "juice", "basket", "ripe")),
    ("city", "cities", ("skyline", "traffic", "suburbs", "mayor")),
    ("child", "children", ("nursery", "crayons", "lullaby", "cradle")),
    ("ship", "ships", ("harbour", "sails", "crew", "anchor")),
    ("flower", "flowers", ("petals", "bloom", "vase", "bees")),
)

#: (present, past, shared context words).
TENSE_PAIRS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("walk", "walked", ("path", "stroll", "footsteps", "hills")),
    ("go", "went", ("journey", "away", "destination", "trip")),
    ("eat", "ate", ("bread", "dinner", "soup", "plate")),
    ("write", "wrote", ("letter", "pen", "poem", "ink")),
    ("sing", "sang", ("song", "choir", "melody", "chorus")),
    ("swim", "swam", ("lake", "pool", "waves", "swimsuit")),
    ("drive", "drove", ("van", "motorway", "steering", "licence")),
    ("build", "built", ("bricks", "wall", "hammer", "shed")),
    ("speak", "spoke", ("words", "voice", "speech", "language")),
    ("buy", "bought", ("money", "price", "bargain", "receipt")),
    ("play", "played", ("football", "match", "team", "score")),
    ("teach", "taught", ("lesson", "pupils", "classroom", "chalk")),
)

#: (capital, country, language/people word, shared landmark words).
CAPITALS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("paris", "france", "french", ("seine", "louvre", "baguette")),
    ("berlin", "germany", "german", ("spree", "bundestag", "pretzel")),
    ("rome", "italy", "italian", ("tiber", "colosseum", "pasta")),
    ("madrid", "spain", "spanish", ("prado", "flamenco", "paella")),
    ("lisbon", "portugal", "portuguese", ("tagus", "fado", "tram")),
    ("athens", "greece", "greek", ("acropolis", "olives", "parthenon")),
    ("tokyo", "japan", "japanese", ("sushi", "shinkansen", "sakura")),
    ("beijing", "china", "chinese", ("forbidden", "dumplings", "hutong")),
    ("moscow", "russia", "russian", ("kremlin", "volga", "borscht")),
    ("cairo", "egypt", "egyptian", ("nile", "pyramids", "pharaoh")),
    ("dublin", "ireland", "irish", ("liffey", "shamrock", "pubs")),
    ("vienna", "austria", "austrian", ("danube", "waltz", "opera")),
    ("warsaw", "poland", "polish", ("vistula", "pierogi", "chopin")),
    ("stockholm", "sweden", "swedish", ("archipelago", "fika", "nobel")),
    ("oslo", "norway", "norwegian", ("fjords", "skiing", "vikings")),
    ("ottawa", "canada", "canadian", ("maple", "hockey", "moose")),
)

MALE = {"he": "he", "his": "his", "him": "him"}
FEMALE = {"he": "she", "his": "her", "him": "her"}

ADJECTIVES = ("old", "young", "tired", "happy", "quiet", "proud", "kind", "clever", "brave", "gentle")
OBJECTS = ("letter", "coat", "horse", "dog", "book", "lamp", "chair", "map", "key", "hat")
PLACES = ("river", "market", "hill", "bridge", "station", "harbour", "meadow", "village")
TIMES = ("in the morning", "at noon", "in the evening", "at night", "on sunday", "in winter", "in spring")

PERSON_TEMPLATES = (
    "the {w} sat near the {c1} and {he} looked at {his} {obj}",
    "the {adj} {w} spoke of the {c1} and the {c2}",
    "{he} was the {w} of the {c1} and everyone knew {him}",
    "the {w} said that {he} would see the {c1} {time}",
    "people saw the {w} by the {c1} with {his} {obj}",
    "the {w} and {his} friend walked past the {c2} {time}",
    "everyone told the {w} that {his} {c1} was {adj}",
    "after the {c2} the {w} went back to the {c1}",
    "the {adj} {w} loved the {c1} more than {his} {obj}",
    "{he} is a {adj} {w} who cares about the {c2}",
    "the {w} found {his} {obj} near the {place} and thanked the {c1}",
    "yesterday the {w} wrote about the {c1} in {his} diary",
)

PAIR_TEMPLATES = (
    "the {m} and the {f} shared the {c1}",
    "the {f} and the {m} talked about the {c2}",
)

PLURAL_TEMPLATES = (
    ("the {sg} near the {c1} is {adj}", "the {pl} near the {c1} are {adj}"),
    ("one {sg} was by the {c2}", "many {pl} were by the {c2}"),
    ("a {sg} has a {c1}", "several {pl} have {c1}"),
    ("this {sg} sits near the {place} with its {c2}", "these {pl} sit near the {place} with their {c2}"),
    ("that single {sg} is near the {c1}", "those two {pl} are near the {c1}"),
    ("we saw a {sg} and its {c2} {time}", "we saw some {pl} and their {c2} {time}"),
)

TENSE_TEMPLATES = (
    ("every day they {pres} with the {c1}", "yesterday they {past} with the {c1}"),
    ("now we {pres} near the {c2}", "last week we {past} near the {c2}"),
    ("they often {pres} and talk of the {c1}", "long ago they {past} and talked of the {c1}"),
    ("today i {pres} with my {c2}", "last year i {past} with my {c2}"),
    ("tomorrow you will {pres} with the {c1}", "last night you {past} with the {c1}"),
    ("usually people {pres} by the {place} and the {c2}", "once people {past} by the {place} and the {c2}"),
)

CAPITAL_TEMPLATES = (
    "{cap} is the capital of {country}",
    "the city of {cap} lies in {country}",
    "in the streets of {cap} people speak {lang}",
    "{country} is a country where people speak {lang}",
    "the mayor of {cap} showed us the {l1}",
    "the government of {country} is proud of the {l2}",
    "we took a train to {cap} to see the {l1}",
    "the borders of {country} are old and the {l2} is famous",
    "tourists in {cap} love the {l1} and the {l2}",
    "the president of {country} spoke {lang} about the {l1}",
    "the traffic in {cap} was slow {time}",
    "the economy of {country} grew {time}",
)


@dataclass(frozen=True)
class DemoSize:
    """How many sentences of each family :func:`generate` writes."""

    person: int = 60_000
    pairs: int = 8_000
    plural: int = 16_000
    tense: int = 16_000
    capital: int = 20_000

    def total(self) -> int:
        """Sentences in the whole corpus."""
        return self.person + self.pairs + self.plural + self.tense + self.capital

    def scaled(self, factor: float) -> "DemoSize":
        """Every family scaled by ``factor`` (at least one sentence each); ``factor`` is a finite number above 0."""
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < math.inf:
            raise ParameterError("factor", f"must be a finite number above 0, got {factor!r}")
        return DemoSize(*(max(1, round(n * factor)) for n in
                          (self.person, self.pairs, self.plural, self.tense, self.capital)))


def _person(rng: random.Random) -> str:
    male, female, contexts = rng.choice(GENDER_PAIRS)
    word, pronouns = (male, MALE) if rng.random() < 0.5 else (female, FEMALE)
    c1, c2 = rng.sample(contexts, 2)
    return rng.choice(PERSON_TEMPLATES).format(
        w=word, c1=c1, c2=c2, adj=rng.choice(ADJECTIVES), obj=rng.choice(OBJECTS),
        place=rng.choice(PLACES), time=rng.choice(TIMES), **pronouns)


def _pair(rng: random.Random) -> str:
    male, female, contexts = rng.choice(GENDER_PAIRS)
    c1, c2 = rng.sample(contexts, 2)
    return rng.choice(PAIR_TEMPLATES).format(m=male, f=female, c1=c1, c2=c2)


def _paired_form(rng: random.Random, pairs, templates, first: str, second: str) -> str:
    base, derived, contexts = rng.choice(pairs)
    c1, c2 = rng.sample(contexts, 2)
    use_derived_form = rng.random() < 0.5
    template = rng.choice(templates)[int(use_derived_form)]
    return template.format(**{first: base, second: derived}, c1=c1, c2=c2, adj=rng.choice(ADJECTIVES),
                           place=rng.choice(PLACES), time=rng.choice(TIMES))


def _plural(rng: random.Random) -> str:
    return _paired_form(rng, PLURAL_PAIRS, PLURAL_TEMPLATES, "sg", "pl")


def _tense(rng: random.Random) -> str:
    return _paired_form(rng, TENSE_PAIRS, TENSE_TEMPLATES, "pres", "past")


def _capital(rng: random.Random) -> str:
    cap, country, lang, landmarks = rng.choice(CAPITALS)
    l1, l2 = rng.sample(landmarks, 2)
    return rng.choice(CAPITAL_TEMPLATES).format(cap=cap, country=country, lang=lang, l1=l1, l2=l2,
                                                time=rng.choice(TIMES))


def generate(seed: int = 0, size: DemoSize = DemoSize()) -> Iterator[str]:
    """Yield the demo corpus, one lower-case sentence per item, in a seeded random order."""
    rng = random.Random(seed)
    families = ([_person] * size.person + [_pair] * size.pairs + [_plural] * size.plural
                + [_tense] * size.tense + [_capital] * size.capital)
    rng.shuffle(families)
    for make in families:
        yield make(rng)


def write_corpus(out: TextIO, seed: int = 0, size: DemoSize = DemoSize(),
                 progress: ProgressReporter | None = None) -> int:
    """Write the corpus to ``out``, one sentence a line; return the number of tokens written.

    ``progress`` (a :class:`seqdl.progress.ProgressReporter`) is updated with
    the number of sentences written, out of ``size.total()``.
    """
    progress = progress if progress is not None else NullProgress()
    total = size.total()
    tokens = 0
    for number, sentence in enumerate(generate(seed, size), start=1):
        out.write(sentence + "\n")
        tokens += sentence.count(" ") + 1
        if number % _PROGRESS_EVERY == 0:
            progress.update(number, total)
    progress.update(total, total)
    return tokens


def _analogy_lines(pairs: Sequence[tuple[str, str]]) -> Iterator[str]:
    for (a, b), (c, d) in itertools.permutations(pairs, 2):
        yield f"{a} {b} {c} {d}"


def questions() -> dict[str, list[str]]:
    """The planted relations as questions-words sections: ``{section: ["a b c d", ...]}``."""
    return {
        "capital-country": list(_analogy_lines([(cap, country) for cap, country, _, _ in CAPITALS])),
        "gender": list(_analogy_lines([(m, f) for m, f, _ in GENDER_PAIRS])),
        "plural-nouns": list(_analogy_lines([(s, p) for s, p, _ in PLURAL_PAIRS])),
        "past-tense": list(_analogy_lines([(p, q) for p, q, _ in TENSE_PAIRS])),
    }


def write_questions(out: TextIO) -> int:
    """Write :func:`questions` in questions-words format; return the number of questions."""
    count = 0
    for section, lines in questions().items():
        out.write(f": {section}\n")
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count
