"""Vietnamese-aware procedure search: pure Python over an in-memory inverted index.

How a query is answered (README "How search works" has the citizen-facing summary):
1. The text is cleaned (NFC, invisible characters), cut to MAX_QUERY_CHARS and split into
   syllables; procedure codes ("1.001193", "1.012753.H19") are looked up directly, a code being
   typed ("1.00119", alone) is completed.
2. Everyday phrasing is dropped ("tôi muốn", "cần giấy tờ gì", greetings) and citizen words are
   rewritten in the catalog's words from the lexicon file ("sổ đỏ" -> "giấy chứng nhận quyền sử
   dụng đất"; abbreviations both ways). Each rewritten concept keeps its wordings as alternatives
   and scores the best one.
3. Every syllable and every pair of neighbouring syllables is a query term, matched on the folded
   form (no diacritics); a syllable typed with diacritics scores fully only on that spelling. A
   syllable or pair the catalog never writes is corrected at edit distance 1, preferring
   corrections that make a pair the catalog uses.
4. Each procedure is scored by the IDF-weighted share of the query it covers, the share of its own
   name the query covers (general procedures beat long special cases), a small preference for
   the levels citizens use most (commune, then province), a damping of very long names, and a
   penalty when a modifier (cấp *lại*, *gia hạn*, *dưới* 14 tuổi ...) is in the name but not asked
   for, or asked for but not in the name. Something must match as typed (or as rewritten), and
   below a coverage and score floor nothing is an answer.
5. Citizen phrasings (knowledge/data/phrasings.txt, `learn()` at run time) are extra names of
   their procedures: their words score like the name's, the share of a phrasing covered competes
   with the share of the name covered, and a query covering a whole phrasing waives the modifier
   penalty of the official name.

Scoring runs on NumPy arrays over the matching procedures only, so it stays within milliseconds
at 100,000 procedures.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from .lexicon import Lexicon, load_lexicon
from .models import Procedure
from .normalize import (
    clean_text,
    fold,
    fold_token,
    has_diacritics,
    loose_equal,
    tokenize,
)
from .phrasings import Phrasing, clean_phrasing, load_default_phrasings
from .vocabulary import TextVocabulary

CODE_RE = re.compile(r"^\d\.\d{6}(?:\.[0-9a-z]+)*$")
CODE_PREFIX_RE = re.compile(r"^\d\.\d{3,5}$")
MAX_QUERY_CHARS = 300  # a question longer than this is cut before searching

# Field weights: the name says what the procedure is; the rest only hints.
NAME_WEIGHT = 1.0
OTHER_WEIGHT = 0.3
PHRASING_WEIGHT = 1.0  # a citizen phrasing of the procedure (phrasings.txt) is another name
# Query term weights.
PAIR_WEIGHT = 0.8  # a pair of neighbouring syllables, relative to one syllable
SYNONYM_ORIGINAL_WEIGHT = 0.35  # the citizen's own words once the lexicon has rewritten them
CORRECTION_WEIGHT = 0.8  # a typo-corrected syllable or pair
ACCENT_MARK = "@"  # prefix of the terms that keep a name's syllables with their diacritics
ACCENT_LOOSE_FACTOR = 0.7  # a syllable typed with diacritics matching another spelling of it
OOV_IDF_SHARE = 0.5  # an unknown syllable still counts this share of the largest IDF
STOPWORD_WEIGHT = 0.3  # function words ("cho", "của", "và") and the pairs they are part of
# Score mix.
COVERAGE_SHARE = 0.74
NAME_SHARE = 0.2
LEVEL_PRIOR = {"Cấp xã": 0.04, "Cấp tỉnh": 0.02, "Cấp bộ": 0.0, "Cơ quan khác": 0.0}
MODIFIER_PENALTY = 0.12
MODIFIER_HEAD = 8  # syllables at the start of a name where its action is named
EXACT_NAME_BONUS = 0.1  # the query is the name, or one of the procedure's phrasings
# A query covering (all but rounding of) one of a procedure's phrasings asks for that very one:
# a modifier in its official name ("Gia hạn ...") is not held against it ("renew my visa").
PHRASING_TRUST = 0.99
LENGTH_PENALTY = 0.02  # per doubling of a name's length over the median name
MIN_COVERAGE = 0.3  # below this share of the query matched, a procedure is not an answer
MIN_SCORE = 0.35  # nor is one whose final score is below this
# Below those floors a procedure may still be worth offering as "did you mean": the query
# holds a word of its name (a "di chúc" among everyday words), just not enough to be sure.
LOOSE_MIN_COVERAGE = 0.12
LOOSE_MIN_SCORE = 0.25
LOOSE_MIN_PRECISION = 0.4
LEARN_MIN_WORDS = 2  # a learned phrasing holds at least this many different content words
LEARN_MAX_SHARE = 0.03  # ... one of them in at most this share of the procedures  # ... and the words it holds must be much of the procedure's name
CANDIDATES = 60


@dataclass(frozen=True, slots=True)
class SearchHit:
    procedure: Procedure
    score: float  # 0..100, higher is better


@dataclass(frozen=True, slots=True)
class Floor:
    """What a procedure needs to be returned: a share of the query matched, and a score."""

    min_coverage: float
    min_score: float
    min_precision: float = 0.0  # the share of the procedure's own name the query covers


ANSWER = Floor(MIN_COVERAGE, MIN_SCORE)
"""Confident enough to answer with."""
CANDIDATE = Floor(LOOSE_MIN_COVERAGE, LOOSE_MIN_SCORE, LOOSE_MIN_PRECISION)
"""Worth offering as "did you mean" when nothing reaches ``ANSWER``."""


@dataclass(slots=True)
class _Alternative:
    terms: list[tuple[int, float]]  # (term id, weight)
    mass: float  # what a procedure matching every term scores
    factor: float  # how much a full match of this wording is worth (1 = as typed)


@dataclass(slots=True)
class _Group:
    """One concept of the query; a procedure scores the best of its alternative wordings."""

    weight: float
    alternatives: list[_Alternative] = field(default_factory=list)


@dataclass(slots=True)
class _Query:
    groups: list[_Group]
    codes: list[str]
    code_prefixes: list[str]
    name_terms: set[int]
    tokens: list[str]  # accented tokens kept after filler removal, plus rewrites
    typed: list[str]  # accented tokens as typed (fillers removed)
    plain: list[str]  # the typed tokens no lexicon phrase rewrote
    corrections: dict[str, str]
    folded_text: str


def cut_at_word(text: str, limit: int) -> str:
    """At most `limit` characters, ending at a word boundary when one is near the end."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit * 0.8 else cut).rstrip()


def cut_query(text: str, limit: int = MAX_QUERY_CHARS) -> str:
    """The part of a question that is searched: cleaned, then cut at a word boundary."""
    return cut_at_word(clean_text(text), limit)


def _pairs(tokens: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


# "(thực hiện tại cấp tỉnh)", "(cấp xã)" closing a name: the same procedure at another level
_LEVEL_NOTE_RE = re.compile(r"(?: thuc hien)?(?: tai| o)? cap (?:trung uong|tinh|xa|huyen|bo)$")


def same_name_key(name: str, folded: str | None = None) -> str:
    """What makes two catalog entries the same procedure for phrasings: the folded name without
    "Thủ tục", a level note in brackets at its end or final punctuation. `folded` is the name
    already folded, when known."""
    key = fold(name) if folded is None else folded
    if key.startswith("thu tuc "):
        key = key[len("thu tuc ") :]
    if name.rstrip(" .;:").endswith(")"):
        key = _LEVEL_NOTE_RE.sub("", key)
    return key


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _name_for_index(name: str) -> list[str]:
    tokens = tokenize(name)
    # "Thủ tục đăng ký khai sinh" and "Đăng ký khai sinh" are the same thing.
    if tokens[:2] == ["thủ", "tục"]:
        tokens = tokens[2:]
    return tokens


class _Postings:
    """Postings collected as flat (term, doc, weight) columns, sorted and split per term later:
    a dict per term costs ten times the memory at 100,000 procedures."""

    def __init__(self) -> None:
        self.term_ids: dict[str, int] = {}
        self.col_term, self.col_doc, self.col_weight = array("i"), array("i"), array("f")
        self.name_term, self.name_doc = array("i"), array("i")

    def term_id(self, term: str) -> int:
        tid = self.term_ids.get(term)
        if tid is None:
            tid = self.term_ids[term] = len(self.term_ids)
        return tid

    def add(self, doc: int, tids: Sequence[int], weight: float) -> None:
        self.col_term.extend(tids)
        self.col_doc.extend([doc] * len(tids))
        self.col_weight.extend([weight] * len(tids))


class SearchIndex:
    """An immutable search index over a list of procedures."""

    def __init__(
        self,
        procedures: Sequence[Procedure],
        lexicon: Lexicon,
        vocabulary: TextVocabulary | None = None,
        phrasings: Sequence[Phrasing] = (),
    ) -> None:
        self._procs = list(procedures)
        self._lexicon = lexicon
        self._n = len(self._procs)
        self._index_codes()
        self._build_phrases()  # before the phrasings: they are read as a query would be
        postings, folded_names, accented_names = self._collect_postings()
        phrasing_rows = self._collect_phrasings(postings, phrasings, folded_names)
        self._term_ids = postings.term_ids
        # How each folded syllable is most often written, to show corrections with diacritics.
        spellings: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for toks in set(accented_names):
            for tok in toks:
                spellings[fold_token(tok)][tok] += 1
        self._spelling = {f: max(forms, key=forms.__getitem__) for f, forms in spellings.items()}
        df = self._build_postings(postings)
        self._build_name_features(postings, accented_names)
        self._build_phrasing_features(phrasing_rows)
        # Exact-name lookup and the fuzzy fallback work on distinct folded names.
        self._docs_by_name: dict[str, list[int]] = defaultdict(list)
        for doc, fname in enumerate(folded_names):
            self._docs_by_name[fname].append(doc)
        self._distinct_names = list(self._docs_by_name)
        self._build_modifiers(folded_names, accented_names)
        self._build_word_model(df, vocabulary)
        self._build_official_phrases(accented_names + [r[3] for r in phrasing_rows])

    def _index_codes(self) -> None:
        self._by_code: dict[str, int] = {}
        self._by_base: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self._procs):
            self._by_code.setdefault(p.code.lower(), i)
            self._by_base[p.base_code.lower()].append(i)
        self._sorted_codes = sorted(self._by_code)

    def _collect_postings(self) -> tuple[_Postings, list[str], list[tuple[str, ...]]]:
        """Every (term, doc, weight) of the names and the other fields, with each procedure's
        folded name and accented name tokens."""
        postings = _Postings()
        folded_names: list[str] = []
        accented_names: list[tuple[str, ...]] = []
        term_id = postings.term_id
        # Province variants repeat national names: analyse each distinct text once.
        name_cache: dict[str, tuple[tuple[str, ...], str, array, array]] = {}
        other_cache: dict[str, array] = {}
        for doc, p in enumerate(self._procs):
            cached = name_cache.get(p.name)
            if cached is None:
                name_tokens = tuple(_name_for_index(p.name))
                folded = [fold_token(t) for t in name_tokens]
                term_list = [term_id(t) for t in folded + _pairs(folded)]
                term_list += [
                    term_id(ACCENT_MARK + t) for t in set(name_tokens) if has_diacritics(t)
                ]
                unigrams = sorted({term_id(t) for t in folded})
                cached = name_cache[p.name] = (
                    name_tokens,
                    " ".join(folded),
                    array("i", term_list),
                    array("i", unigrams),
                )
            name_tokens, folded_name, tids, unis = cached
            accented_names.append(name_tokens)
            folded_names.append(folded_name)
            postings.add(doc, tids, NAME_WEIGHT)
            postings.name_term.extend(unis)
            postings.name_doc.extend([doc] * len(unis))
            other_text = " ".join([p.sector, *p.results, *p.keywords])
            other_tids = other_cache.get(other_text)
            if other_tids is None:
                other = [fold_token(t) for t in tokenize(other_text)]
                other_tids = other_cache[other_text] = array(
                    "i", [term_id(t) for t in other + _pairs(other)]
                )
            postings.add(doc, other_tids, OTHER_WEIGHT)
        return postings, folded_names, accented_names

    # ----------------------------------------------------------------- phrasings
    def _siblings(self, doc: int) -> list[int]:
        """The procedures a phrasing of `doc` applies to: the same name at any level (a level
        note in brackets aside) and the province variants of its code."""
        docs = set(self._same_name.get(self._name_key[doc], ()))
        docs.update(self._by_base.get(self._procs[doc].base_code.lower(), ()))
        docs.add(doc)
        return sorted(docs)

    def _phrasing_tokens(self, text: str) -> tuple[str, ...]:
        """A phrasing's tokens as a query would keep them: the lexicon's fillers dropped."""
        tokens = tokenize(text)
        kept = [t for kind, span, _ in self._segment(tokens) if kind != "gap" for t in span]
        return tuple(kept) if any(t.isalpha() for t in kept) else tuple(tokens)

    @staticmethod
    def _phrasing_terms(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
        """All terms of a phrasing (syllables, pairs, accented syllables) and its syllables."""
        folded = [fold_token(t) for t in tokens]
        terms = folded + _pairs(folded)
        terms += [ACCENT_MARK + t for t in dict.fromkeys(tokens) if has_diacritics(t)]
        return terms, folded

    def _collect_phrasings(
        self, postings: _Postings, phrasings: Sequence[Phrasing], folded_names: list[str]
    ) -> list[tuple[int, list[int], str, tuple[str, ...]]]:
        """Phrasing postings (as name postings at PHRASING_WEIGHT) and one row per phrasing and
        procedure: (doc, syllable term ids, folded text, tokens). Unknown codes are skipped: an
        index may hold part of the catalog."""
        self._name_key = [""] * self._n
        self._same_name: dict[str, list[int]] = defaultdict(list)
        keys: dict[str, str] = {}
        for doc, p in enumerate(self._procs):
            key = keys.get(p.name)
            if key is None:
                key = keys[p.name] = same_name_key(p.name, folded_names[doc])
            self._name_key[doc] = key
            self._same_name[key].append(doc)
        rows: list[tuple[int, list[int], str, tuple[str, ...]]] = []
        seen: set[tuple[int, str]] = set()
        for ph in phrasings:
            code = ph.code.lower()
            # a national code finds its province variants
            found = self._by_code.get(code, next(iter(self._by_base.get(code, ())), None))
            if found is None:
                continue
            doc = found
            tokens = self._phrasing_tokens(ph.text)
            terms, folded = self._phrasing_terms(tokens)
            text = " ".join(folded)
            tids = [postings.term_id(t) for t in terms]
            unis = sorted({postings.term_ids[t] for t in folded})
            for sib in self._siblings(doc):
                if (sib, text) in seen:
                    continue
                seen.add((sib, text))
                postings.add(sib, tids, PHRASING_WEIGHT)
                rows.append((sib, unis, text, tokens))
        return rows

    def _build_phrasing_features(
        self, rows: list[tuple[int, list[int], str, tuple[str, ...]]]
    ) -> None:
        """Per phrasing row: its procedure and idf mass; per syllable: the rows it is in."""
        self._phr_doc = np.array([r[0] for r in rows], dtype=np.int32)
        mass = np.array([float(self._idf[r[1]].sum()) for r in rows], dtype=np.float32)
        mass[mass == 0] = 1.0
        self._phr_mass = mass
        post: dict[int, list[int]] = defaultdict(list)
        self._docs_by_phrasing: dict[str, list[int]] = defaultdict(list)
        self._phrasings_of: dict[int, set[str]] = defaultdict(set)
        for row, (doc, unis, text, _tokens) in enumerate(rows):
            for tid in unis:
                post[tid].append(row)
            self._docs_by_phrasing[text].append(doc)
            self._phrasings_of[doc].add(text)
        self._phr_post = {tid: np.array(r, dtype=np.int32) for tid, r in post.items()}

    def _build_postings(self, postings: _Postings) -> np.ndarray:
        """Posting lists per term (one posting per term and doc, the heaviest field kept) and
        the terms' idf; returns each term's document frequency."""
        n, n_terms = self._n, len(postings.term_ids)
        terms = np.frombuffer(postings.col_term, dtype=np.int32)
        docs = np.frombuffer(postings.col_doc, dtype=np.int32)
        weights = np.frombuffer(postings.col_weight, dtype=np.float32)
        order = np.lexsort((-weights, docs, terms))
        terms, docs, weights = terms[order], docs[order], weights[order]
        first = np.ones(len(terms), dtype=bool)
        first[1:] = (terms[1:] != terms[:-1]) | (docs[1:] != docs[:-1])
        terms, docs, weights = terms[first], docs[first], weights[first]
        df = np.bincount(terms, minlength=n_terms).astype(np.float64)
        self._idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self._max_idf = float(self._idf.max()) if n_terms else 1.0
        bounds = np.cumsum(np.bincount(terms, minlength=n_terms))[:-1]
        self._post_ids = np.split(docs.copy(), bounds)
        self._post_w = np.split(weights.copy(), bounds)
        return df

    def _build_name_features(
        self, postings: _Postings, accented_names: list[tuple[str, ...]]
    ) -> None:
        """Name-only postings, each name's idf mass, its excess length and the level prior."""
        n, n_terms = self._n, len(postings.term_ids)
        nt = np.frombuffer(postings.name_term, dtype=np.int32)
        nd = np.frombuffer(postings.name_doc, dtype=np.int32)
        order = np.argsort(nt, kind="stable")
        self._name_post = np.split(
            nd[order].copy(), np.cumsum(np.bincount(nt, minlength=n_terms))[:-1]
        )
        name_mass = np.zeros(n, dtype=np.float32)
        np.add.at(name_mass, nd, self._idf[nt])
        name_mass[name_mass == 0] = 1.0
        self._name_mass = name_mass
        name_len = np.fromiter((len(t) for t in accented_names), dtype=np.float32, count=n)
        typical = float(np.median(name_len)) if n else 1.0
        self._length_excess = np.maximum(
            0.0, np.log2(np.maximum(name_len, 1.0) / max(typical, 1.0))
        )
        self._level_prior = np.array(
            [max((LEVEL_PRIOR.get(lv, 0.0) for lv in p.levels), default=0.0) for p in self._procs],
            dtype=np.float32,
        )

    def _build_modifiers(
        self, folded_names: list[str], accented_names: list[tuple[str, ...]]
    ) -> None:
        """Modifiers: which procedures carry each one at the head of their name, where the action
        is named ("Cấp lại ...", "Gia hạn ..."), and which lack even its folded form anywhere.
        Worked out per distinct name, then spread to the procedures by a name-id column."""
        lexicon, n = self._lexicon, self._n
        accented_ids: dict[tuple[str, ...], int] = {}
        accented_of_doc = np.fromiter(
            (accented_ids.setdefault(t, len(accented_ids)) for t in accented_names),
            dtype=np.int32,
            count=n,
        )
        folded_ids = {name: i for i, name in enumerate(self._distinct_names)}
        folded_of_doc = np.fromiter((folded_ids[f] for f in folded_names), dtype=np.int32, count=n)
        longest_mod = max((len(m) for m in lexicon.modifiers), default=1)
        head_names: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for toks, name_id in accented_ids.items():
            head = toks[:MODIFIER_HEAD]
            grams = {
                head[i : i + k] for k in range(1, longest_mod + 1) for i in range(len(head) - k + 1)
            }
            for gram in grams:
                head_names[gram].append(name_id)
        self._learn_modifier_spellings(accented_ids, longest_mod)
        self._modifiers: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]] = []
        for mod in lexicon.modifiers:
            folded_mod = " " + " ".join(fold_token(t) for t in mod) + " "
            lacking_names = [i for name, i in folded_ids.items() if folded_mod not in f" {name} "]
            at_head = np.flatnonzero(np.isin(accented_of_doc, head_names.get(mod, []))).astype(
                np.int32
            )
            lacking = np.flatnonzero(np.isin(folded_of_doc, lacking_names)).astype(np.int32)
            self._modifiers.append((mod, at_head, lacking))

    def _learn_modifier_spellings(
        self, accented_ids: dict[tuple[str, ...], int], longest_mod: int
    ) -> None:
        """Typed without diacritics, is a modifier unmistakable? "gia han" is always "gia hạn" in
        the names, but "lai" may be "lại" or "lái" and "dung" is far more often "dụng" than
        "dừng": only unmistakable ones count as asked for when typed so."""
        lexicon = self._lexicon
        spellings_of: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
        wanted = {tuple(fold_token(t) for t in m) for m in lexicon.modifiers}
        for toks in accented_ids:
            folded_toks = [fold_token(t) for t in toks]
            for k in range(1, longest_mod + 1):
                for i in range(len(toks) - k + 1):
                    key = tuple(folded_toks[i : i + k])
                    if key in wanted:
                        spellings_of[key].add(toks[i : i + k])
        self._unmistakable = {
            m
            for m in lexicon.modifiers
            if spellings_of.get(tuple(fold_token(t) for t in m), {m}) <= {m}
        }
        # For the others, the neighbours tell: "cap lai" is written "cấp lại" in the names, "lai
        # xe" is "lái xe". Kept for pairs around an ambiguous one-word modifier only.
        ambiguous = {fold_token(m[0]) for m in lexicon.modifiers if len(m) == 1} - {
            fold_token(m[0]) for m in self._unmistakable if len(m) == 1
        }
        self._pair_spellings: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for toks in accented_ids:
            for a, b in zip(toks, toks[1:]):
                fa, fb = fold_token(a), fold_token(b)
                if fa in ambiguous or fb in ambiguous:
                    self._pair_spellings[(fa, fb)].add((a, b))

    def _build_word_model(self, df: np.ndarray, vocabulary: TextVocabulary | None) -> None:
        """The known words (for telling typos from real words) and the typo corrector."""
        term_ids, lexicon = self._term_ids, self._lexicon
        # Every syllable and pair the catalog writes anywhere (steps, documents...) is a real word
        # or phrase, not a typo.
        text_vocab = (
            vocabulary if vocabulary is not None else TextVocabulary.from_procedures(self._procs)
        )
        self._words: set[str] = {
            t for t in term_ids if " " not in t and not t.startswith(ACCENT_MARK)
        } | text_vocab.words
        self._pairs_seen = text_vocab.pairs
        self._stopwords = {fold_token(w[0]) for w in lexicon.stopwords if len(w) == 1}
        # Typo correction: syllables the names know, reached by single deletions (SymSpell).
        self._unigram_df = {
            t: int(df[i])
            for t, i in term_ids.items()
            if " " not in t and not t.startswith(ACCENT_MARK)
        }
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for word in self._unigram_df:
            if len(word) >= 2 and word.isalpha():
                for d in _deletes(word) | {word}:
                    self._deletes[d].append(word)

    def _build_phrases(self) -> None:
        """Lexicon phrases keyed by their folded form for loose matching."""
        lexicon = self._lexicon
        self._phrases: dict[tuple[str, ...], list[tuple[tuple[str, ...], str, tuple]]] = (
            defaultdict(list)
        )
        for key, alts in lexicon.synonyms.items():
            self._phrases[tuple(fold_token(t) for t in key)].append((key, "synonym", (key, alts)))
        for key in lexicon.fillers:
            self._phrases[tuple(fold_token(t) for t in key)].append((key, "filler", ()))
        self._longest_phrase = lexicon.longest_phrase

    def _build_official_phrases(self, accented_names: list[tuple[str, ...]]) -> None:
        lexicon = self._lexicon
        # A lexicon phrase the catalog itself writes ("đăng ký doanh nghiệp") is official language:
        # matching it as typed is worth as much as its rewrite. "sổ đỏ" is not.
        padded = " " + " \n ".join(" ".join(toks) for toks in set(accented_names)) + " "
        self._official_phrases = {key for key in lexicon.synonyms if f" {' '.join(key)} " in padded}

    # ----------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        procedures: Iterable[Procedure],
        lexicon: Lexicon | None = None,
        vocabulary: TextVocabulary | None = None,
        phrasings: Sequence[Phrasing] | None = None,
    ) -> SearchIndex:
        """Index procedures. Pass the catalog's precomputed vocabulary to skip collecting it.
        Phrasings default to the shipped file (``phrasings=()`` for none)."""
        if phrasings is None:
            phrasings = load_default_phrasings()
        return cls(list(procedures), lexicon or load_lexicon(), vocabulary, phrasings)

    def learnable(self, text: str) -> bool:
        """Whether ``text`` may become a phrasing: once the lexicon's fillers are dropped, at
        least ``LEARN_MIN_WORDS`` different content words, one of them distinctive (in at most
        ``LEARN_MAX_SHARE`` of the procedures) — "đăng ký", "giấy tờ" or "cho tôi hỏi" mapped
        to one procedure would take over every question that holds them."""
        cleaned = clean_phrasing(text)
        if cleaned is None:
            return False
        tokens = tokenize(cleaned)
        kept = [t for kind, span, _ in self._segment(tokens) if kind != "gap" for t in span]
        content = {
            fold_token(t) for t in kept if t.isalpha() and fold_token(t) not in self._stopwords
        }
        if len(content) < LEARN_MIN_WORDS:
            return False
        limit = max(1.0, LEARN_MAX_SHARE * self._n)
        return any(  # a word the names seldom use (or never: a citizen's own word)
            (tid := self._term_ids.get(word)) is None or len(self._name_post[tid]) <= limit
            for word in content
        )

    def learn(self, code: str, text: str) -> bool:
        """Add one phrasing of a procedure (and of its same-name siblings) to the built index,
        effective for the next search; no rebuild. False if the code is unknown or the text is
        empty or too long. Milliseconds; not thread-safe against concurrent searches, so call it
        where searches run (the event loop). Existing terms keep their idf."""
        doc = self._by_code.get(clean_text(code).lower())
        cleaned = clean_phrasing(text)
        if doc is None or cleaned is None or not self.learnable(cleaned):
            return False
        tokens = self._phrasing_tokens(cleaned)
        terms, folded = self._phrasing_terms(tokens)
        text_key = " ".join(folded)
        docs = [d for d in self._siblings(doc) if text_key not in self._phrasings_of.get(d, ())]
        if not docs:
            return True  # known already
        tids = [self._learned_term(t, len(docs)) for t in terms]
        unis = sorted({self._term_ids[t] for t in folded})
        for d in docs:
            for tid in dict.fromkeys(tids):
                ids, weights = self._post_ids[tid], self._post_w[tid]
                at = np.flatnonzero(ids == d)
                if len(at):
                    if weights[at[0]] < PHRASING_WEIGHT:
                        weights = weights.copy()
                        weights[at[0]] = PHRASING_WEIGHT
                        self._post_w[tid] = weights
                    continue
                self._post_ids[tid] = np.append(ids, np.int32(d))
                self._post_w[tid] = np.append(weights, np.float32(PHRASING_WEIGHT))
            row = len(self._phr_doc)
            for tid in unis:
                self._phr_post[tid] = np.append(self._phr_post.get(tid, []), row).astype(np.int32)
            mass = float(self._idf[unis].sum()) or 1.0
            self._phr_mass = np.append(self._phr_mass, np.float32(mass))
            self._phr_doc = np.append(self._phr_doc, np.int32(d))
            self._docs_by_phrasing[text_key].append(d)
            self._phrasings_of[d].add(text_key)
        self._words.update(f for f in folded if f.isalpha())
        joined = f" {' '.join(tokens)} "
        self._official_phrases.update(
            key for key in self._lexicon.synonyms if f" {' '.join(key)} " in joined
        )
        return True

    def _learned_term(self, term: str, df: int) -> int:
        """The id of a term, created (with the idf of `df` documents) if the index lacks it."""
        tid = self._term_ids.get(term)
        if tid is not None:
            return tid
        tid = len(self._post_ids)
        self._post_ids.append(np.zeros(0, dtype=np.int32))
        self._post_w.append(np.zeros(0, dtype=np.float32))
        self._name_post.append(np.zeros(0, dtype=np.int32))
        idf = np.log(1.0 + (self._n - df + 0.5) / (df + 0.5))
        self._idf = np.append(self._idf, np.float32(idf))
        self._term_ids[term] = tid  # published last: a search sees the term complete
        return tid

    def __len__(self) -> int:
        return self._n

    @property
    def procedures(self) -> Sequence[Procedure]:
        return self._procs

    def get(self, code: str) -> Procedure | None:
        doc = self._by_code.get(clean_text(code).lower())
        return None if doc is None else self._procs[doc]

    # ----------------------------------------------------------------- query analysis
    def _candidates(self, word: str) -> list[str]:
        """Known syllables at edit distance 1 (OSA) from word, most frequent first."""
        found: set[str] = set()
        for d in _deletes(word) | {word}:
            found.update(self._deletes.get(d, ()))
        found.discard(word)
        close = [w for w in found if OSA.distance(w, word, score_cutoff=1) <= 1]
        return sorted(close, key=lambda w: -self._unigram_df[w])

    def _phrase_at(self, tokens: list[str], i: int, length: int) -> tuple[str, tuple] | None:
        span = tokens[i : i + length]
        for key, kind, alts in self._phrases.get(tuple(fold_token(t) for t in span), ()):
            if all(not has_diacritics(s) or s == k for s, k in zip(span, key)):
                return kind, alts
        return None

    def _segment(self, tokens: list[str]) -> list[tuple[str, list[str], tuple]]:
        """Split tokens into ("word", [tok]), ("synonym", span, alts) and ("gap", ...) for fillers.

        Lexicon phrases may overlap ("làm căn cước" / "căn cước công dân"): dynamic programming
        picks the split that covers the most tokens with phrases, then the fewest phrases.
        """
        n = len(tokens)
        # best[i] = (covered, -phrases, segments) for tokens[i:]
        best: list[tuple[int, int, list[tuple[str, list[str], tuple]]]] = [(0, 0, [])] * (n + 1)
        for i in range(n - 1, -1, -1):
            covered, phrases, rest = best[i + 1]
            choice = (covered, phrases, [("word", [tokens[i]], ())] + rest)
            for length in range(1, min(self._longest_phrase, n - i) + 1):
                match = self._phrase_at(tokens, i, length)
                if match is None:
                    continue
                kind, alts = match
                c, ph, rest = best[i + length]
                seg = (
                    ("synonym", tokens[i : i + length], alts)
                    if kind == "synonym"
                    else ("gap", [], ())
                )
                cand = (c + length, ph - 1, [seg] + rest)
                if cand[:2] > choice[:2]:
                    choice = cand
            best[i] = choice
        return best[0][2]

    def _terms(self, folded: list[str], weight: float) -> list[tuple[int, float]]:
        """Known unigram and pair terms of a phrase; function words and their pairs count less."""
        terms = []
        for t in folded:
            tid = self._term_ids.get(t)
            if tid is not None:
                terms.append((tid, weight * (STOPWORD_WEIGHT if t in self._stopwords else 1.0)))
        for a, b in zip(folded, folded[1:]):
            tid = self._term_ids.get(f"{a} {b}")
            if tid is not None:
                w = PAIR_WEIGHT * (
                    STOPWORD_WEIGHT if a in self._stopwords or b in self._stopwords else 1.0
                )
                terms.append((tid, weight * w))
        return terms

    def _alternative(self, terms: list[tuple[int, float]], factor: float) -> _Alternative | None:
        mass = sum(w * float(self._idf[tid]) for tid, w in terms)
        return _Alternative(terms, mass, factor) if mass > 0 else None

    def _span_weight(self, folded: list[str]) -> float:
        """How much a concept typed as these syllables weighs in the query."""
        weight = 0.0
        for t in folded:
            tid = self._term_ids.get(t)
            if tid is not None:
                idf = float(self._idf[tid])
            elif t.isalpha():
                idf = OOV_IDF_SHARE * self._max_idf
            else:
                idf = 0.0
            weight += idf * (STOPWORD_WEIGHT if t in self._stopwords else 1.0)
        return weight

    def _analyze(self, query: str) -> _Query:
        tokens = tokenize(cut_query(query))
        codes = [t for t in tokens if CODE_RE.match(t)]
        tokens = [t for t in tokens if not CODE_RE.match(t)]
        # "1.00119" alone is a code being typed; "lệ phí 1.000 đồng" is an amount
        prefixes = [t for t in tokens if CODE_PREFIX_RE.match(t)] if len(tokens) == 1 else []
        tokens = [t for t in tokens if t not in prefixes]

        builder = _QueryBuilder(self)
        for kind, span, alts in self._segment(tokens):
            if kind == "word":
                builder.run.append(span[0])
                continue
            builder.flush_run()
            if kind == "synonym":
                builder.add_synonym(span, *alts)
        builder.flush_run()
        groups = builder.groups
        typed = builder.typed
        if not any(t.isalpha() and fold_token(t) not in self._stopwords for t in typed):
            groups = []  # only function words, everyday verbs or numbers: nothing to look for
        folded_text = " ".join(fold_token(t) for t in typed)
        return _Query(
            groups,
            codes,
            prefixes,
            builder.name_terms,
            builder.kept,
            typed,
            builder.plain,
            builder.corrections,
            folded_text,
        )

    def _known_pair(self, a: str, b: str) -> bool:
        return f"{a} {b}" in self._term_ids or self._written(a, b)

    def _written(self, a: str, b: str) -> bool:
        """Does the catalog's full text ever write the pair "a b"?"""
        return f"{a} {b}" in self._pairs_seen

    def _pair_fixes(self, a: str, b: str) -> list[tuple[str, int, str]]:
        """Known pairs one edit away from the unknown pair "a b": (pair, 0|1 which side, fix)."""
        fixes: list[tuple[str, int, str]] = []
        for which, word in ((0, a), (1, b)):
            if not word.isalpha() or len(word) < 2:
                continue
            for cand in self._candidates(word):
                pair = f"{cand} {b}" if which == 0 else f"{a} {cand}"
                if pair in self._term_ids:
                    fixes.append((pair, which, cand))
        # the pair the catalog uses most is the likeliest meaning
        fixes.sort(key=lambda f: -len(self._post_ids[self._term_ids[f[0]]]))
        return fixes[:3]

    def _best_in_context(self, folded: list[str], word: str) -> str | None:
        cands = self._candidates(word)
        if not cands:
            return None
        idx = folded.index(word)
        neighbours: list[str] = []
        for n in folded[max(0, idx - 1) : idx] + folded[idx + 1 : idx + 2]:
            # a neighbour that is itself a typo stands for its own corrections ("kett hoon")
            neighbours += [n] if n in self._words else [n, *self._candidates(n)]

        def context_df(c: str) -> int:
            """How often the catalog's names pair the candidate with a neighbour."""
            best = 0
            for n in neighbours:
                for pair in (f"{n} {c}", f"{c} {n}"):
                    tid = self._term_ids.get(pair)
                    if tid is not None:
                        best = max(best, len(self._post_ids[tid]))
            return best

        scored = [(context_df(c), c) for c in cands]
        best_df, best = max(scored, key=lambda x: x[0])
        return best if best_df else cands[0]

    # ----------------------------------------------------------------- scoring
    def search(self, query: str, limit: int = 5, *, floor: Floor = ANSWER) -> list[SearchHit]:
        """The best procedures for a citizen's question, best first (empty if none fits);
        ``floor=CANDIDATE`` also returns the ones only worth a "did you mean"."""
        if limit <= 0:
            return []
        q = self._analyze(query)
        hits: list[SearchHit] = []
        seen: set[int] = set()
        for code in q.codes:
            base = ".".join(code.split(".")[:2])
            if code in self._by_code:
                docs = [self._by_code[code]]
            else:  # a national code finds its province variants, and the other way round
                docs = self._by_base.get(base, [])
            for doc in docs:
                if doc not in seen:
                    seen.add(doc)
                    hits.append(SearchHit(self._procs[doc], 100.0))
        for prefix in q.code_prefixes[:3]:  # a code cut short ("1.00119"): its completions
            start = bisect_left(self._sorted_codes, prefix)
            for code in self._sorted_codes[start : start + limit]:
                doc = self._by_code[code]
                if code.startswith(prefix) and doc not in seen and len(hits) < limit:
                    seen.add(doc)
                    hits.append(SearchHit(self._procs[doc], 60.0))
        if q.groups and len(hits) < limit:
            for doc, score in self._rank(q, limit + len(seen), floor):
                if doc not in seen:
                    seen.add(doc)
                    hits.append(SearchHit(self._procs[doc], score))
        return hits[:limit]

    def _rank(self, q: _Query, limit: int, floor: Floor = ANSWER) -> list[tuple[int, float]]:
        n = self._n
        total = np.zeros(n, dtype=np.float32)
        exact = np.zeros(n, dtype=bool)
        for group in q.groups:
            best: np.ndarray | None = None
            for alt in group.alternatives:
                acc = np.zeros(n, dtype=np.float32)
                scale = group.weight * alt.factor / alt.mass
                for tid, w in alt.terms:
                    acc[self._post_ids[tid]] += self._post_w[tid] * (w * self._idf[tid] * scale)
                if alt.factor >= 1.0:
                    exact |= acc > 0
                best = acc if best is None else np.maximum(best, acc, out=best)
            if best is not None:
                total += best
        query_mass = sum(g.weight for g in q.groups)
        # a procedure must match something as typed (or as the lexicon rewrites it), not only
        # through corrections or other spellings: "tôi đói" is not "đối với"
        total[~exact] = 0.0
        cand = np.flatnonzero(total)
        if not len(cand) or query_mass <= 0:
            return []
        coverage = total[cand] / query_mass

        name_hit = np.zeros(n, dtype=np.float32)
        for tid in q.name_terms:
            ids = self._name_post[tid]
            if len(ids):
                name_hit[ids] += self._idf[tid]
        precision = np.minimum(name_hit[cand] / self._name_mass[cand], 1.0)
        excess = self._length_excess[cand]
        # a phrasing is another name: the better of the two counts, and a short phrasing
        # matched means the official name's length is no sign of a long list of cases
        phrasing = self._phrasing_precision(q, cand)
        trusted = np.zeros(len(cand), dtype=bool)
        if phrasing is not None:
            excess = np.where(phrasing > precision, 0.0, excess)
            precision = np.maximum(precision, phrasing)
            trusted = phrasing >= PHRASING_TRUST
        final = COVERAGE_SHARE * coverage + NAME_SHARE * precision + self._level_prior[cand]
        # very long names (a list of ten cases) match every query a little: damp them
        final -= LENGTH_PENALTY * excess

        # A modifier must agree: in the name's head but not asked for, or asked for but absent.
        # Several disagreements cost no more than one: long names list several actions.
        unasked = np.zeros(n, dtype=np.float32)
        missing = np.zeros(n, dtype=np.float32)
        folded_tokens = {fold_token(t) for t in q.tokens}
        folded_plain = {fold_token(t) for t in q.plain}
        for mod, head, lacking in self._modifiers:
            first = fold_token(mod[0])  # cached; most modifiers are not in a query at all
            if first not in folded_tokens or not self._asks(q.tokens, mod, strict=False):
                unasked[head] = MODIFIER_PENALTY
            elif first in folded_plain and self._asks(q.plain, mod, strict=True):
                missing[lacking] = MODIFIER_PENALTY
        final -= np.where(trusted, missing[cand], unasked[cand] + missing[cand])
        same_name = self._docs_by_name.get(q.folded_text, []) + self._docs_by_phrasing.get(
            q.folded_text, []
        )
        if same_name:
            bonus = np.zeros(n, dtype=np.float32)
            bonus[same_name] = EXACT_NAME_BONUS
            final += bonus[cand]
        below = (coverage < floor.min_coverage) | (final < floor.min_score)
        final[below | (precision < floor.min_precision)] = -1.0

        k = min(len(cand), max(limit, CANDIDATES))
        top = np.argpartition(-final, k - 1)[:k] if k < len(cand) else np.arange(len(cand))
        order = top[np.lexsort((cand[top], -final[top]))]
        out = []
        for j in order[:limit]:
            if final[j] < 0:
                break
            out.append((int(cand[j]), round(float(min(final[j], 1.0)) * 100.0, 1)))
        return out

    def _phrasing_precision(self, q: _Query, cand: np.ndarray) -> np.ndarray | None:
        """For each candidate, the largest share of one of its phrasings the query covers."""
        if not self._phr_post:
            return None
        hit = np.zeros(len(self._phr_doc), dtype=np.float32)
        found = False
        for tid in q.name_terms:
            rows = self._phr_post.get(tid)
            if rows is not None:
                hit[rows] += self._idf[tid]
                found = True
        if not found:
            return None
        hit_rows = np.flatnonzero(hit)
        share = np.minimum(hit[hit_rows] / self._phr_mass[hit_rows], 1.0)
        best = np.zeros(self._n, dtype=np.float32)
        np.maximum.at(best, self._phr_doc[hit_rows], share)
        return best[cand]

    def _asks(self, tokens: Sequence[str], mod: tuple[str, ...], *, strict: bool) -> bool:
        """Does the query ask for modifier `mod`? Typed with its diacritics, surely. Typed without,
        when the modifier is unmistakable or a neighbour pair is written so in the names; with no
        clue either way, only when not `strict` (benefit of the doubt against a penalty)."""
        m = len(mod)
        folded_mod = [fold_token(t) for t in mod]
        for i in range(len(tokens) - m + 1):
            window = tokens[i : i + m]
            if tuple(window) == mod:
                return True
            if (
                any(has_diacritics(t) for t in window)
                or [fold_token(t) for t in window] != folded_mod
            ):
                continue
            if mod in self._unmistakable:
                return True
            verdict = self._context(tokens, i, mod) if m == 1 else None
            if verdict or (verdict is None and not strict):
                return True
        return False

    def _context(self, tokens: Sequence[str], i: int, mod: tuple[str, ...]) -> bool | None:
        """True/False when a neighbour pair of tokens[i] is written with/without `mod` in the
        names; None when the names never write those pairs."""
        f = fold_token(tokens[i])
        verdict: bool | None = None
        if i > 0:
            spellings = self._pair_spellings.get((fold_token(tokens[i - 1]), f), set())
            if any(b == mod[0] for _, b in spellings):
                return True
            verdict = False if spellings else verdict
        if i + 1 < len(tokens):
            spellings = self._pair_spellings.get((f, fold_token(tokens[i + 1])), set())
            if any(a == mod[0] for a, _ in spellings):
                return True
            verdict = False if spellings else verdict
        return verdict

    # ----------------------------------------------------------------- suggestions
    def _shown(self, typed: str, correction: str | None) -> str:
        """A corrected syllable as the citizen would write it: with diacritics if they used them."""
        if correction is None:
            return typed
        return self._spelling.get(correction, correction) if has_diacritics(typed) else correction

    def suggestions(self, query: str, limit: int = 3) -> list[str]:
        """ "Did you mean" phrases: the query with typos fixed, else the nearest procedure names."""
        q = self._analyze(query)
        out: list[str] = []
        typed = " ".join(q.typed)
        fixed = typed
        for _ in range(2):  # a second pass fixes what the first made fixable ("khia sihn")
            analysed = self._analyze(fixed)
            if not analysed.corrections:
                break
            fixed = " ".join(self._shown(t, analysed.corrections.get(t)) for t in analysed.typed)
        # offer the corrected question only when it finds something
        if fixed != typed and self.search(fixed, 1):
            out.append(fixed)
        text = q.folded_text
        if len(text) >= 3:
            for name, _score, _ in process.extract(
                text, self._distinct_names, scorer=fuzz.QRatio, limit=limit, score_cutoff=72
            ):
                out.append(self._procs[self._docs_by_name[name][0]].name)
        return list(dict.fromkeys(out))[:limit]


__all__ = ["CODE_RE", "MAX_QUERY_CHARS", "SearchHit", "SearchIndex", "cut_at_word", "cut_query"]


class _QueryBuilder:
    """The groups of alternatives a query is scored by, built span by span: runs of plain words
    (each word, each pair, with typo corrections) and lexicon phrases (the phrase as typed and
    its rewrites)."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.groups: list[_Group] = []
        self.name_terms: set[int] = set()
        self.kept: list[str] = []
        self.typed: list[str] = []
        self.plain: list[str] = []
        self.corrections: dict[str, str] = {}
        self.run: list[str] = []  # plain words between fillers and lexicon phrases

    def add_group(self, weight: float, alternatives: list[_Alternative | None]) -> _Group:
        group = _Group(weight, [a for a in alternatives if a is not None])
        if weight > 0:
            self.groups.append(group)
        for alt in group.alternatives:
            self.name_terms.update(tid for tid, _ in alt.terms)
        return group

    def flush_run(self) -> None:
        run = self.run
        if not run:
            return
        folded = [fold_token(t) for t in run]
        unigram_groups = [self._word_group(tok, f, folded) for tok, f in zip(run, folded)]
        for k in range(len(folded) - 1):
            self._pair_group(folded, k, unigram_groups)
        self.kept.extend(run)
        self.typed.extend(run)
        self.plain.extend(run)
        run.clear()

    def _word_group(self, tok: str, f: str, folded: list[str]) -> _Group:
        index = self.index
        if has_diacritics(tok):
            # typed with diacritics: the word as written, else any spelling of it
            exact = index._term_ids.get(ACCENT_MARK + tok)
            alts = [
                index._alternative([(exact, 1.0)], 1.0) if exact is not None else None,
                index._alternative(index._terms([f], 1.0), ACCENT_LOOSE_FACTOR),
            ]
        else:
            alts = [index._alternative(index._terms([f], 1.0), 1.0)]
        if f not in index._words and f.isalpha() and len(f) >= 2:
            # not a word anywhere in the catalog: most likely a typo
            for cand in index._candidates(f)[:3]:
                alts.append(index._alternative(index._terms([cand], 1.0), CORRECTION_WEIGHT))
            best = index._best_in_context(folded, f)
            if best:
                self.corrections[tok] = best
        return self.add_group(index._span_weight([f]), alts)

    def _pair_group(self, folded: list[str], k: int, unigram_groups: list[_Group]) -> None:
        index = self.index
        a, b = folded[k], folded[k + 1]
        pair = f"{a} {b}"
        w = PAIR_WEIGHT * (
            STOPWORD_WEIGHT if a in index._stopwords or b in index._stopwords else 1.0
        )
        tid = index._term_ids.get(pair)
        alts = [index._alternative([(tid, 1.0)], 1.0) if tid is not None else None]
        if tid is None and not index._written(a, b):
            # a pair the catalog never writes: try one edit on a side that does not make
            # a known pair with its other neighbour ("ly" in "thuận tình ly hôn" stays)
            fixable = (
                k == 0 or not index._known_pair(folded[k - 1], a),
                k + 2 >= len(folded) or not index._known_pair(b, folded[k + 2]),
            )
            fixes = [f for f in index._pair_fixes(a, b) if fixable[f[1]]]
            for rank, (fixed, which, cand) in enumerate(fixes):
                alts.append(index._alternative([(index._term_ids[fixed], 1.0)], CORRECTION_WEIGHT))
                extra = index._alternative(index._terms([cand], 1.0), CORRECTION_WEIGHT)
                if extra is not None:
                    unigram_groups[k + which].alternatives.append(extra)
                    self.name_terms.update(t for t, _ in extra.terms)
                if rank == 0:
                    self.corrections.setdefault(self.run[k + which], cand)
        if any(alt is not None for alt in alts):
            pair_weight = max(alt.mass for alt in alts if alt is not None)
            self.add_group(w * pair_weight, alts)

    def add_synonym(
        self, span: Sequence[str], key: tuple[str, ...], alts: Sequence[tuple[str, ...]]
    ) -> None:
        index = self.index
        folded_span = [fold_token(t) for t in span]
        own = 1.0 if key in index._official_phrases else SYNONYM_ORIGINAL_WEIGHT
        alternatives = [index._alternative(index._terms(folded_span, 1.0), own)]
        per_word: list[float] = []
        for alt in alts:
            folded_alt = [fold_token(t) for t in alt]
            expansion = index._alternative(index._terms(folded_alt, 1.0), 1.0)
            alternatives.append(expansion)
            if expansion is not None:
                per_word.append(expansion.mass / len(folded_alt))
            self.kept.extend(alt)
        # Slang is often made of common syllables ("sổ đỏ" folds to "so do"): the concept
        # weighs what its official wording weighs per word, times the words typed.
        weight = index._span_weight(folded_span)
        if per_word:
            estimate = float(np.median(per_word)) * len(span)
            if all(f in index._stopwords for f in folded_span):
                estimate *= STOPWORD_WEIGHT
            weight = max(weight, estimate)
        self.add_group(weight, alternatives)
        self.kept.extend(span)
        self.typed.extend(span)
        # words the rewrite keeps still say what the citizen asked ("mất" -> "bị mất")
        self.plain.extend(t for t in span if any(loose_equal(t, a) for alt in alts for a in alt))
