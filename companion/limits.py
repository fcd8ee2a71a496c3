"""Daily limits over the deck tree, as Anki's v3 scheduler keeps them.

Each deck has its preset's new and review limits (rslib/src/decks/limits.rs):
- what a deck has studied today counts its subdecks' answers too (Anki adds
  an answer to the card's deck and every parent, decks/stats.rs);
- unless "new cards ignore review limit" is on, each new card introduced
  today also spends one of the day's reviews, and the new limit never
  exceeds the reviews left (`RemainingLimits::new_for_normal_deck_v3`);
- studying a deck, its own limits cap the whole study and a subdeck gives
  cards only while its own limits, and every parent's up to the deck being
  studied, have room (`LimitTreeMap`); parents above the deck studied don't
  count (Anki's default, "apply all parent limits" off);
- the counts a deck shows are its own cards and its subdecks' counts
  (each capped by its own limits), capped by its own limits
  (decks/tree.rs `sum_counts_and_apply_limits_v3`).

"All decks" is a root above the top-level decks with no limit of its own,
as Anki's deck list has. Custom study's "increase today's limit" raises the
limits of the deck it was asked in (in "all decks": of each top-level deck),
wherever that deck is studied from, as Anki's `extend_limits` takes the raise
off the deck's count of what it studied today: so unless new cards ignore the
review limit, a raise of the new limit leaves as many more reviews too (the
new cards it lets in would otherwise find no reviews left to spend).

Learning cards are never held back by a limit: companion's learning steps
are answered the day they are due, as Anki's intraday learning cards are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class Remaining:
    """What is left of a deck's limits today."""

    new: int
    review: int

    def capped_to(self, other: "Remaining") -> "Remaining":
        return Remaining(min(self.new, other.new), min(self.review, other.review))


@dataclass(frozen=True)
class Due:
    """What a deck holds for today before limits: new cards, learning due,
    reviews due."""

    new: int
    learning: int
    review: int


class DeckTree:
    """The live decks as a tree (a deck's parent, or None at the top)."""

    def __init__(self, parents: Mapping[str, str | None]):
        self.parents = dict(parents)
        self.children: dict[str | None, list[str]] = {None: []}
        for deck_id in sorted(self.parents):
            self.children.setdefault(deck_id, [])
        for deck_id in sorted(self.parents):
            parent = self.parents[deck_id]
            self.children.setdefault(parent if parent in self.parents else None,
                                     []).append(deck_id)

    def subtree(self, deck_id: str | None) -> list[str]:
        """The deck and every deck under it, parents before their children
        (for None: every deck)."""
        out: list[str] = [] if deck_id is None else [deck_id]
        stack = list(reversed(self.children.get(deck_id, [])))
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(self.children.get(node, [])))
        return out

    def in_order(self, names: Mapping[str, str],
                 root: str | None = None) -> list[tuple[str, int]]:
        """Every deck (of `root`'s subtree, if given) with its depth (0 at the
        top, or at `root`), each parent before its subdecks and siblings by
        name, as Anki's deck list shows them (and its "Deck" gather order
        takes them, decks sorted by their full names)."""
        out: list[tuple[str, int]] = []

        def by_name(deck_id: str) -> tuple[str, str]:
            return (names.get(deck_id, deck_id).casefold(), deck_id)

        stack = ([(root, 0)] if root is not None else
                 [(deck_id, 0) for deck_id in sorted(self.children[None], key=by_name,
                                                     reverse=True)])
        while stack:
            deck_id, depth = stack.pop()
            out.append((deck_id, depth))
            stack.extend((child, depth + 1) for child in sorted(
                self.children.get(deck_id, []), key=by_name, reverse=True))
        return out

    def depth(self, deck_id: str) -> int:
        depth, parent = 0, self.parents.get(deck_id)
        while parent is not None:
            depth, parent = depth + 1, self.parents.get(parent)
        return depth


class DayLimits:
    """Today's limits over the part of the tree a study covers (`root` and
    its subdecks; None: every deck)."""

    def __init__(self, tree: DeckTree, root: str | None,
                 limits: Mapping[str, tuple[int, int]],
                 done: Mapping[str, tuple[int, int]],
                 extensions: Mapping[str, tuple[int, int]] | None = None,
                 new_cards_ignore_review_limit: bool = False):
        self.tree = tree
        self.root = root
        self.scope = tree.subtree(root)
        extensions = extensions or {}
        # done today in each deck's subtree
        subtree_done: dict[str, tuple[int, int]] = {}
        for deck_id in reversed(self.scope):  # children before parents
            new, review = done.get(deck_id, (0, 0))
            for child in tree.children.get(deck_id, []):
                child_new, child_review = subtree_done[child]
                new, review = new + child_new, review + child_review
            subtree_done[deck_id] = (new, review)
        self.remaining: dict[str, Remaining] = {}
        for deck_id in self.scope:
            new_limit, review_limit = limits.get(deck_id, (0, 0))
            # a raise comes off what the deck studied today, as Anki's
            # extend_limits takes it: so where new cards spend the review
            # limit, raising the new limit by n leaves n more reviews too
            extra_new, extra_review = extensions.get(deck_id, (0, 0))
            new_done, review_done = subtree_done[deck_id]
            new_done, review_done = new_done - extra_new, review_done - extra_review
            review_left = review_limit - review_done
            new_left = new_limit - new_done
            if not new_cards_ignore_review_limit:
                review_left -= new_done
                new_left = min(new_left, review_left)
            self.remaining[deck_id] = Remaining(max(0, new_left), max(0, review_left))
        self.cap_new_to_review = not new_cards_ignore_review_limit
        # what a deck may still give in this study: its own limits and every
        # parent's up to the root
        self.room: dict[str, Remaining] = {}
        for deck_id in self.scope:  # parents before children
            parent = tree.parents.get(deck_id)
            room = self.remaining[deck_id]
            if deck_id != root and parent is not None and parent in self.room:
                room = room.capped_to(self.room[parent])
            self.room[deck_id] = room

    def open_for_new(self) -> list[str]:
        return [deck_id for deck_id in self.scope if self.room[deck_id].new > 0]

    def open_for_review(self) -> list[str]:
        return [deck_id for deck_id in self.scope if self.room[deck_id].review > 0]

    def counts(self, due: Mapping[str, Due]) -> tuple[dict[str, Due], Due]:
        """Each deck's counts (its own cards and its subdecks', within its
        limits) and the whole study's."""
        shown: dict[str, Due] = {}
        for deck_id in reversed(self.scope):  # children before parents
            own = due.get(deck_id, Due(0, 0, 0))
            new, learning, review = own.new, own.learning, own.review
            for child in self.tree.children.get(deck_id, []):
                counted = shown[child]
                new, learning, review = (new + counted.new, learning + counted.learning,
                                         review + counted.review)
            left = self.remaining[deck_id]
            review = min(review, left.review)
            new = min(new, left.new)
            if self.cap_new_to_review:
                new = min(new, left.review - review)
            shown[deck_id] = Due(new, learning, review)
        if self.root is not None:
            return shown, shown[self.root]
        tops = [shown[deck_id] for deck_id in self.tree.children[None]]
        return shown, Due(sum(d.new for d in tops), sum(d.learning for d in tops),
                          sum(d.review for d in tops))
