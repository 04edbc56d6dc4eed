"""Sentences across papers: what a theme's papers share, and how two of them differ.

A survey's paragraph does more than list its papers: it says what a line of work has in
common ("AIM [1] and PyramidDrop [5] both reduce redundant visual tokens.") and how its
papers differ ("AIM merges tokens without training [1], whereas FoPru prunes them by the
vision encoder's attention [3]."). The model (the judging one: the 1.5B locally) writes the
phrase or the sentence from the papers' method sentences; the sentence is assembled with its
citations and passes the support check for each paper it cites, each clause against the
paper it is said of.
"""

from __future__ import annotations

import re

from assistant.citations import claims, content_words, markers, phrasing, support
from assistant.drafting import Drafter, called, dangles, repeats_claim
from assistant.frequency import DocumentFrequency
from assistant.papers import Paper
from assistant.prose import is_clean, plain_text
from assistant.roles import contribution, roles
from assistant.text import names_several

THREAD_PROMPT = (
    "You read the titles and main sentences of two papers from one section of a survey and "
    "say what they have in common. Complete the sentence 'Both papers ...' with one verb "
    "phrase of 3 to 12 words that is true of both, made of the words both papers use where "
    "it can. Reply with the phrase only."
)
# One worked example from outside the collection's field: the phrase's form is learnt, and a
# word of it copied into another section's phrase fails the check that every paper says it.
_THREAD_EXAMPLE = (
    "Section: Crop yield forecasting\nPapers:\n- Satellite Time Series for Wheat Yield: "
    "we forecast wheat yield from a time series of satellite images.\n- Weather-aware Maize "
    "Forecasts: we forecast maize yield from weather records and satellite images.\n"
    "Words both papers use: forecast, yield, satellite, images",
    "forecast crop yield from satellite images",
)
# Words that cannot open a verb phrase: "These papers all the ...", "Two works towards ..."
# are no sentences.
_NOT_A_VERB = {"the", "a", "an", "these", "those", "this", "both", "all", "they", "it", "papers"}
_NOT_A_VERB |= {"towards", "toward", "for", "to", "with", "in", "on", "of", "by", "via", "from"}

CONTRAST_PROMPT = (
    "You read the main sentences of two papers from one section of a survey and write one "
    "sentence that contrasts how they go about it, in the form '<first name> <does what>, "
    "whereas <second name> <does what>.' Each half says only what that paper's sentences "
    "say, in their words. Reply with the sentence only."
)
_CONTRAST_EXAMPLE = (
    "Section: Crop yield forecasting\n"
    "- Refer to it as: YieldSat. Sentences: we forecast wheat yield from a time series of "
    "satellite images with a recurrent network.\n"
    "- Refer to it as: Chen et al. Sentences: we forecast maize yield from weather records "
    "and satellite images with gradient boosting.",
    "YieldSat forecasts wheat yield from satellite image time series with a recurrent "
    "network, whereas Chen et al. combine weather records with satellite images using "
    "gradient boosting.",
)
_WHEREAS = re.compile(r",?\s+(?:whereas|while)\s+", re.IGNORECASE)
# A contrast reads as one thought only while it is short: two clauses of about 20 words.
CONTRAST_MAX_WORDS = 45
# Two papers sharing less than this share of their content words (Jaccard) are not
# contrasted: set after reading the aside drafts, where the two contrasts below it paired
# unrelated papers (0.06, 0.078); every dev contrast shared at least 0.11 (README, "Contrasts").
CONTRAST_MIN_SHARE = 0.10
# Each clause keeps its paper's phrasing (citations.phrasing) at least this much. In the aside
# drafts of 6 December, 4 of 16 contrast clauses fell under it, among them the inverted
# "PyramidDrop reduces LVLMs' efficiency by 40%" (0.50) that two blind reads found; the
# other twelve scored 0.70-1.00.
CONTRAST_MIN_PHRASING = 0.6


def closest_pairs(drafter: Drafter, papers: dict[int, Paper]) -> list[tuple[float, int, int]]:
    """The pairs of ``papers`` by number with the share of their content words they have in
    common (Jaccard), the closest first."""
    vocab = {n: content_words(drafter.facts(p)) for n, p in papers.items()}
    shares = (
        (len(vocab[a] & vocab[b]) / max(1, len(vocab[a] | vocab[b])), a, b)
        for a in papers
        for b in papers
        if a < b
    )
    return sorted(shares, key=lambda share: -share[0])


def common_thread(
    drafter: Drafter,
    theme: str,
    papers: dict[int, Paper],
    pairs: list[tuple[float, int, int]] | None = None,
) -> str | None:
    """A sentence on what two or more of a theme's papers share, citing each of them, or
    None. The model names what the two papers closest in wording share (then the next pair;
    ``pairs`` as :func:`closest_pairs` gives them, computed when not given) as a verb
    phrase; every paper of the theme whose facts hold each content word of it is cited
    ("AIM [1] and PyramidDrop [5] both reduce redundant visual tokens."), and the sentence
    must pass the support check for each."""
    facts = {n: drafter.facts(p) for n, p in papers.items()}
    for _, a, b in (closest_pairs(drafter, papers) if pairs is None else pairs)[:2]:
        phrase = shared_phrase(drafter, theme, [papers[a], papers[b]])
        sharing = [n for n in papers if phrase and support(phrase, facts[n]) >= 1]
        if len(sharing) >= 2:
            return thread_sentence(drafter, phrase, sharing, papers)
    return None


def shared_phrase(drafter: Drafter, theme: str, two: list[Paper]) -> str:
    """The model's verb phrase for what two papers share ("prune visual tokens"), or "". It
    reads each paper's title and method sentence, and the words both abstracts use."""
    method = [roles(p)["method"] for p in two]
    lines = "\n".join(
        f"- {plain_text(p.title)}: {plain_text(m)}" for p, m in zip(two, method, strict=True)
    )
    both = content_words(drafter.facts(two[0])) & content_words(drafter.facts(two[1]))
    said = re.findall(r"[A-Za-z][\w-]*", " ".join([two[0].title, *method]))
    shared = list(dict.fromkeys(w.lower() for w in said if set() < content_words(w) <= both))
    if drafter.frequency is not None:  # the words few papers use first: what is theirs
        counts = drafter.frequency.counts
        shared.sort(key=lambda w: min(counts[x] for x in content_words(w)))
    request = (
        f"Section: {plain_text(theme)}\nPapers:\n{lines}\n"
        f"Words both papers use: {', '.join(shared[:15])}"
    )
    reply = drafter.first_line(THREAD_PROMPT, _THREAD_EXAMPLE, request, 30)
    phrase = re.sub(r"^(both papers|both|they both|they)\s+", "", reply or "", flags=re.I)
    phrase = phrase.strip(" .\"'")
    if len(content_words(phrase)) < 3 or len(phrase.split()) > 14 or not is_clean(phrase):
        return ""  # "train and infer" says nothing a reader could use
    if drafter.frequency is not None and not particular(phrase, theme, drafter.frequency):
        return ""  # "learn from data to improve matching": what most papers of the field say
    if phrase[:1].isupper() and phrase.split()[0][1:].islower():
        phrase = phrase[0].lower() + phrase[1:]  # "Prune tokens ..." -> "prune tokens ..."
    first = phrase.split()[0]
    if first in _NOT_A_VERB or first.endswith("ing") or not first.isalpha() or not first.islower():
        return ""  # a noun phrase or a sentence, not what the papers do
    # Acronyms and names as the abstracts write them: "grpo" -> "GRPO", "3d" -> "3D".
    written = {
        w.lower(): w
        for p, m in zip(two, method, strict=True)
        for w in re.findall(r"[\w-]+", " ".join([p.title, m]))
        if any(c.isupper() for part in w.split("-") for c in part[1:])  # not "Cross-Modal"
    }
    head, *rest = phrase.split(" ")
    return " ".join([head, *(written.get(w.lower(), w) if w.islower() else w for w in rest)])


def particular(phrase: str, theme: str, frequency: DocumentFrequency) -> bool:
    """Whether ``phrase`` names something few papers of the collection say, beyond its
    section's heading ``theme`` ("prune redundant visual tokens", not "perform image
    segmentation tasks" nor, under "Semi-supervised segmentation", "learn semi-supervised
    segmentation")."""
    return any(frequency.particular(w) for w in content_words(phrase) - content_words(theme))


def thread_sentence(
    drafter: Drafter, phrase: str, sharing: list[int], papers: dict[int, Paper]
) -> str | None:
    """ "A [1], B [2] and C [3] all <phrase>.", checked; numbers alone where names are long
    or repeated ("Several works <phrase> [1], [2], [3].")."""
    names = [called(papers[n]) for n in sharing]
    if len(set(names)) < len(names) or any(len(x.split()) > 4 for x in names):
        cited = ", ".join(f"[{n}]" for n in sharing)
        sentence = f"{'Two' if len(sharing) == 2 else 'Several'} works {phrase} {cited}."
    else:
        named = [f"{x} [{n}]" for x, n in zip(names, sharing, strict=True)]
        listed = ", ".join(named[:-1]) + " and " + named[-1]
        sentence = f"{listed} {'both' if len(named) == 2 else 'all'} {phrase}."
    return drafter.check(sentence, papers)


def contrast(
    drafter: Drafter,
    theme: str,
    papers: dict[int, Paper],
    pairs: list[tuple[float, int, int]] | None = None,
) -> str | None:
    """A sentence on how the two papers of the theme closest in wording differ (sharing at
    least :data:`CONTRAST_MIN_SHARE` of their content words), each clause
    cited to its paper and supported by it ("A ... [1], whereas B ... [2]."), or None. The
    model reads each paper's own method and result sentences (:func:`roles.contribution`)."""
    pairs = closest_pairs(drafter, papers) if pairs is None else pairs
    if not pairs or pairs[0][0] < CONTRAST_MIN_SHARE:
        return None  # no two papers close enough for a contrast to be about one thing
    _, a, b = pairs[0]
    lines = "\n".join(
        f"- Refer to it as: {called(papers[n])}. Sentences: "
        f"{plain_text(' '.join(contribution(papers[n])))}"
        for n in (a, b)
    )
    request = f"Section: {plain_text(theme)}\n{lines}"
    reply = drafter.first_line(CONTRAST_PROMPT, _CONTRAST_EXAMPLE, request, 90)
    if reply is None:
        return None
    return contrast_sentence(drafter, reply, a, b, papers)


def contrast_sentence(
    drafter: Drafter, reply: str, a: int, b: int, papers: dict[int, Paper]
) -> str | None:
    """The model's "A ..., whereas B ..." with ``[a]`` and ``[b]`` after their clauses, if
    each clause opens with its paper's name, the two say different things, and the sentence
    is short and passes the checks (each clause supported by its own paper); else None."""
    halves = _WHEREAS.split(reply.strip().rstrip("."), 1)
    if len(halves) != 2:
        return None
    first, second = (h.strip() for h in halves)
    if not first.startswith(called(papers[a])) or not second.startswith(called(papers[b])):
        return None  # a clause about something else, or the papers in the other order
    if called(papers[a]) == called(papers[b]) or repeats_claim(first, second):
        return None  # "Li et al. ..., whereas Li et al. ...", or no difference said
    sentence = f"{first} [{a}], whereas {second} [{b}]."
    if len(sentence.split()) > CONTRAST_MAX_WORDS or dangles(sentence):
        return None  # too long to read as one thought, or "to tackle the challenge" unnamed
    for clause, n in ((first, a), (second, b)):
        if phrasing(clause, drafter.facts(papers[n])) < CONTRAST_MIN_PHRASING:
            return None  # its paper's words, put together into what the paper does not say
    return drafter.check(sentence, {a: papers[a], b: papers[b]})


def facet_contrast(
    drafter: Drafter, papers: dict[int, Paper], side_of: dict[str, str]
) -> str | None:
    """How a theme's papers differ by the side of the topic's "A vs. B" each takes, where
    they take both: "POVID is about preference-based alignment [1], whereas MVP is about
    training-free mitigation [2]." (the first paper of each side; a blind read asked for it
    when a topic set two approaches against each other and the draft listed them).
    ``side_of``: paper id to side (:func:`subtopics.papers_by_side`). The sentence passes
    the checks, each clause against its own paper, or is None; its verb ("is about", "work
    on") carries no word of its own for the support check to find."""
    first: dict[str, int] = {}
    for n in sorted(papers):
        side = side_of.get(papers[n].id)
        if side and side not in first:
            first[side] = n
    if len(first) < 2:
        return None
    (side_a, a), (side_b, b) = list(first.items())[:2]
    if called(papers[a]) == called(papers[b]):
        return None
    clauses = [
        f"{called(papers[n])} {'work on' if names_several(papers[n]) else 'is about'} "
        f"{_as_object(side)} [{n}]"
        for side, n in ((side_a, a), (side_b, b))
    ]
    return drafter.check(f"{clauses[0]}, whereas {clauses[1]}.", {a: papers[a], b: papers[b]})


def _as_object(side: str) -> str:
    """A side as the object of a verb: "Training-free mitigation" -> "training-free
    mitigation", but "LVLM hallucination" and "3D settings" keep their case."""
    first = side.split()[0]
    return (
        side
        if first[1:] != first[1:].lower() or not first[:1].isalpha()
        else (side[:1].lower() + side[1:])
    )


def said_again(sentence: str, versus: str) -> bool:
    """Whether ``sentence``, citing only papers of the contrast ``versus``, says what the
    contrast's clause on its paper says (four in five content words of either are the
    other's): "AIM proposes a training-free adaptive inference method [1]." after "AIM
    proposes a training-free adaptive inference method [1], whereas ..." """
    cited = set(markers(sentence))
    if not cited or not cited <= set(markers(versus)):
        return False
    clauses = [text for text, run in claims(versus) if cited & set(run)]
    return any(repeats_claim(sentence, c) or repeats_claim(c, sentence) for c in clauses)


def synthesized(
    drafter: Drafter, theme: str, papers: dict[int, Paper], body: list[str]
) -> tuple[list[str], list[str]]:
    """What a theme's papers share and how the two closest differ, where the model writes
    such sentences and the checks pass them (the head of the paragraph), and the theme's
    paragraph ``body`` less any sentence that only says again what the contrast says of its
    papers."""
    pairs = closest_pairs(drafter, papers)
    thread = common_thread(drafter, theme, papers, pairs)
    versus = contrast(drafter, theme, papers, pairs) if len(papers) >= 2 else None
    if thread and versus and repeats_claim(versus, thread):
        versus = None
    head = [s for s in (thread, versus) if s and not any(repeats_claim(s, x) for x in body)]
    if versus in head:  # its papers' own sentences that the contrast says again go
        body = [x for x in body if not said_again(x, versus)]
    return head, body
