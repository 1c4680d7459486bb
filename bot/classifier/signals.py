"""Complaint, sarcasm and sentiment signals read from ticket text, in one pass.

The signals are deliberately simple, named patterns: a guardrail must be able to say
*which* signal fired, and a reviewer must be able to read why. They are not run one by
one: every pattern's possible first letters are worked out from the pattern itself, one
Aho–Corasick automaton finds all of them in a single pass over the text, and only a
pattern whose start was found is tried, at that spot. The cost is linear in the text's
length with a small constant, so guardrails can read the whole ticket.

The keyword sentiment is then combined with the learned tone model (bot.classifier.
sentiment): the model decides the tone; the patterns can only make it less positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import compress
from re import _compiler as sre_compile  # type: ignore[attr-defined]
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

import ahocorasick

from bot.classifier.base import Sentiment
from bot.classifier.no_go_patterns import NO_GO_PATTERNS
from bot.classifier.textcache import TextCache, text_cache
from bot.frozen import fast_init

# Longer than this, even one pass is not done: the ticket goes to a human (`too_long`).
MAX_SCAN_CHARS = 200_000
# Up to this many letters of each pattern's possible starts go into the automaton. Longer
# anchors are hit less often by common words ("what", "you ", "on "), so fewer patterns are
# tried in Python: on real text, 8 letters try about a quarter as many as 4 did.
ANCHOR_CHARS = 8

COMPLAINT_SIGNALS: dict[str, tuple[str, ...]] = {
    "money": (
        r"\bcharg(?:e|ed|ing)\b.{0,30}\b(?:twice|double|again|two times|wrong)",
        r"\bdouble[- ]?charg",
        r"\bover-?charg",
        r"\brefund",
        r"\bmoney\b",
        r"\bbilled\b.{0,20}\b(?:twice|again|wrong)",
        r"\bpaying for\b",
        r"\b(?:taken|debited|deducted)\b.{0,30}\b(?:twice|again|without)",
        r"\bprice (?:hike|increase)",
        r"\bsurprise\b.{0,25}\bcharge",
        r"\bcharg(?:e|ed|ing)\b.{0,40}\b(?:never|without|didn'?t|did not|not)\b",
    ),
    "access": (
        r"\bcan'?t\b.{0,15}\blog ?in",
        r"\bcannot\b.{0,15}\blog ?in",
        r"\bunable to\b.{0,15}\b(?:log ?in|sign ?in|access)",
        r"\blocked out\b",
        r"\bcan'?t (?:sign in|access|get in)",
    ),
    "outage": (
        r"\b(?:is|was|been|keeps?|went) (?:down|broken|crashing)",
        r"\bbroken\b",
        r"\bnot working\b",
        r"\bdoesn'?t work",
        r"\bdon'?t work",
        r"\bcrash(?:es|ed|ing)?\b",
        r"\boutage\b",
        r"\berror\b",
        r"\bnothing (?:loads|works|happens|shows)",
        r"\bfreez(?:es|ing)\b",
        r"\bkeeps? (?:crashing|failing|logging me out)",
    ),
    "cancel": (
        r"\bcancel",
        r"\bunsubscribe",
        r"\bclose my account",
        r"\bswitch(?:ing)? to\b",
    ),
    "repeat": (
        r"\bagain\b",
        r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time\b",
        r"\bstill\b.{0,20}\b(?:not|no|broken|waiting)",
        r"\bnobody\b",
        r"\bno one\b",
        r"\bno (?:reply|response|answer)",
    ),
    "negation": (
        r"\bnot (?:happy|impressed|acceptable|ok|okay|great|good)\b",
        r"\bunacceptable\b",
        r"\bdisappoint",
        r"\bfrustrat",
        r"\bterrible\b",
        r"\bawful\b",
        r"\bworst\b",
        r"\bridiculous\b",
        r"\bfurious\b",
        r"\bangry\b",
    ),
}

# Markers that are sarcastic on their own.
SARCASM_MARKERS = (
    r"\boh,? (?:great|wonderful|perfect|fantastic|brilliant|joy|lovely|nice)",
    r"\bthanks for nothing\b",
    r"\blove (?:paying|being|waiting|getting|having)\b",
    r"\bjust (?:great|perfect|wonderful|brilliant|fantastic)\b",
    r"\bgreat job\b.{0,40}\b(?:charg|break|broke|lock|lost|delet)",
    r"\bwell done\b.{0,40}\b(?:charg|break|broke|lock|lost|delet)",
    r"\bthanks (?:so much )?for (?:the surprise|logging|breaking|charging|locking|deleting)",
    r"\bsuch fun\b|\bwhat a joy\b|\btruly a masterpiece\b",
    r"\bnothing says\b",
    r"\b(?:great|wonderful|fantastic|perfect|brilliant|lovely),? another\b",
    r"\b(?:great|wonderful|fantastic|amazing|excellent) (?:service|support|work),? truly\b",
    r"\bexactly what i (?:wanted|needed)\b.{0,30}\b(?:for my birthday|today)",
    r"\bclap(?:ping)?\b|👏",
    r"/s\b",
    r"🙄",
)
# Markers that are sarcastic only next to a complaint ("thanks a lot for your help!" is not).
SARCASM_IF_COMPLAINT = (
    r"\bthanks a lot\b",
    r"\bgenius(?:es)?\b",
    r"\blove how\b",
    r"\bbravo\b",
    r"\bkeep up the great work\b",
    r"\breally (?:appreciate|enjoying)\b",
    r"\bso (?:glad|nice of you)\b",
)
# Politeness formulas: they carry no praise, so they neither make text positive nor sarcastic.
COURTESY = (
    r"\bthanks? (?:you )?(?:so much |very much )?(?:in advance|for (?:your|the) (?:help|time|reply|quick reply|update|response|quick response|effort|link|offer)[^.!?\n]*)",
    r"\bthank you for (?:getting back|resetting|your help)[^.!?\n]*",
    r"\bmany thanks\b",
    r"\bthanks!?$",
    r"\b(?:kind|best|warm) regards\b",
    r"\bhave a (?:nice|great|good) day\b",
    r"\bhope you(?:'re| are) (?:well|doing well)\b",
    r"\bappreciate (?:it|the effort|your help)\b",
    r"\bthx\b|\bcheers\b",
    r"\bsorry to (?:bother|trouble) you(?: again)?\b",
    r"^best,?$",
)
# Quoted history ("> …") and its "On …, X wrote:" line are someone else's words.
_QUOTED = (r"^>.*$", r"^On .{0,120} wrote:$")
_PRAISE = (
    r"\bgreat\b",
    r"\blove\b",
    r"\bwonderful\b",
    r"\bamazing\b",
    r"\bfantastic\b",
    r"\bbrilliant\b",
    r"\bawesome\b",
    r"\bperfect\b",
    r"\bgenius",
    r"\bbravo\b",
    r"\bkudos\b",
    r"\bwell done\b",
    r"\bimpressive\b",
    r"\bwow\b",
    r"\bexcellent\b",
)
# "…, but / however / unfortunately …": sincere praise followed by the real complaint.
_CONTRAST = (
    r"\bbut\b",
    r"\bhowever\b",
    r"\bunfortunately\b",
    r"\bsadly\b",
    r"\bthough\b",
    r"\balthough\b",
    r"\bthat said\b",
    r"\bexcept\b",
    r"\bstill\b",
)
# A problem told as solved ("you fixed it in a day, thanks!") is praise, not sarcasm.
_RESOLVED = (
    r"\b(?:fixed|solved|sorted|resolved)\b",
    r"\bworks (?:perfectly |again |fine )?now\b",
    r"\bgot me back\b",
    r"\bcame the same day\b",
    r"\bquick fix\b",
)

_POSITIVE = (
    r"\bthank(?:s| you)\b",
    r"\bgreat\b",
    r"\blove\b",
    r"\bawesome\b",
    r"\bamazing\b",
    r"\bexcellent\b",
    r"\bfantastic\b",
    r"\bhelpful\b",
    r"\bappreciate",
    r"\bkudos\b",
    r"\bwonderful\b",
    r"\bperfect\b",
    r"❤|👍|🙏|😊|🎉",
)
_NEGATIVE = (
    r"\bangry\b",
    r"\bfurious\b",
    r"\bterrible\b",
    r"\bawful\b",
    r"\bworst\b",
    r"\bunacceptable\b",
    r"\bridiculous\b",
    r"\bdisappoint",
    r"\bfrustrat",
    r"\bbroken\b",
    r"\bnot working\b",
    r"\bcan'?t\b",
    r"\bcannot\b",
    r"\bwaste\b",
    r"\bscam\b",
    r"\bhate\b",
    r"\bannoy",
    r"😡|🤬|😤|👎",
    r"!!+",
)

# A bad situation told as if it were good ("so happy to sit in traffic for two hours",
# "lost a whole afternoon and got nowhere, great experience"): praise around one of these is
# the classic shape of sarcasm. Read by `read_signals` only (not part of the keyword sentiment).
ORDEAL = (
    r"\bstuck (?:in|on|at|with)\b",
    r"\b(?:traffic|rain(?:y|ing)?|snow(?:ing)?|storms?|heat ?wave|delays?|delayed)\b",
    r"\bon hold\b",
    r"\bwait(?:ed|ing)?\b.{0,25}\b(?:hours?|forever|ages|all day|days|weeks)\b",
    r"\b(?:hours?|minutes|days|weeks) (?:of )?(?:waiting|on hold|in (?:a )?(?:line|queue|traffic))",
    r"\b(?:lost|wasted|spent|burned|killed) (?:a |an |the |my |our |half (?:a |the )?)?(?:whole |entire )?"
    r"(?:afternoon|morning|evening|day|weekend|hour|hours|week|night)\b",
    r"\b(?:got|getting|going|went) nowhere\b",
    r"\b(?:flight|train|bus|delivery|order)s? (?:was |were |got |is )?(?:delayed|cancell?ed|late|lost)",
)
ORDEAL_CONTRAST = ("contrast", "resolved")
# Delight words that, around a bad situation, make it sarcasm ("loved every minute of it").
DELIGHT = (
    r"\blov(?:e|ed|ing)\b",
    r"\b(?:so|very|really) (?:happy|glad|pleased)\b",
    r"\b(?:delighted|thrilled|enjoy(?:ed|ing)?|fun)\b",
)

NO_GO_PREFIX = "no_go:"
# Every group of patterns the scanner reports, by name. Order matters only within a group
# (as in an alternation: at one spot the first pattern that matches wins).
GROUPS: dict[str, tuple[str, ...]] = {
    **{f"complaint:{name}": patterns for name, patterns in COMPLAINT_SIGNALS.items()},
    "sarcasm": SARCASM_MARKERS,
    "sarcasm_if_complaint": SARCASM_IF_COMPLAINT,
    "courtesy": COURTESY,
    "quoted": _QUOTED,
    "praise": _PRAISE,
    "contrast": _CONTRAST,
    "resolved": _RESOLVED,
    "positive": _POSITIVE,
    "negative": _NEGATIVE,
    "ordeal": ORDEAL,
    "delight": DELIGHT,
    # The no-go topics ride along in the same pass (bot.classifier.no_go reads them here).
    **{f"{NO_GO_PREFIX}{name}": patterns for name, patterns in NO_GO_PATTERNS.items()},
}
_NO_GO_GROUP_OF = {name: f"{NO_GO_PREFIX}{name}" for name in NO_GO_PATTERNS}  # topic -> group
# Which text a group reads: all of it, without courtesy formulas, or without quotes too.
_READS = {
    **{f"{NO_GO_PREFIX}{name}": "text" for name in NO_GO_PATTERNS},
    "sarcasm": "text",
    "negative": "text",
    "sarcasm_if_complaint": "plain",
    "positive": "plain",
    "praise": "plain",
    "contrast": "plain",
    "resolved": "plain",
    "ordeal": "plain",
    "delight": "plain",
}


class PatternError(ValueError):
    """A pattern's possible first letters cannot be worked out; write it with a literal start."""


def _starts(items: list, prefix: str, limit: int) -> set[str]:
    """The lower-case strings (up to `limit` letters) a match of `items` can start with."""
    if len(prefix) >= limit or not items:
        return {prefix} if prefix else set()
    (op, av), rest = items[0], list(items[1:])
    if op is C.AT:
        return _starts(rest, prefix, limit)
    if op is C.LITERAL:
        return _starts(rest, prefix + chr(av).lower(), limit)
    if op is C.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is C.LITERAL:
                chars.add(chr(value).lower())
            elif kind is C.RANGE and value[1] - value[0] < 64:
                chars.update(chr(c).lower() for c in range(value[0], value[1] + 1))
            else:
                chars = set()
                break
        if not chars:
            return {prefix} if prefix else set()
        return set().union(*(_starts(rest, prefix + ch, limit) for ch in chars))
    if op is C.SUBPATTERN:
        return _starts(list(av[3]) + rest, prefix, limit)
    if op is C.BRANCH:
        return set().union(*(_starts(list(b) + rest, prefix, limit) for b in av[1]))
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        low, _, body = av
        taken = _starts(list(body), prefix, limit)
        if low == 0:
            skipped = _starts(rest, prefix, limit)
            return taken | skipped if prefix or (taken and skipped) else set()
        return taken
    return {prefix} if prefix else set()


def anchors(pattern: str) -> set[str]:
    """Every lower-case start of a match of `pattern`; PatternError if one could be empty."""
    return _anchors(pattern, _parsed(pattern))


# How every pattern is compiled (and parsed). A plain int, as `re.compile` passes it on:
# given the RegexFlag itself, the parser and compiler test it with enum operators, about a
# third of building the scanner at import.
_FLAGS = int(re.IGNORECASE | re.MULTILINE)


def _parsed(pattern: str) -> list:
    return list(sre_parse.parse(pattern, _FLAGS))


def _anchors(pattern: str, items: list) -> set[str]:
    found = _starts(items, "", ANCHOR_CHARS)
    if not found or "" in found:
        raise PatternError(f"no literal start in {pattern!r}")
    return found


@dataclass(frozen=True)
class _Pattern:
    group: str
    order: int
    rx: re.Pattern[str]


def _is_word(ch: str) -> bool:
    """Whether `re` counts the character as a word character (as its word boundary does)."""
    return ch.isalnum() or ch == "_"


def _boundary_first(items: list) -> bool:
    """Whether every match of the parsed pattern starts at a word boundary (a leading
    boundary)."""
    if items and items[0][0] is C.BRANCH:
        return all(_boundary_first_items(list(b)) for b in items[0][1][1])
    return _boundary_first_items(items)


def _boundary_first_items(items: list) -> bool:
    while items and items[0][0] is C.SUBPATTERN:
        items = list(items[0][1][3]) + items[1:]
    if items and items[0][0] is C.BRANCH:
        return all(_boundary_first_items(list(b) + items[1:]) for b in items[0][1][1])
    return bool(items) and items[0] == (C.AT, C.AT_BOUNDARY)


def build_scanner(
    groups: dict[str, tuple[str, ...]],
) -> tuple[ahocorasick.Automaton, list[_Pattern]]:
    """One automaton over every pattern's possible starts, and the patterns it points to."""
    patterns: list[_Pattern] = []
    boundary_first: list[bool] = []
    by_anchor: dict[str, list[int]] = {}
    for group, sources in groups.items():
        for order, source in enumerate(sources):
            # Parsed once, for its starts, its leading boundary and the compiled pattern.
            tree = sre_parse.parse(source, _FLAGS)
            patterns.append(_Pattern(group, order, sre_compile.compile(tree, _FLAGS)))
            items = list(tree)
            boundary_first.append(_boundary_first(items))
            for anchor in _anchors(source, items):
                by_anchor.setdefault(anchor, []).append(len(patterns) - 1)
    automaton = ahocorasick.Automaton()
    for anchor, ids in by_anchor.items():
        # Patterns that start with \b before a word character cannot match right after
        # another word character: at such a spot only the others are tried.
        free = tuple(i for i in ids if not (boundary_first[i] and _is_word(anchor[0])))
        automaton.add_word(anchor, (len(anchor), tuple(ids), free))
    automaton.make_automaton()
    return automaton, patterns


_AUTOMATON, _PATTERNS = build_scanner(GROUPS)


def scan(text: str) -> dict[str, list[tuple[int, int]]]:
    """Every group's matches as (start, end), in one pass; overlapping matches of a group
    are dropped as an alternation's `findall` would."""
    return scan_with(_AUTOMATON, _PATTERNS, text)


def scan_with(
    automaton: ahocorasick.Automaton, patterns: list[_Pattern], text: str
) -> dict[str, list[tuple[int, int]]]:
    """`scan` with another scanner (`build_scanner`): the no-go topics have their own."""
    low = text.lower()
    if len(low) != len(text):  # "İ" lower-cases to two characters; the patterns read it as i
        low = text.replace("\u0130", "i").lower()
        if len(low) != len(text):
            low = text
    found: dict[tuple[int, str], tuple[int, int]] = {}  # (start, group) -> (order, end)
    for end, (size, ids, free) in automaton.iter(low):
        start = end - size + 1
        if start and ((before := low[start - 1]).isalnum() or before == "_"):  # _is_word
            if not free:
                continue
            ids = free
        for i in ids:
            p = patterns[i]
            key = (start, p.group)
            if key in found and found[key][0] <= p.order:
                continue
            m = p.rx.match(low, start)
            if m is not None:
                found[key] = (p.order, m.end())
    spans: dict[str, list[tuple[int, int]]] = {}
    last: dict[str, int] = {}
    for (start, group), (_, end) in sorted(found.items()):
        if start < last.get(group, -1):
            continue
        last[group] = max(end, start + 1)
        spans.setdefault(group, []).append((start, end))
    return spans


def _outside(spans: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans that do not start inside any hole (courtesy formulas, quoted lines)."""
    if not holes:
        return spans
    if len(holes) == 1:  # the usual case: one courtesy formula
        ((a, b),) = holes
        return [s for s in spans if not a <= s[0] < b]
    return [s for s in spans if not any(a <= s[0] < b for a, b in holes)]


@fast_init
@dataclass(frozen=True)
class TextSignals:
    """What the text says beyond its topic: complaints, sarcasm and tone."""

    complaints: tuple[str, ...]
    sarcasm: bool
    sentiment: Sentiment
    # The learned tone model's view (None when the text was not read by it).
    tone_sarcasm: float = 0.0
    positive_margin: float = 0.0
    learned_complaint: str = "none"
    keyword_sentiment: Sentiment = Sentiment.NEUTRAL

    @property
    def has_complaint(self) -> bool:
        return bool(self.complaints) or self.sarcasm


@text_cache()
def _hits(text: str) -> dict[str, list[tuple[int, int]]]:
    """Each group's matches in the part of the text it reads (one scan, cached)."""
    spans = scan(text[:MAX_SCAN_CHARS])
    courtesy = spans.get("courtesy", [])
    quoted = spans.get("quoted", [])
    if not courtesy and not quoted:
        return spans  # no holes: every group reads all of the text
    holes = courtesy + quoted
    for group, found in spans.items():
        reads = _READS.get(group, "polite")
        if reads != "text":
            spans[group] = _outside(found, courtesy if reads == "polite" else holes)
    return spans


def no_go_among(text: str, topics: list[str]) -> list[str]:
    """The given no-go topics (bot.classifier.no_go) the text touches, in their order, from
    the same one pass (and cache) as the signals; a text longer than MAX_SCAN_CHARS is only
    partly scanned."""
    found = _hits(text)
    return [topic for topic in topics if _NO_GO_GROUP_OF.get(topic) in found]


# Each complaint signal's name and its group in the scan.
_COMPLAINT_GROUPS = tuple((name, f"complaint:{name}") for name in COMPLAINT_SIGNALS)
_COMPLAINT_NAMES = tuple(name for name, _ in _COMPLAINT_GROUPS)
_COMPLAINT_KEYS = tuple(group for _, group in _COMPLAINT_GROUPS)


def _keyword_reading(
    found: dict[str, list[tuple[int, int]]],
) -> tuple[tuple[str, ...], bool, Sentiment]:
    """(complaints, sarcasm, sentiment) of `_keyword_signals`, from the text's matches."""
    hits = found.get  # a group's matches, or None when it has none
    # The complaint groups with matches, picked in C.
    complaints = tuple(compress(_COMPLAINT_NAMES, map(hits, _COMPLAINT_KEYS)))
    sarcasm = bool(hits("sarcasm")) or bool(complaints and hits("sarcasm_if_complaint"))
    positive = len(hits("positive") or ())
    negative = len(hits("negative") or ()) + len(complaints)
    if not sarcasm and complaints and hits("praise"):
        # Praise next to a complaint, with no "but …" and no "it's fixed now": sarcasm.
        sarcasm = not hits("contrast") and not hits("resolved")
    if sarcasm or (complaints and negative >= positive):
        sentiment = Sentiment.NEGATIVE
    elif positive > negative:
        # Praise with any complaint in it is never reported as positive.
        sentiment = Sentiment.NEUTRAL if complaints else Sentiment.POSITIVE
    elif negative > positive:
        sentiment = Sentiment.NEGATIVE
    else:
        sentiment = Sentiment.NEUTRAL
    return complaints, sarcasm, sentiment


def _keyword_signals(text: str) -> TextSignals:
    """Named complaint signals, a sarcasm flag and a keyword sentiment sarcasm cannot fool."""
    complaints, sarcasm, sentiment = _keyword_reading(_hits(text))
    return TextSignals(
        complaints=complaints, sarcasm=sarcasm, sentiment=sentiment, keyword_sentiment=sentiment
    )


keyword_signals = TextCache(_keyword_signals)


def _pattern_reading(text: str) -> tuple[tuple[str, ...], bool, Sentiment, Sentiment]:
    """(complaints, sarcasm, sentiment, keyword sentiment) of `_pattern_signals`."""
    found = _hits(text)
    complaints, sarcasm, sentiment = _keyword_reading(found)
    if not found.get("ordeal"):
        return complaints, sarcasm, sentiment, sentiment
    ordeal_sarcasm = sarcasm or (
        bool(found.get("praise") or found.get("positive") or found.get("delight"))
        and not any(found.get(g) for g in ORDEAL_CONTRAST)
    )
    return (
        (*complaints, "ordeal"),
        ordeal_sarcasm,
        Sentiment.NEGATIVE if ordeal_sarcasm else sentiment,
        sentiment,
    )


def _pattern_signals(text: str) -> TextSignals:
    """The keyword signals plus the bad-situation signal (`ordeal`): praise wrapped around a
    bad situation, with no "but …" and no "it's fixed now", is sarcasm."""
    complaints, sarcasm, sentiment, keyword = _pattern_reading(text)
    return TextSignals(
        complaints=complaints, sarcasm=sarcasm, sentiment=sentiment, keyword_sentiment=keyword
    )


# Cached on their own for other readers; read_signals (itself cached) computes them once
# per text, so it calls them directly rather than through two more caches.
pattern_signals = TextCache(_pattern_signals)

_SENTIMENT = {str(s): s for s in Sentiment}
_TONE_READERS: list = []  # bot.classifier.sentiment's read_tone and tone_model, once imported


def _tone_readers() -> list:
    """The tone model's readers, imported on first use (the tone model imports numpy)."""
    from bot.classifier.sentiment import read_tone, tone_model

    _TONE_READERS[:] = [read_tone, tone_model]
    return _TONE_READERS


@text_cache()
def read_signals(text: str) -> TextSignals:
    """Keyword signals combined with the learned tone model.

    The tone model gives the sentiment; it is positive only when neither a complaint
    pattern, nor the learned complaint head, nor sarcasm (a marker or the sarcasm head
    above its threshold) says otherwise, and patterns that read negative win over neutral.
    """
    read_tone, tone_model = _TONE_READERS or _tone_readers()
    complaints, word_sarcasm, _, keyword = _pattern_reading(text)
    tone = read_tone(text)
    model = tone_model()
    sarcasm = word_sarcasm or tone.sarcasm >= model.sarcasm_threshold
    learned = tone.complaint if tone.complaint_score >= model.complaint_threshold else "none"
    sentiment = _SENTIMENT[tone.sentiment]
    vetoed = sentiment is Sentiment.POSITIVE and (sarcasm or bool(complaints) or learned != "none")
    plainly_negative = sentiment is Sentiment.NEUTRAL and keyword is Sentiment.NEGATIVE
    if vetoed or word_sarcasm or plainly_negative:
        sentiment = Sentiment.NEGATIVE
    return TextSignals(
        complaints=complaints,
        sarcasm=sarcasm,
        sentiment=sentiment,
        tone_sarcasm=round(tone.sarcasm, 4),
        positive_margin=round(tone.positive_margin, 4),
        learned_complaint=learned,
        keyword_sentiment=keyword,
    )
