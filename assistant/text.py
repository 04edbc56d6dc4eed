"""Text helpers that writing and answering share: how prose names a paper and dates it, the
third person, ``[n]`` placed in a sentence, sentences split, words stemmed, stop words."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from assistant.papers import Paper

# --- stop words: one set per purpose, each tuned for its own job --------------------------------
# Left out of support checks (citations.support): function words and the verbs every abstract
# uses ("we propose a new method"), so that only the claim's own words must be in the evidence.
SUPPORT_STOP = frozenset(
    "a an the of in on for to and or with by from as at is are was were be been this "
    "that these those it its their they we our which who how what when where why can "
    "could may might also than then into over under about using use used based via "
    "new paper work approach method methods model models propose proposes proposed "
    "present presents show shows results describe describes described introduce "
    "introduces introduced study studies authors "
    # Connectives that relate papers ("Unlike A [1], B ... [2]") and state no fact of either.
    "unlike while whereas both instead similarly likewise however contrast compared each "
    "other others several further".split()
)
# Title words that name no theme (writing's theme names and shared terms): besides function
# words, the field's everyday title words ("learning", "vision", "models"), which every theme has.
THEME_STOP = frozenset(
    "a an the of for and in on with via to from by towards toward using based large models "
    "model methods method approaches approach work works paper papers "
    "learning network networks efficient improving improved new framework vision visual "
    "image images neural deep multi task tasks training data".split()
)
# Left out of the map's theme names (web map, themes.theme_names): function and question words
# only, since a theme of the whole collection may well be "learning" or "vision".
MAP_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the of for and with via from to in on by towards toward using based is are at as "
        "how what when can do does new large we our their its your all any more not into",
    )
)
# Skipped for a bibkey's title word (corpus.merge): short on purpose, and frozen, since a
# changed list changes the keys of papers already exported and cited.
BIBKEY_STOP = frozenset(
    {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward"}
)

# --- authors and years ---------------------------------------------------------------------------
# Last words that make an author an organisation: "Kimi Team" is a team, not a person called Team.
TEAM_WORDS = frozenset({"team", "group", "lab", "consortium"})


def is_team(name: str) -> bool:
    """Whether the author ``name`` is a team or an organisation (``Kimi Team``), kept whole."""
    words = name.split()
    return len(words) > 1 and words[-1].lower() in TEAM_WORDS


# A name as papers coin them: a capital, then an inner capital, a digit or a second capital
# ("X-CLIP", "CW-BASS", "DietNeRF", "M3EL", "SortedNet").
_COINED = r"([A-Z][\w-]*?(?:[a-z-][A-Z]|[A-Za-z]\d|[A-Z]{2})[\w-]*)"
_NAMING = re.compile(r"\b(?:called|dubbed|named|termed|coined)\s+\(?" + _COINED)
_PROPOSING = re.compile(
    r"\b(?:propose|present|introduce|develop)[sd]?\s+" + _COINED + r"(?=[\s,.:;(])"
)
# "a Cross-level Multi-instance Distillation (CMD) framework": an acronym of capitalised
# words is the paper's coinage; "large language models (LLMs)" or "(MoE)" are the field's.
_PARENTHESISED = re.compile(r"[A-Z][\w-]*\s+\(" + _COINED + r"\)")
# What a name for data, not a method, follows: "a new dataset called Ref-ZOM".
_DATA_BEFORE = re.compile(r"\b(?:dataset|benchmark|database|corpus)\s+(?:\w+\s+)?$", re.I)
# The paper's own proposal ("we propose", "this paper introduces"), not another's
# ("the recently proposed Kolmogorov-Arnold Network (KAN)").
_PROPOSAL = re.compile(
    r"\b(?:we|paper|work|study)\s+(?:\w+\s+)?(?:propose|present|introduce|develop)",
    re.IGNORECASE,
)


def method_name(paper: Paper) -> str | None:
    """The name a paper gives its method: its title's, before the colon (four words at most,
    and a name rather than a phrase, :func:`is_phrase`), else the one its abstract coins ("we
    propose CW-BASS", "dubbed ShrinkMatch", "a framework (UMCT)") and never writes as an
    ordinary word ("Training-Free", "multimodal")."""
    return next(iter(own_names(paper)), None)


# Words that open a phrase, not a name, when a title's head starts with them.
_PREPOSITIONS = frozenset(
    "about above across after against along among around at before behind below beneath "
    "beside between beyond by despite during for from in inside into near of off on onto "
    "out over past since through throughout to toward towards under until up upon via "
    "with within without".split()
)


def is_phrase(head: str) -> bool:
    """Whether a title's head before its colon is a phrase rather than a name: it has a comma
    ("Look, Compare, Decide"), a lower-case word ("Less is More", "Contrasting with Symile"),
    or opens with a preposition ("Beyond One-to-One") or a gerund ("Escaping Plato's Cave").
    Blind reads found "Look, Compare, Decide proposes MVP" naming a paper by its title."""
    ws = head.split()
    if len(ws) < 2:
        return False
    first = ws[0].lower()
    return (
        "," in head
        or any(w.isalpha() and w.islower() for w in ws)
        or first in _PREPOSITIONS
        or (first.endswith("ing") and len(first) > 5)
    )


def own_names(paper: Paper) -> list[str]:
    """Every name :func:`method_name` would accept, the title's first: "Tokens-to-Token ViT"
    and the "T2T-ViT" its abstract coins."""
    names = []
    head = paper.title.split(":")[0].strip()
    if ":" in paper.title and len(head.split()) <= 4 and not is_phrase(head):
        names.append(head)
    parts = sentences(paper.abstract)
    named = [m for s in parts for p in (_NAMING, _PROPOSING) if (m := p.search(s))]
    # A dataset the paper also releases ("a new dataset called Ref-ZOM") names less of it
    # than its method ("a Dual Multi-Modal Interaction (DMMI) Network"): it goes last.
    data = [m.group(1) for m in named if _DATA_BEFORE.search(m.string[: m.start()])]
    found = [m.group(1) for m in named if m.group(1) not in data]
    found += [
        m.group(1)
        for s in parts
        if _PROPOSAL.search(s)
        for m in [_PARENTHESISED.search(s)]
        if m and _capitalised_long_form(s[: m.start(1) - 1], m.group(1))
    ]
    found += data
    for name in found:
        name = name.strip("-")
        ordinary = all(w[:1].isupper() and w[1:].islower() for w in name.split("-"))
        lowered = re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", paper.abstract)
        plural = re.search(r"[A-Z]s$|[A-Z][a-z]{2}s$", name)  # "LLMs", "ConvNets": the field's
        if len(name) >= 3 and not ordinary and not lowered and not plural:
            names.append(name)
    return list(dict.fromkeys(names))


def _capitalised_long_form(before: str, short: str) -> bool:
    """Whether what ``short`` abbreviates in ``before`` reads as a paper's coinage ("Cross-level
    Multi-instance Distillation (CMD)"), not the field's term: a long form that opens in lower
    case ("multi-modal vision-language models (MVLMs)") or an abbreviation grown from another
    ("explainable AI (XAI)") is the field's."""
    from assistant.acronyms import long_form  # acronyms reads prose through this module

    if (found := long_form(before, short)) is not None:
        return found[:1].isupper()
    last = before.split()[-1] if before.split() else ""
    return not (last.isupper() and last in short)


def short_name(paper: Paper) -> str:
    """How prose names a paper: ``Zhu et al.``, ``Zong and Song``, the name it gives its
    method, or its short title."""
    surnames = [a if is_team(a) else a.split()[-1] for a in paper.authors]
    if len(surnames) == 1 and not paper.more_authors:
        return surnames[0]
    if len(surnames) == 2 and not paper.more_authors:
        return f"{surnames[0]} and {surnames[1]}"
    if surnames:
        return f"{surnames[0]} et al."
    if name := method_name(paper):
        return name
    head = paper.title.split(":")[0].strip()
    if len(head) <= 40:  # a phrase is quoted as the title it is: “Escaping Plato's Cave”
        return f"“{head}”" if is_phrase(head) else head
    cut = head.split()
    return f"“{' '.join(cut[:6])}{'…' if len(cut) > 6 else ''}”"


def names_several(paper: Paper) -> bool:
    """Whether :func:`short_name` names several people ("Zhu et al. propose", "Zong and Song
    show"): not for one author, nor for a title's name ("Align and Prompt proposes")."""
    return len(paper.authors) >= 2 or bool(paper.authors and paper.more_authors)


def told_apart(sentences: list[str], numbered: dict[int, Paper]) -> list[str]:
    """``sentences`` with papers that :func:`short_name` names alike told apart by their year,
    as author-year citation does: "Wang et al. (2023)" and "Wang et al. (2024)", or "(2024a)"
    and "(2024b)" in one year. Each use of the shared name is the paper of the first marker
    after it (a blind read found one "Zhang et al." for two papers of one draft)."""
    name_of = {n: short_name(p) for n, p in numbered.items()}
    by_name: dict[str, list[int]] = {}
    for n in sorted(numbered):
        by_name.setdefault(name_of[n], []).append(n)
    label: dict[int, str] = {}
    for ns in (ns for ns in by_name.values() if len(ns) > 1):
        years = [numbered[n].year for n in ns]
        for n, year in zip(ns, years, strict=True):
            same = [m for m, y in zip(ns, years, strict=True) if y == year]
            if year:  # an undated paper keeps its name alone
                label[n] = f"{year}{'abcdefghij'[same.index(n)] if len(same) > 1 else ''}"
    if not label:
        return sentences
    patterns = {
        name: re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-]| \()(?=(?P<rest>.*))")
        for name in {name_of[n] for n in label}
    }
    out = []
    for sentence in sentences:
        for name, pattern in patterns.items():

            def dated(m: re.Match[str], name: str = name) -> str:
                after = re.search(r"\[(\d+)", m.group("rest"))
                n = int(after.group(1)) if after else None
                if n in label and name_of[n] == name:
                    return f"{name} ({label[n]})"
                return m.group(0)

            sentence = pattern.sub(dated, sentence)
        out.append(sentence)
    return out


def year_label(paper: Paper, dated: bool = True) -> str:
    """The paper's year as prose shows it: ``2022``; else its listing date when ``dated``
    (listings may give ``Mar 3`` without a year); else ``n.d.``."""
    return str(paper.year or (paper.date if dated else None) or "n.d.")


# --- the third person ----------------------------------------------------------------------------
_WE_OPENING = re.compile(
    r"^(?:(?:in|with) (?:this|the present) (?:paper|work|study|report|project)|here|to this end|"
    r"to address (?:this|these) (?:issues?|problems?|challenges?)),?\s+we\s+",
    re.IGNORECASE,
)


# "This paper presents ...": the paper itself, which its name replaces.
_THIS_PAPER = re.compile(r"^(?:this|the present) (?:paper|work|study|report)\s+(?=[a-z])", re.I)


# Adverbs that come between a subject and its verb ("we also introduce"): the verb agrees, not
# the adverb ("X also introduces", never "X alsos introduce"). Words ending in "-ly" are
# adverbs too ("simply", "jointly"), except the verbs that end so.
_BEFORE_VERB = frozenset(
    "also further then thus therefore hence first next finally additionally moreover "
    "still even often always never now newly subsequently".split()
)
_LY_VERBS = frozenset("apply supply multiply comply imply reply rely fly ally rally".split())


def _adverb(word: str) -> bool:
    return word in _BEFORE_VERB or (
        word.endswith("ly") and word.isalpha() and word.islower() and word not in _LY_VERBS
    )


# The verbs whose third-person singular is not the plural with an "s": "Chen et al. is
# notable" made "i notable" of the plural, "they have" made "haves" of the singular.
_SINGULAR_OF = {"are": "is", "have": "has", "do": "does", "were": "was"}
_PLURAL_OF = {v: k for k, v in _SINGULAR_OF.items()}


def singular_verb(rest: str) -> str:
    """ "propose X" -> "proposes X": one paper takes a third-person singular verb."""
    verb, _, tail = rest.partition(" ")
    if _adverb(verb) and tail:
        return f"{verb} {singular_verb(tail)}"
    if verb in _SINGULAR_OF:
        return f"{_SINGULAR_OF[verb]} {tail}"
    if verb in _PLURAL_OF:
        return rest
    if not (verb.isalpha() and verb.islower()):
        return rest
    if verb.endswith("s") and (not verb.endswith(_SIBILANT_S) or verb in _NOT_VERBS_IN_S):
        return rest  # "proposes" already, or not a verb ("CLIP versus ALIGN")
    return f"{_with_s(verb)} {_coordinated(tail, _with_s)}"


# Base forms ending in "s" that take "-es": "discuss", "address", "focus".
_SIBILANT_S = ("ss", "us")
_NOT_VERBS_IN_S = frozenset("plus versus thus across less unless class bus".split())
# Words ending like nouns or adjectives: after "propose and", "evaluate" is a verb, while
# "implementation" or "efficient" is not ("design and implementation of X").
_NOT_A_BASE_VERB = re.compile(
    r"(?:(?<![su])s|ed|ing|ly|ion|ment|ity|ness|ance|ence|al|ive|ous|ic|ful|ble|ent|ant|er|or)$"
)


def _with_s(verb: str) -> str:
    """The third-person singular of a base form: "propose" -> "proposes"."""
    if verb.endswith("y") and verb[-2:-1] not in ("a", "e", "o", "u"):
        return verb[:-1] + "ies"
    if verb.endswith(("sh", "ch", "x", "z", *_SIBILANT_S)) or verb in ("go", "do"):
        return verb + "es"
    return verb + "s"


def _coordinated(tail: str, agree: Callable[[str], str]) -> str:
    """The second verb of "craft and integrate X" in agreement too (``agree``: the first
    verb's change): "crafts and integrates", "propose and evaluate"."""
    m = re.match(r"(and|or) ([a-z]+)\b", tail)
    if not m:
        return tail
    second = m.group(2)
    base = second if agree is _with_s else _without_s(second) if second.endswith("s") else ""
    if not base or _NOT_A_BASE_VERB.search(base) or base in _NOT_A_VERB_WORDS:
        return tail
    return f"{m.group(1)} {agree(second)}{tail[m.end() :]}"


_NOT_A_VERB_WORDS = frozenset(
    "the a an its their our this these that those then also further more most new other "
    "both all each such two three one how what which when where why whether".split()
)


def plural_verb(rest: str) -> str:
    """ "describes X" -> "describe X": several authors take the plural verb."""
    verb, _, tail = rest.partition(" ")
    if _adverb(verb) and tail:
        return f"{verb} {plural_verb(tail)}"
    if verb in _PLURAL_OF:
        return f"{_PLURAL_OF[verb]} {tail}"
    if verb in _SINGULAR_OF:
        return rest
    if not (verb.isalpha() and verb.islower()) or not verb.endswith("s") or verb.endswith("ss"):
        return rest
    return f"{_without_s(verb)} {_coordinated(tail, _without_s)}"


def _without_s(verb: str) -> str:
    """The base form of a third-person singular: "proposes" -> "propose"."""
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("sses", "shes", "ches", "xes", "zes", "cuses", "oes")):
        return verb[:-2]
    return verb[:-1]


# A connective that places a sentence in a list or an argument ("Lastly, ...", "Moreover,
# ...", "For example, ..."): taken out of its abstract, the sentence stands without it.
_LIST_CONNECTIVE = re.compile(
    r"^(?:lastly|finally|moreover|furthermore|in addition|additionally|besides|also|further|"
    r"first(?:ly)?|second(?:ly)?|third(?:ly)?|then|after that|meanwhile|for (?:example|instance)|"
    r"notably|specifically|concretely|in particular|thus|hence|therefore|consequently|"
    r"similarly|likewise|as a result|as such|accordingly|"
    r"(?:but )?(?:equally |more )?important(?:ly)?)\s*,\s+",
    re.IGNORECASE,
)
# The ones that count a list's items or rank a claim against the one before: wrong in a
# survey's paragraph wherever they stand ("Lastly, but equally important, the proposed EWA").
_ORDINAL = re.compile(
    r"^(?:lastly|finally|first(?:ly)?|second(?:ly)?|third(?:ly)?|then|after that|"
    r"(?:but )?(?:equally |more )?important(?:ly)?),",
    re.I,
)


def without_connective(sentence: str, opening: bool) -> str:
    """``sentence`` without the list connectives it opens with ("Lastly, the proposed EWA
    ..."): ordinal and ranking ones anywhere (copied from an abstract, they count a list the
    paragraph does not have), "Moreover," and the like only where the sentence ``opening`` a
    paragraph."""
    while opening or _ORDINAL.match(sentence):
        dropped = _LIST_CONNECTIVE.sub("", sentence, count=1)
        if dropped == sentence:
            break
        first = dropped.split(" ", 1)[0]
        # "the proposed" opens with a capital; a name in its own case ("kMaX-DeepLab") not
        sentence = dropped if first != first.lower() else dropped[:1].upper() + dropped[1:]
    return sentence


# An opening clause before "we" ("To alleviate this, we ..."), which the third person drops.
OPENING_BEFORE_WE = re.compile(r"^[A-Z][^.;:]{0,120}?,\s+(?=we\s)")


def third_person(sentence: str, who: str, several: bool | None = None) -> str:
    """Rewrite an abstract's first-person sentence about the paper into the third person.
    ``several``: whether ``who`` names several people (:func:`names_several`); None: read
    from ``who`` ("et al.", "A and B")."""
    if several is None:
        several = who.endswith("et al.") or " and " in who
    s = sentence.strip()
    # "To alleviate this, we ...", "Specifically, we ...": the connective refers to text that
    # is not quoted, so drop it and start with the paper.
    s = OPENING_BEFORE_WE.sub("", s)
    s = without_connective(s, opening=True)  # "Lastly, WIT provides ...": its list is not here
    # "we will present our solutions": what the paper does, said when it is read.
    s = re.sub(r"\b(we|We) will (?=[a-z]+\b)", r"\1 ", s, count=1)
    if _WE_OPENING.match(s):
        s = _WE_OPENING.sub(f"{who} ", s, count=1)
    elif re.match(r"^we\s", s, re.IGNORECASE):
        s = f"{who} " + s[3:]
    elif m := _THIS_PAPER.match(s):  # "This paper presents X": "DeepStack presents X"
        rest = s[m.end() :]
        s = f"{who} {plural_verb(rest) if several else rest}"
    elif not re.search(rf"(?<![\w-]){re.escape(who)}(?![\w-])", s):
        # "WIT provides ...", "Evaluations of PC^2 show ...": the sentence names its source
        first = s.split(" ", 1)[0]
        lower_ok = first[:1].isupper() and first[1:].islower()
        s = f"According to {who}, " + (s[0].lower() + s[1:] if lower_ok else s)
    if not several and s.startswith(f"{who} "):
        s = f"{who} {singular_verb(s[len(who) + 1 :])}"
    s = re.sub(r"\bwe\b", "they", s)
    s = re.sub(r"\bWe\b", "They", s)
    s = re.sub(r"\bour\b", "their", s)
    s = re.sub(r"\bOur\b", "Their", s)
    s = re.sub(r"\bus\b", "them", s)
    return s


# "PyramidDrop proposes PyramidDrop, a strategy ...": the name said again as the verb's object.
# "Mixture-of-Transformers introduces Mixture-of-Transformers (MoT), a sparse ...": with its
# acronym, which moves to the subject.
# The verb may follow an adverb of sequence ("CLIP-MoE also proposes CLIP-MoE, a ...").
_VERB = r"(?:(?:also|further|then|additionally|first) )?[a-z]+"
_NAMED_TWICE = re.compile(
    rf"^(?P<name>[^,:;]{{2,60}}?) (?P<verb>{_VERB}) (?P=name)(?P<alias> \([^()]{{1,20}}\))?"
    r"\s*[,:]\s+(?=(?:a|an|the)\b)"
)
# "DeepStack presents a new architecture DeepStack for LMMs": the name after its noun.
_NOUN_WORD = r"(?!(?:that|which|who|to|for|of|in|on|with|by|and|or|than)\b)[\w-]+"
_NAMED_AFTER = re.compile(
    rf"^(?P<name>[^,:;]{{2,60}}?) (?P<said>[a-z]+ (?:a|an|the) (?:{_NOUN_WORD} ){{0,3}}"
    rf"{_NOUN_WORD}) (?P=name)(?![\w-])(?: \((?P=name)\))?"
)


# "Video DataFlywheel introduces the Video DataFlywheel framework, which ...": the name
# before its noun.
_NAMED_BEFORE = re.compile(
    rf"^(?P<name>[^,:;]{{2,60}}?) (?P<verb>{_VERB}) the (?P=name) (?P<noun>{_NOUN_WORD})"
)


# "MultiMAE proposes a pre-training strategy called Multi-modal Multi-task Masked
# Autoencoders (MultiMAE)": the name defined after its own use; the long form moves up.
_NAMED_DEFINED = re.compile(
    rf"^(?P<name>[^,:;()]{{2,60}}?) (?P<said>[a-z]+ (?:a|an|the) (?:{_NOUN_WORD} ){{0,3}}"
    rf"{_NOUN_WORD}),? (?:called|named|dubbed|termed) (?P<long>[A-Z][^()]{{3,80}}?) "
    r"\((?P=name)\)"
)


# "DMMI proposes a Dual Multi-Modal Interaction (DMMI) Network, which ...": the method
# proposing itself; it is what the object says.
_NAMED_ITSELF = re.compile(
    r"^(?P<name>[^,:;()]{2,60}?) (?:propos|introduc|present|develop|design)e?s "
    r"(?P<article>an?) (?P<said>[^()]{3,120}?) \((?P=name)\)"
)
# "CoOp proposes Context Optimization (CoOp), a simple approach ...": the long form is the
# name's, and what follows the comma says what it is.
_NAMED_AS_LONG = re.compile(
    r"^(?P<name>[^,:;()]{2,60}?) (?:propos|introduc|present|develop|design)e?s "
    r"(?P<long>[A-Z][^()]{2,80}?) \((?P=name)\),\s+(?P<article>an?) "
)


# "IRRA proposes a framework called IRRA that ...": without the name, "called" goes too.
_CALLED = re.compile(r" (?:called|named|dubbed|termed|coined)$")


# "Cross the Gap proposes Cross the Gap, which shows ...": the relative clause says what it does.
_NAMED_WHICH = re.compile(
    rf"^(?P<name>[^,:;]{{2,60}}?) {_VERB} (?P=name)(?:\s*,\s+which|,?\s+that)\s+(?=[a-z])"
)


# "TopKLD proposes TopKLD to optimize ...": said of the method, in the passive.
_NAMED_TO = re.compile(
    r"^(?P<name>[^,:;]{2,60}?) (?P<verb>propos|present|introduc|design|develop|devis)e?s "
    r"(?P=name) to (?=[a-z])"
)


def _article(noun: str) -> str:
    """ "framework" -> "a framework", "approach" -> "an approach"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def named_once(sentence: str) -> str:
    """ "X proposes X, a strategy ..." -> "X proposes a strategy ..." ("X (Y) proposes ..."
    when the second X has an acronym Y); "X proposes X, which shows ..." -> "X shows ...";
    "X proposes X to optimize ..." -> "X is proposed to optimize ..."; "X presents a new
    architecture X for ..." -> "X presents a new architecture for ..."; "X introduces the X
    framework" -> "X introduces a framework"; "X proposes a strategy called Long Form (X)" ->
    "X (Long Form) proposes a strategy"; "X proposes a Long Form (X) Network" -> "X is a Long
    Form Network"; "X proposes Long Form (X), a ..." -> "X (Long Form) is a ..."."""
    s = _NAMED_WHICH.sub(lambda m: f"{m['name']} ", sentence.strip(), count=1)
    s = _NAMED_TO.sub(lambda m: f"{m['name']} is {m['verb']}ed to ", s, count=1)
    s = _NAMED_BEFORE.sub(lambda m: f"{m['name']} {m['verb']} {_article(m['noun'])}", s, count=1)
    s = _NAMED_AFTER.sub(lambda m: f"{m['name']} {_CALLED.sub('', m['said'])}", s, count=1)
    s = _NAMED_DEFINED.sub(lambda m: f"{m['name']} ({m['long']}) {m['said']}", s, count=1)
    s = _NAMED_ITSELF.sub(lambda m: f"{m['name']} is {m['article']} {m['said']}", s, count=1)
    s = _NAMED_AS_LONG.sub(lambda m: f"{m['name']} ({m['long']}) is {m['article']} ", s, count=1)
    return _NAMED_TWICE.sub(lambda m: f"{m['name']}{m['alias'] or ''} {m['verb']} ", s, count=1)


def third_person_of(sentence: str, paper: Paper) -> str:
    """:func:`third_person` with ``paper`` named as prose names it (:func:`short_name`), its
    method by its name (:func:`proposed_named`)."""
    return third_person(proposed_named(sentence, paper), short_name(paper), names_several(paper))


# "... show that the proposed method outperforms ...": lifted from the middle of an abstract,
# the method it means has no name in the draft. "The proposed EWA technique", "the proposed
# Mug-STAN method": with a name (or its initials) between, and with a name between, any noun
# of a contribution: "The proposed CroCo task".
_PROPOSED_NOUN = (
    r"(?:method|model|approach|framework|technique|architecture|network|system|algorithm|"
    r"pipeline)"
)
_NAMED_NOUN = r"(?:task|strategy|scheme|module|loss|paradigm|mechanism|objective|block|design)"
THE_PROPOSED = re.compile(
    r"\b(?:the|our) (?:proposed|new) (?:(?P<between>[A-Z][\w-]*) (?:"
    + _PROPOSED_NOUN
    + "|"
    + _NAMED_NOUN
    + r")|"
    + _PROPOSED_NOUN
    + r")\b",
    re.IGNORECASE,
)


def proposed_named(sentence: str, paper: Paper) -> str:
    """``sentence`` with its first "the proposed method" (model, approach, ...) called by the
    name ``paper`` gives its method, where the sentence does not say that name already; "the
    proposed Mug-STAN method" and "the proposed EWA technique" (EWA the name's initials) by
    the name between."""
    names = own_names(paper)
    if not names:
        return sentence
    name = names[0]
    initials = "".join(w[0] for w in re.findall(r"[A-Za-z]\w*", name)).lower()
    for m in THE_PROPOSED.finditer(sentence):
        between = m["between"]
        if between is None:
            elsewhere = sentence[: m.start()] + " " + sentence[m.end() :]
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", elsewhere):
                return sentence
            said = name
        elif between in names:
            said = between
        elif between.lower() == initials:
            said = name
        else:
            continue
        return f"{sentence[: m.start()]}{said}{sentence[m.end() :]}"
    return sentence


def with_marker(sentence: str, n: int) -> str:
    """Put ``[n]`` before the sentence's final punctuation."""
    s = sentence.rstrip()
    end = s[-1] if s and s[-1] in ".!?" else "."
    body = s[:-1] if s and s[-1] in ".!?" else s
    return f"{body} [{n}]{end}"


# --- sentences -----------------------------------------------------------------------------------
# Two boundaries, on purpose. An abstract's sentence may open with a digit ("3D detection ...",
# "12 benchmarks ..."); these sentences are the chunks' windows, so this pattern is part of the
# index (bump chunking.CHUNK_FORMAT when it changes).
_ABSTRACT_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
# A model's prose (answers, drafts) also opens sentences with curly quotes and with Markdown
# bold (a draft's "**Theme.** ..." headings), and is not split before a digit, nor after
# "et al." ("Wang et al. (2024a) propose ...", two papers told apart by their year).
_PROSE_BOUNDARY = re.compile(r"(?<=[.!?])(?<!et al\.)\s+(?=[A-Z\"'(\[“‘*])")


def _split(text: str, boundary: re.Pattern[str]) -> list[str]:
    return [s.strip() for s in boundary.split(text.strip()) if s.strip()]


def sentences(text: str) -> list[str]:
    """Sentences of an abstract: split at ``. `` before a capital, digit, quote or bracket."""
    return _split(text, _ABSTRACT_BOUNDARY)


def prose_sentences(text: str) -> list[str]:
    """Sentences of generated prose: split at ``. `` before a capital, quote, bracket or ``*``."""
    return _split(text, _PROSE_BOUNDARY)


# --- stemming ------------------------------------------------------------------------------------
# PyStemmer's stemmers are not thread-safe (the page answers several people at once): each
# thread keeps its own, and with it the stemmer's cache of the last 10,000 words it stemmed.
_local = threading.local()


def stemmer() -> Any:
    """This thread's English Snowball stemmer (``Stemmer.Stemmer``), built on first use."""
    found = getattr(_local, "stemmer", None)
    if found is None:
        import Stemmer

        found = _local.stemmer = Stemmer.Stemmer("english")
    return found


def stem(word: str) -> str:
    """The English Snowball stem of a lower-case ``word``: ``proposed`` -> ``propos``."""
    return str(stemmer().stemWord(word))


def stem_words(words: Iterable[str]) -> list[str]:
    """The stems of ``words``, in order."""
    return list(stemmer().stemWords(list(words)))
