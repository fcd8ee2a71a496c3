"""The language-model lab's grammar: a tiny English the lab's corpus is drawn from.

Every sentence is a list of lower-case words ending with ".", drawn from one
of four frames, each there for one passage of the diary's "Language models
work for reasons" section:

1. **Agreement** (Linzen, Dupoux & Goldberg 2016, "Assessing the ability of
   LSTMs to learn syntax-sensitive dependencies"): a head noun, sometimes a
   prepositional phrase with a second noun, then a verb that agrees with the
   *head*: "the key to the cabinets is old .", "the keys near the dog fall .".
   When the second noun's number differs from the head's it is an *agreement
   attractor*: the word right before the verb has the wrong number, so a model
   that looks only one word back (a bigram) or at the nearest noun gets it wrong.
2. **The diary's suitcase**: "john opens his suitcase and fills it with clothes .";
   with two people, "john and kate open their suitcase and fill it with clothes .".
   The verb after "and" agrees with a subject four words back.
3. **A world of objects with sizes** (`SIZES`): "does the ring fit in the
   box ? yes ." is answered from the sizes (never asked of the `UNASKED` pairs,
   the diary's trophy and suitcase among them); and "the trophy does not fit in
   the suitcase because it is too big ." comes with its referent spelled out
   ("... because the trophy is too big ." / "... because the suitcase is too
   small ."), so "it is too big" refers to the thing that does not fit.
4. **Tools** (the diary's N400 example, Kutas & Federmeier 2011): "he locked
   the door using his key .", each action with its one tool (`TOOLS`).
   "elephant" is in the vocabulary (an agreement noun) but never follows "using
   his", so "he locked the door using his elephant ." is grammatical in form and
   surprising in content.

Everything is drawn from `random.Random(seed)`: the same seed gives the same
corpus on every machine. No torch here: the grammar is plain Python.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BOS = "<s>"  # starts every sentence fed to a model; never predicted
PAD = "<pad>"  # fills a batch's short sentences; never predicted, never counted

# Frame 1: nouns (singular, plural) and verbs (agreeing with a singular, a plural subject).
NOUNS: tuple[tuple[str, str], ...] = (
    ("key", "keys"), ("cabinet", "cabinets"), ("door", "doors"), ("dog", "dogs"),
    ("elephant", "elephants"), ("boy", "boys"), ("girl", "girls"), ("table", "tables"),
)
PREPOSITIONS: tuple[str, ...] = ("to", "near", "behind")
VERBS: tuple[tuple[str, str], ...] = (("is", "are"), ("falls", "fall"), ("shines", "shine"))
ADJECTIVES: tuple[str, ...] = ("old", "new", "here")  # after is / are only

# Frame 2: people (name, pronoun, possessive), containers, the verbs after "and", contents.
PEOPLE: tuple[tuple[str, str, str], ...] = (
    ("john", "he", "his"), ("tom", "he", "his"), ("kate", "she", "her"), ("mary", "she", "her"),
)
CONTAINERS: tuple[str, ...] = ("suitcase", "bag", "box")
FILL_VERBS: tuple[tuple[str, str], ...] = (("fills", "fill"), ("packs", "pack"))
CONTENTS: tuple[str, ...] = ("clothes", "books", "toys")

# Frame 3: how big each object is (only the order matters). A trophy does not fit
# in a suitcase, as in the Winograd schema the diary quotes.
SIZES: dict[str, int] = {
    "coin": 1, "ring": 1, "book": 2, "ball": 2, "suitcase": 3, "box": 3, "trophy": 4, "lamp": 4,
}

# Pairs the yes/no question is never asked about, only stated ("the trophy does not fit
# in the suitcase ..."), so the lab can ask whether the model carries the answer over
# from one kind of sentence to the other.
UNASKED: frozenset[tuple[str, str]] = frozenset({
    ("trophy", "suitcase"), ("suitcase", "trophy"), ("coin", "lamp"), ("lamp", "coin"),
})

# Frame 4: (action, object, the tool it is done with).
TOOLS: tuple[tuple[str, str, str], ...] = (
    ("locked", "door", "key"), ("cut", "bread", "knife"), ("wrote", "letter", "pen"),
    ("painted", "wall", "brush"),
)

# How often each frame is drawn (agreement, suitcase, sizes, tools).
FRAME_WEIGHTS: tuple[float, ...] = (0.5, 0.15, 0.2, 0.15)


def singular(noun: str) -> bool | None:
    """True for a frame-1 singular noun, False for a plural one, None for any other word."""
    for sg, pl in NOUNS:
        if noun == sg:
            return True
        if noun == pl:
            return False
    return None


def _agreement(rng: random.Random, attractor: bool | None = None) -> list[str]:
    """the NOUN [PREP the NOUN2] VERB [ADJ] . — attractor=None: a PP half the time,
    its noun's number at random; True: a PP whose noun differs in number; False: no
    noun of the other number before the verb (no PP, or a PP of the same number)."""
    head_sg = rng.random() < 0.5
    head = rng.choice(NOUNS)[0 if head_sg else 1]
    words = ["the", head]
    if attractor is None:
        with_pp, pp_sg = rng.random() < 0.5, rng.random() < 0.5
    elif attractor:
        with_pp, pp_sg = True, not head_sg
    else:
        with_pp, pp_sg = rng.random() < 0.5, head_sg
    if with_pp:
        other = rng.choice([n for n in NOUNS if head not in n])
        words += [rng.choice(PREPOSITIONS), "the", other[0 if pp_sg else 1]]
    verb = rng.choice(VERBS)
    words.append(verb[0 if head_sg else 1])
    if verb[0] == "is":
        words.append(rng.choice(ADJECTIVES))
    return words + ["."]


def _suitcase(rng: random.Random) -> list[str]:
    first = rng.choice(PEOPLE)
    container, verb, content = rng.choice(CONTAINERS), rng.choice(FILL_VERBS), rng.choice(CONTENTS)
    if rng.random() < 0.5:
        subject, opens, possessive, fill = [first[0]], "opens", first[2], verb[0]
    else:
        second = rng.choice([p for p in PEOPLE if p != first])
        subject, opens, possessive, fill = [first[0], "and", second[0]], "open", "their", verb[1]
    return subject + [opens, possessive, container, "and", fill, "it", "with", content, "."]


def fits(thing: str, container: str) -> bool:
    """Whether `thing` fits in `container`: it must be strictly smaller."""
    return SIZES[thing] < SIZES[container]


def _sizes(rng: random.Random) -> list[str]:
    thing, container = rng.sample(sorted(SIZES), 2)
    while SIZES[thing] == SIZES[container]:
        thing, container = rng.sample(sorted(SIZES), 2)
    if rng.random() < 0.5 and (thing, container) not in UNASKED:
        return ["does", "the", thing, "fit", "in", "the", container, "?",
                "yes" if fits(thing, container) else "no", "."]
    if fits(thing, container):
        return ["the", thing, "fits", "in", "the", container, "."]
    reason = rng.choice([["it", "is", "too", "big"], ["the", thing, "is", "too", "big"],
                         ["the", container, "is", "too", "small"]])
    return ["the", thing, "does", "not", "fit", "in", "the", container, "because"] + reason + ["."]


def _tools(rng: random.Random) -> list[str]:
    _, pronoun, possessive = rng.choice(PEOPLE)
    action, thing, tool = rng.choice(TOOLS)
    return [pronoun, action, "the", thing, "using", possessive, tool, "."]


def sentence(rng: random.Random) -> list[str]:
    """One sentence from a frame drawn with FRAME_WEIGHTS."""
    frame = rng.choices((_agreement, _suitcase, _sizes, _tools), weights=FRAME_WEIGHTS)[0]
    return frame(rng)


def corpus(sentences: int, seed: int) -> list[list[str]]:
    """`sentences` sentences, the same for the same seed."""
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(sentences)]


def vocabulary() -> tuple[str, ...]:
    """Every word the grammar can write, BOS and PAD first; a word's index is its token id."""
    words: set[str] = {"the", ".", "and", "open", "opens", "their", "it", "with", "does", "fit",
                       "in", "?", "yes", "no", "fits", "not", "because", "is", "too", "big",
                       "small", "using"}
    words |= {w for pair in NOUNS + VERBS + FILL_VERBS for w in pair}
    words |= set(PREPOSITIONS) | set(ADJECTIVES) | set(CONTAINERS) | set(CONTENTS) | set(SIZES)
    words |= {w for person in PEOPLE for w in person} | {w for t in TOOLS for w in t}
    return (BOS, PAD) + tuple(sorted(words))


@dataclass(frozen=True)
class AgreementItem:
    """A sentence cut before its verb: does the model prefer `correct` over `wrong`?"""

    prefix: tuple[str, ...]  # "the key to the cabinets"
    correct: str  # "is"
    wrong: str  # "are"
    attractor: bool  # a noun of the other number stands between head and verb


def agreement_items(count: int, seed: int, attractor: bool,
                    exclude: set[tuple[str, ...]] | None = None) -> list[AgreementItem]:
    """`count` frame-1 sentences cut before their verb, with or without an attractor,
    each (prefix, verb) different, and none that begins a sentence in `exclude` (the
    training sentences: a model is tested on words it has not seen in that order).
    Fewer if the grammar runs out of them."""
    rng = random.Random(seed)
    seen = {tuple(s[:k]) for s in exclude or () for k in range(1, len(s) + 1)}
    items: list[AgreementItem] = []
    for _ in range(200 * count):
        if len(items) == count:
            break
        words = _agreement(rng, attractor)
        at = next(i for i, w in enumerate(words) if any(w in v for v in VERBS))
        if tuple(words[:at + 1]) in seen:
            continue
        seen.add(tuple(words[:at + 1]))
        pair = next(v for v in VERBS if words[at] in v)
        wrong = pair[1] if words[at] == pair[0] else pair[0]
        items.append(AgreementItem(tuple(words[:at]), words[at], wrong, attractor))
    return items
