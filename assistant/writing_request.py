"""A writing request read by its shape: the topic a request for related work, a review or a
survey asks about, where a topic is expected ("Draft a related-work paragraph on token
pruning for ViTs" sent as the topic of the page's "Related work" action).

The shape is general, not a list of our phrasings: a noun naming the writing near the start
of a sentence and the word leading from it to the topic, a topic the request says ("The
topic is X", "My project is about X"), a topic before a request that points back at it. The
request's own words around the topic are found by what research topics never hold: the
asker ("for my thesis", "that I can use"), the asker's work ("a CVPR paper"), a length
("~800 words"), the writing itself after a clause break (its parts, format, order, tone,
audience, venue or deadline: ", organized by approach", "in three paragraphs", "by Friday").
A typo in the writing's noun ("realted work sectoin") is read as the noun.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from assistant.years import years_named

# Where a request's sentence may end ("... in-the-wild). Can you write it?", "X? dont need it
# too long"), and the abbreviations a period does not end a sentence after.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_ABBREVIATION = re.compile(
    r"(?:^|[\s(\[])(?:e\.g|i\.e|etc|vs|incl|approx|al|cf|resp|fig|eq|no|ca|esp)\.$", re.IGNORECASE
)


# What a writing request calls the writing ("the related work section", "a short literature
# review", "an overview", "the state of the art"), and the words that lead from it to its
# topic: the best, "on", "about", ... (a colon only right after the noun: "Related work: X");
# else "for", "of" or "in", which also join a topic's own words ("methods for X").
_WRITING_NOUN = re.compile(
    r"\b(?:rel(?:ated)?[- ]works?|prior[- ]works?|(?:literature|lit)[- ]rev(?:iew)?|review|survey|"
    r"overview|rw(?=\s+(?:section|para))|bg(?=\s+(?:section|para))|"
    r"outline|background|literature|bibliography|reading[- ]list|state[- ]of[- ]the[- ]art|sota)\b",
    re.IGNORECASE,
)
_BEST_LINK = re.compile(
    r"\s+(?:on|about|around|regarding|covering|covers?|concerning|discussing)\s+", re.IGNORECASE
)
_COLON_LINK = re.compile(r"^(?:(?:\s+\w+){0,2}\s*:|\s*,)\s+")  # "Related work, X, ..."
_WEAK_LINK = re.compile(r"\s+(?:for|of|in)\s+", re.IGNORECASE)
# The asker as the subject of a sentence ("I", "we", "my group", "our lab").
_PERSON_WORDS = r"(?-i:\b(?:I|i|[Ww]e|[Mm]y|[Oo]ur))(?![\w'’-])"
# A request that says what its topic is: "Topic: X", "The area is X", "My project is about
# X", "It is about X", "The dissertation focuses on X", "Paper is on X", "I'm writing a paper
# on X".
_SAYS_TOPIC = re.compile(
    r"\b(?:topic|subject)\s*[:\-]\s+|\b(?:topic|subject|area|field)\s+is\s+(?:(?:on|about)\s+)?|"
    r"\b(?:it|(?:(?:my|our|the)\s+)?(?:[\w-]+\s+)?(?:paper|thesis|dissertation|project|research|"
    r"work|method|article|proposal|study|chapter|submission))\s+(?:(?:is|are)\s+(?:on|about)|"
    r"focus(?:es)?\s+on|deals?\s+with|concerns?)\s+|"
    r"\b(?:as|you\s+are)\s+an?\s+(?:[\w-]+\s+){0,2}?(?:expert|researcher|specialist|scientist)\s+"
    r"(?:in|on)\s+|"  # a role: "As an expert in X, write ..."
    r"(?:\b(?:the|my|our)\s+|(?:^|(?<=[.!?]\s)))(?:topic|subject|area|field)\b[^.:;]{0,30}?:\s+|"
    # "The area I'm working in: X", "Subject area: X"
    r"\b(?:in|of)\s+the\s+(?:field|area|domain)\s+of\s+|"  # "a postdoc in the field of X"
    # What the asker studies: "We study X", "my group works on X", "Our method addresses X",
    # "I'm new to X", "its about X", "a talk reviewing X".
    rf"(?:{_PERSON_WORDS}|(?:{_PERSON_WORDS})\s+[\w-]+)\s+(?:(?:also|mainly|mostly)\s+)?"
    r"(?:study|studies|research|researches|works?\s+on|focus(?:es)?\s+on|address(?:es)?|tackles?|"
    r"investigates?|explores?|(?:am|are|is)\s+(?:working|new)\s+(?:on|in|to))\s+|"
    r"\b(?:['’]m|am|are)\s+new\s+to\s+|"
    r"\b(?:its|it['’]s|it\s+is)\s+(?:all\s+|mainly\s+|mostly\s+)?(?:about|on)\s+|"
    r"\b(?:reviewing|surveying)\s+|"
    r"^(?:papers|work|research|literature|studies)\s+(?:dealing\s+with|on|about|addressing)\s+|"
    r"\b(?:(?:writing|preparing|drafting|working\s+on)\s+(?:an?|my|our)|my|our)\s+(?:[\w-]+\s+)?"
    r"(?:paper|thesis|dissertation|article|proposal|manuscript|submission)\s+(?:on|about)\s+",
    re.IGNORECASE,
)
# The asker and the assistant: research topics do not speak of them, requests do. A request's
# own words around its topic are found by them, from the word that joins them on ("... for
# the background chapter of my thesis", "that I can use", ", my supervisor says").
# Case matters: "U-Net", "I-JEPA", "US" and "Stage I" name no one; a chat's "i" is the asker.
_PERSON = r"(?-i:I(?![\w-])|i(?![\w.-])|[Mm][ey]|[Ww]e|[Oo]ur|[Uu]s|[Yy]our?|u(?![\w-]))"
_ASKER = re.compile(rf"(?<![\w-]){_PERSON}\b")
_JOINS_ON = re.compile(
    r"\s*,\s*|\s+[—–-]+\s+|"
    r"\s+(?:for|to|in|as|that|which|so|because|since|and|from|at|by|with)\s+",
    re.IGNORECASE,
)
_COURTESY = re.compile(r"\s*,?\s+(?:pls|please|thx|thanks)\b.*$", re.IGNORECASE)
# What a request says of its writing after the topic: "... as a related-work section".
_AS_WRITING = re.compile(
    r"\s+(?:as|in|into|for)\s+(?:an?|the|one)\s+(?:[\w-]+\s+){0,2}?"
    + _WRITING_NOUN.pattern
    + r".*$",
    re.IGNORECASE,
)
_SPEAKS_OF_ASKER = re.compile(rf"\b{_PERSON}\b|['’]m\b", re.IGNORECASE)
# A topic given before the request that points back at it: "X. Can you outline a review on this?"
_POINTS_BACK = re.compile(r"^(?:this|it|that|these|them|the above)\b(?:\W.*)?$", re.IGNORECASE)
# The asker's own work or the field's body of work: no topic ("a CVPR paper"), and the words
# that pass over to a better link ("the related work for a paper on X", "the overview of the
# research on X").
_OWN_WORK = re.compile(
    rf"(?:\w+\s+)?\b(?:{_PERSON}|paper|article|thesis|manuscript|submission|project|chapter|"
    r"research|work|literature|studies|proposal)\b",
    re.IGNORECASE,
)
# The words a request may put between the writing noun and the word leading to its topic
# where it does not speak of the asker: the writing's form ("a related work section on X",
# "Literature review request: X"). Other words there make the noun a topic's own
# ("Background modelling for video surveillance", "Review generation for e-commerce").
_FORM = re.compile(
    r"(?:[\s,]*(?:section|paragraph|paras?|part|chapter|outline|draft|summary|skeleton|structure|"
    r"paper|article|piece|write-?up|request|needed|please|pls|style|-style))*[\s,]*",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"\s+[—–-]+\s+|\s*[:;]\s+|(?<=[.!?])\s+")
# How many words may lead to the writing noun ("Could you please draft a short related-work
# section"; more where the lead speaks of the asker: "I'm currently drafting a paper and would
# be grateful if you could write a related work section") and from it to its topic ("section of
# my paper, which is about").
LEAD_WORDS, ASKER_LEAD_WORDS, LINK_WORDS = 10, 30, 8
_TRAILING_PLEASE = re.compile(r"[\s,]*(?:please|thanks|thank you)[.!]*$", re.IGNORECASE)


def topic_of(text: str) -> str:
    """The topic of a writing request sent where a topic is expected (the page's "Related
    work" action, ``assistant related-work``): "Draft a related-work paragraph on token
    pruning for ViTs" -> "token pruning for ViTs"; a plain topic is returned as it is.

    The request is read by its shape, not its wording, and the topic found first wins: a
    topic it says ("The topic is X", "My project is about X"); a noun that names the writing
    (related work, review, survey, overview, ...) near the start of a sentence, the last such
    noun ("an outline for a literature review on X"), and the word that leads from it to the
    topic; a topic before a request that points back at it ("X. Can you outline a review on
    this?", "X -- give me an overview"); a topic in a later sentence ("I need a related-work
    section. Write one on X."). What follows the topic and speaks of the asker ("... for my
    thesis"), a length or the writing itself (", organized by approach", "in three
    paragraphs", "for a medical journal") is the request's, not the topic's. A colon or parenthesis
    before the noun says the noun is the topic's own ("...: a review of evaluation suites"),
    and so do words between it and the link that are no writing's form, unless the request
    speaks of the asker ("Background modelling for video surveillance").
    Measured on requests helpers wrote around our 30 writing topics
    (``benchmarks/writing_requests.py``): on the 48 it was first built on it keeps 1.00 and
    0.96 of a topic's words at precision 1.00 and 0.94; on three sets written to cover typos,
    later sentences, indirect topics and trailing instructions (36, 40, 40), first read
    before their fixes, 0.92, 0.88 and 0.93 at 0.84, 0.68 and 0.75 (the rule before them:
    0.94, 0.80, 0.94 at 0.75, 0.58, 0.64). 60 plain topics stay whole, alone and in
    requests, but for one whose "you" reads as the assistant."""
    plain = " ".join(text.split())
    # A line break ends a sentence ("Topic: X\nNeed: related work"); a typo in the writing's
    # noun is read as the noun ("realted work sectoin").
    text = _spelled(" ".join(re.sub(r"(?<![.!?:;,])[ \t]*\n\s*(?=\S)", ". ", text.strip()).split()))
    found: list[tuple[int, str]] = []  # (where, topic): the first in the request wins
    for said in _SAYS_TOPIC.finditer(text):
        topic = _topic_from(text[said.end() :])
        if topic and not _SPEAKS_OF_ASKER.match(topic) and not _names_own_work(topic):
            found.append((said.start(), topic))
    asked = False  # a sentence before asked for the writing without its topic
    for sentence in re.finditer(r"[^.!?]+(?:[.!?]+|$)", text):
        if topic := _topic_after_noun(text, sentence.start(), sentence.end()):
            found.append((sentence.start(), topic))
        elif asked and (topic := _topic_later(text, sentence.start())):
            found.append((sentence.start(), topic))  # "... a related-work section. Write one on X."
        asked = asked or _WRITING_NOUN.search(sentence.group()) is not None
    first, *rest = re.split(r"\s+[—–-]+\s+|(?<=[.!?])\s+", text, maxsplit=1)
    if (
        rest
        and not found
        and _WRITING_NOUN.search(rest[0])
        and not _WRITING_NOUN.search(first)
        and not _GREETING.match(first)
        and len((topic := _topic_from(first)).split()) >= 2
    ):
        found.append((0, topic))  # "X -- give me a state-of-the-art summary"
        # (not "X: a review of Y", a topic naming its own review)
    return min(found)[1] if found else plain


def asks_for_writing(text: str) -> bool:
    """Whether ``text`` has a writing request's shape: it names the writing (related work, a
    review, a survey, ..., typos read) and :func:`topic_of` finds a topic in it apart from the
    whole text. "I am working on X. Is there a paper on Y?" says a topic but names no
    writing."""
    return _WRITING_NOUN.search(_spelled(text)) is not None and topic_of(text) != " ".join(
        text.split()
    )


# The words of a request that name the writing, misspelled as a fast typist would: one edit
# (two in a long word) from the word, its first letter kept ("realted", "sectoin", "litterature",
# "overveiw"), and not the word's own forms ("reviews", "outlined", "relate").
_NOUN_WORDS = ("related", "review", "survey", "overview", "outline", "background", "literature",
               "section", "paragraph")  # fmt: skip
_FORMS = ("", "s", "es", "d", "ed", "er", "ers", "ing", "al")


def _edits(a: str, b: str) -> int:
    """The optimal-string-alignment distance: insertions, deletions, substitutions and swaps
    of neighbours."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _respelled(word: str) -> str:
    """``word``, or the writing noun it misspells."""
    low = word.lower()
    for noun in _NOUN_WORDS:
        if low == noun or low[0] != noun[0] or abs(len(low) - len(noun)) > 2:
            continue
        if any(low in (noun + f, noun[:-1] + f) for f in _FORMS):
            continue  # the noun's own form, not a typo
        if _edits(low, noun) <= (2 if len(noun) >= 9 else 1):
            return noun if word.islower() else noun.capitalize()
    return word


def _spelled(text: str) -> str:
    """``text`` with misspelled writing nouns read as the nouns, "related wrok" as
    "related work"."""
    text = re.sub(r"\b[A-Za-z]{5,}\b", lambda m: _respelled(m.group()), text)
    return re.sub(
        r"\b(related|prior)([- ])([A-Za-z]{3,5})\b",
        lambda m: (
            m.group(1)
            + m.group(2)
            + ("work" if _edits(m.group(3).lower(), "work") <= 1 else m.group(3))
        ),
        text,
        flags=re.IGNORECASE,
    )


_GREETING = re.compile(r"^(?:hi|hello|hey|dear|good\s+\w+|greetings|thanks)\b", re.IGNORECASE)
# A sentence after the one that asked for the writing, saying its topic: "Write one on X",
# "Focus on X", "Make it about X".
_LATER_LINK = re.compile(
    r"\s*(?:\S+\s+){0,5}?(?:on|about|around|covering|regarding)\s+", re.IGNORECASE
)


def _topic_later(text: str, start: int) -> str:
    """The topic the sentence at ``start``, after the request, gives by a best link near its
    start, or ""."""
    link = _LATER_LINK.match(text, start)
    if link is None or _WRITING_NOUN.search(text, start, link.end()):
        return ""
    topic = _topic_from(text[link.end() :])
    return "" if not topic or _POINTS_BACK.match(topic) or _names_own_work(topic) else topic


# A demand on length after the topic: ", ~800 words", "(like 300 words)", ", max 2 pages".
_LENGTH = re.compile(
    r"\s*[,(]\s*(?:\w+\s+){0,2}?~?\d[\d,.\-]*\s*(?:words?|pages?|paragraphs?|sentences?|columns?)\b.*$",
    re.IGNORECASE,
)


# How far a topic and the words that end it may reach past the word leading to it. Bounded,
# each writing noun of a long text would read the rest of it (a 2,000-character run of
# "review, review, ..." took 0.45 s, and four times as long at twice the length).
TOPIC_WINDOW = 600


def _topic_from(rest: str) -> str:
    """The topic at the start of ``rest``: its first sentence, less what speaks of the asker
    or asks for a length, and after a label ("the following topic: X")."""
    rest = first_sentence(rest[:TOPIC_WINDOW])
    if (said := _SAYS_TOPIC.search(rest)) and len(rest[: said.start()].split()) <= 3:
        rest = rest[said.end() :]
    topic = _LENGTH.sub("", _TRAILING_PLEASE.sub("", rest))
    topic = _AS_WRITING.sub("", _without_asker(_COURTESY.sub("", topic)))
    topic = _BODY_OF_WORK.sub("", _without_request_tail(topic).strip(" .?!,;:"))
    if len(topic.split()) > 4:  # not "a CVPR paper", the asker's work (see _names_own_work)
        topic = _OWN_WORK_AFTER.sub("", topic)
    return topic.strip(" .?!,;:\"'“”‘’")


# What a request says after its topic about the writing itself, not the research: its parts
# and layout ("with main sections", "in three paragraphs", ", bullet points ok"), citation
# format ("IEEE citation style", "numbered citations"), tone and audience, order ("organized
# by approach", "structured thematically"), a deadline ("by Friday", "asap"), its venue ("for
# a medical journal"). Cut at the clause break before them.
_DOCUMENT = (
    r"(?:sub)?sections?|paragraphs?|paras?|headings?|headers?|bullets?|bullet[- ]points?|"
    r"bibtex|latex|markdown|apa|ieee|mla|vancouver|word\s+count|tone|prose|audience|"
    r"entr(?:y|ies)|sentences?\s+(?:per|each|for\s+each)|(?:an?|one)\s+table(?![\w-])|"
    r"style(?=\s*(?:[,.;)]|$))|split\s+(?:into|by)|(?:19|20)\d\d|"
    r"\d+(?:\s*[-–]\s*\d+)?\s+(?:papers|references|citations|refs|entries|sources)|"
    r"(?:short|shorter|brief|concise|detailed)(?=\W*$)|"
    r"chronological(?:ly)?|thematic(?:ally)?|"
    r"(?:organi[sz]|group|order|sort|arrang|structur|categori[sz]|divid)ed\s+(?:by|around|into|"
    r"according|as|thematically|chronologically)"
)
_VENUE = (
    r"by\s+(?:next\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|eod|"
    r"the\s+end\s+of)|"
    r"(?:(?:suitable|appropriate|intended|meant|aimed)\s+)?for\s+(?:an?|the)\s+(?:[\w-]+\s+){0,2}?"
    r"(?:journal|conference|workshop|venue|seminar|course|"
    r"class|lecture|talk|presentation|brief|report|blog|newsletter|audience|committee|grant|"
    r"thesis|dissertation|paper|proposal|chapter|submission|manuscript|poster)"
)
_CITING = r"citations?|cite|citing|references|refs|numbered"  # after a comma, not "with"
# What an order after a clause break starts with: "start with definitions", "each entry
# should ...", "no prose yet", "just the main papers", "then list datasets".
_ORDER = (
    r"(?:start|begin|end|focus|include|use|cite|keep|make|avoid|give|list|add|write|mention|"
    r"emphasi[sz]e|highlight|then|please|each|every|no|only|just|should|must|it|this|they|"
    r"emphasi[sz]ing|highlighting|focusing|stressing|contrasting|citing|"
    r"compare|summari[sz]e|explain|tell|show|flag|discuss|"
    r"(?:group|organi[sz]e|sort|arrange|order)\s+(?:the\s+|my\s+)?(?:work|papers|them|it|by|into)|"
    r"max(?:imum)?|at\s+most|up\s+to|no\s+more|no\s+longer)"
    r"(?![\w-])(?!\s+of\b)"
)
_STRONG_BREAK = r"\s*[,;:(]\s*|\s+[—–]+\s*|\s+--?\s+"
_WEAK_BREAK = (
    r"\s+(?:in|into|as|with|by|for|so|that|which|then|using|following|since|from|after)\s+"
)
_REQUEST_TAIL = re.compile(
    rf"(?:{_STRONG_BREAK})(?=(?:[\w-]+\s+){{0,3}}?(?:{_DOCUMENT}|{_CITING})\b|{_ORDER})"
    rf"|(?:{_WEAK_BREAK})(?=(?:[\w-]+\s+){{0,2}}?(?:{_DOCUMENT})\b)"
    rf"|\s+(?=(?:{_VENUE})\b)"  # a venue or deadline needs no break: "X for a medical journal"
    r"|\s+(?:and|but|so|because)\s+(?:it|this|they)\b"  # "X and it reads like a list"
    r"|\s+and\s+(?:also\s+|then\s+)?"  # "X and list the most influential", "X and how ..."
    rf"(?:{_ORDER}|(?:would|could|will|want|need|how|what|which|why)\b)"
    r"|\s+(?:so\s+far|to\s+date|lately|nowadays)(?=\W*$)"  # "What has been done on X so far?"
    r"|\s+(?:is|are|was|were)(?:\s+(?:an?|the|really|too|very|quite|so|not|pretty|what|how)\b"
    r"|(?=\s*[,.?!]|$))"  # "X is a mess", "what the prior work on X is, as ..."
    r"|\s+(?:looks?|reads?|sounds?)\s+like\b"  # "What would a section on X look like?"
    r"|\s+(?:asap|deadline|tonight|tomorrow|markdown|bibtex)\b",  # "need lit review X asap"
    re.IGNORECASE,
)
# The field's body of work before the topic: "the key papers in X", "recent research on X".
_BODY_OF_WORK = re.compile(
    r"^(?:the\s+)?(?:[\w-]+\s+){0,2}?(?:papers|works|studies|literature|research)\s+"
    r"(?:on|in|about|of|regarding)\s+",
    re.IGNORECASE,
)
# The asker's work named after the topic: "background + related work for X paper".
_OWN_WORK_AFTER = re.compile(r"\s+(?:paper|submission|manuscript|thesis)$", re.IGNORECASE)


def _without_request_tail(topic: str) -> str:
    """``topic`` up to the clause where the request speaks of the writing, not the research:
    "X, organized by approach" -> "X"; "X in three paragraphs: ..." -> "X". A topic asked as a
    question keeps its verb ("What is the role of tokenization in ...")."""
    question = _QUESTION.match(topic) is not None
    for tail in _REQUEST_TAIL.finditer(topic):
        if tail.start() > 0 and not (question and _VERB_TAIL.match(tail.group())):
            return topic[: tail.start()]
    return topic


_QUESTION = re.compile(r"^(?:what|how|why|when|which|is|are|does|do|can|should)\b", re.IGNORECASE)
_VERB_TAIL = re.compile(r"\s+(?:is|are|was|were|looks?|reads?|sounds?)\b", re.IGNORECASE)


def _without_asker(topic: str) -> str:
    """``topic`` up to the words that speak of the asker, from the word joining them on
    within 5 words before the first pronoun: "X for the background chapter of my thesis" ->
    "X"; "X, my supervisor says" -> "X"; "DETR-style models for me" keeps "DETR-style
    models"."""
    asker = _ASKER.search(topic)
    if asker is None:
        return topic
    joins = [m for m in _JOINS_ON.finditer(topic, 0, asker.start())]
    near = [m for m in joins if len(topic[m.end() : asker.start()].split()) <= 5]
    return topic[: near[-1].start() if near else asker.start()]


# The writing nouns of a sentence read for its topic, the last first: a request names the
# writing a few times at most, and a sentence of hundreds ("review, review, ...") would be
# read in time growing with their square.
NOUNS_READ = 8


def _topic_after_noun(text: str, start: int, end: int) -> str:
    """The topic a writing noun in the sentence ``text[start:end]`` leads to, or ""."""
    nouns = list(_WRITING_NOUN.finditer(text, start, end))[-NOUNS_READ:]
    for noun in reversed(nouns):
        lead = _LABEL.sub("", text[start : noun.start()])  # "Task: write a survey on X"
        asker = _SPEAKS_OF_ASKER.search(lead) is not None
        # "...: a review of evaluation suites" names the topic's own review.
        near_start = len(lead.split()) <= (ASKER_LEAD_WORDS if asker else LEAD_WORDS)
        near_start = near_start and (asker or not re.search(r"[:;()]", lead))
        link = _link(text[noun.end() : end])
        direct = link is not None and _FORM.fullmatch(
            re.sub(r"\([^)]*\)", "", text[noun.end() : noun.end() + link[0]])
        )
        if _ENDS_IN_LINK.search(lead) and not direct:
            continue  # the topic's own noun: "a literature review about Survey sampling for X"
        topic = _topic_from(text[noun.end() + link[1] :]) if link else ""
        if link and _POINTS_BACK.match(topic):  # "X. Can you outline a review on this?"
            *before, clause = _CLAUSE_BREAK.split(text[: noun.start()])
            before = [c for c in before if c.strip()]
            if len(clause.split()) > LEAD_WORDS or not before:
                continue
            topic = _topic_from(before[-1])
        elif not link or not near_start or not (asker or direct):
            # "Background modelling for video surveillance" is a topic; "need lit review X asap"
            # is not: a two-word noun opening a short request may lead to its topic directly.
            if not (re.search(r"[- ]", noun.group()) and len(lead.split()) <= 3 and near_start):
                continue
            after = text[noun.end() :]
            form = _FORM.match(after)
            after = after[form.end() if form else 0 :].lstrip(" —–:-")
            topic = _topic_from(after)
            if _NO_TOPIC_START.match(topic):
                continue
        if topic and not _names_own_work(topic):
            return topic
    return ""


# A lead ending in the word leading to a topic: a noun after it is the topic's own ("a review
# about Survey sampling for X"), unless the noun leads on to a topic itself ("a large body of
# literature on X").
_ENDS_IN_LINK = re.compile(
    r"(?:\b(?:on|about|around|regarding|covering|concerning|discussing|of|for|in)|:)\s*$",
    re.IGNORECASE,
)
# A label before a request: "Task: ...", "hey, quick one: ...".
_LABEL = re.compile(
    r"^\W*(?:(?:hi|hello|hey|ok|okay|so)\W+)?(?:quick(?:\s+one)?|task|request|instructions?|prompt|"
    r"query|goal|note|ask|question)\s*:\s*",
    re.IGNORECASE,
)
# What follows a writing noun that starts no topic: "Related works are listed below".
_NO_TOPIC_START = re.compile(
    r"^(?:is|are|was|were|should|must|can|could|will|would|has|have|had|do|does|did|that|which|"
    r"and|or|but|to|for|with|from|by|of|on|in)\b",
    re.IGNORECASE,
)


# What a request points at that is no subject: "each section", "the talk", "the main lines of
# research", "a literature review assistant", "the last five years".
_NO_SUBJECT = re.compile(
    r"^(?:(?:the|a|an|each|every|this|my|our)\s+)?(?:[\w-]+\s+){0,2}?(?:sections?|talk|slides?|"
    r"assistant|papers|lines\s+of\s+(?:research|work)|(?:last|past|next|recent)\s+\w+\s+"
    r"(?:years?|months?|decades?))$|"
    r"^\d+(?:\s*[-–]\s*\d+)?\s+(?:papers|references|citations|refs|entries|sources)\b",  # "8 papers"
    re.IGNORECASE,
)

# A topic ending in a word that leads on is cut short: "Background for the intro of ...".
_OPEN_END = re.compile(r"\b(?:of|for|in|(?<!so )on|to|and|the|an?|with|by|from|at)$", re.IGNORECASE)


def _names_own_work(topic: str) -> bool:
    """Whether ``topic`` is the asker's work, not a subject: "my paper", "a CVPR paper", "our
    grant proposal"."""
    if _OWN_WORK.match(topic) or _NO_SUBJECT.match(topic) or _OPEN_END.search(topic):
        return True
    words = topic.split()
    return len(words) <= 4 and _OWN_WORK.fullmatch(words[-1]) is not None


def _link(after: str) -> tuple[int, int] | None:
    """Where the word leading to the topic stands in the words ``after`` a writing noun (its
    start and end), or None: the first within :data:`LINK_WORDS`, or a later, better one
    when the words between speak of the asker's own work ("for my paper, which is about
    X")."""
    after = re.sub(
        r"\([^)]*\)", lambda m: " " * len(m.group()), after
    )  # "(which papers go in each)"
    found = [
        m
        for link in (_COLON_LINK, _BEST_LINK, _WEAK_LINK)
        if (m := link.search(after)) and len(after[: m.start()].split()) <= LINK_WORDS
    ]
    if not found:
        return None
    first = min(found, key=lambda m: m.start())
    later = [m for m in found if m.start() > first.start() and m.re is not _WEAK_LINK]
    if later and _OWN_WORK.search(after[first.end() : later[0].start()]):
        return first.start(), later[0].end()
    return first.start(), first.end()


class Wishes(NamedTuple):
    """What a writing request asks of the writing itself, beside its topic: LaTeX, a short
    text, a formal register, the years its papers come from."""

    latex: bool = False
    short: bool = False
    formal: bool = False
    year_from: int | None = None
    year_to: int | None = None


_WANTS_LATEX = re.compile(r"\b(?:latex|\\cite)\b|\\cite\{", re.IGNORECASE)
_WANTS_SHORT = re.compile(
    r"\b(?:short|shorter|brief|concise|one\s+paragraph|a\s+paragraph|1\s+paragraph|"
    r"(?:under|max(?:imum)?|at\s+most|no\s+more\s+than|~|about|around)\s*\d{2,3}\s+words)\b",
    re.IGNORECASE,
)
_WANTS_FORMAL = re.compile(r"\b(?:formal|academic)\s+(?:tone|register|style|english)\b", re.I)


def wishes(text: str) -> Wishes:
    """What ``text``, a writing request, asks of the writing beside its topic: "Write a
    short related-work paragraph on X in LaTeX, papers from 2021 onwards" -> LaTeX, short,
    from 2021. Read only outside the topic (:func:`topic_of`): "short-term forecasting" or
    "LaTeX OCR" in a topic asks for nothing."""
    topic = topic_of(text)
    rest = " ".join(text.split()).replace(topic, " ") if topic else text
    year_from, year_to = years_named(rest, writing=True)
    return Wishes(
        latex=_WANTS_LATEX.search(rest) is not None,
        short=_WANTS_SHORT.search(rest) is not None,
        formal=_WANTS_FORMAL.search(rest) is not None,
        year_from=year_from,
        year_to=year_to,
    )


def first_sentence(text: str) -> str:
    """``text`` up to the end of its first sentence: after "?" or "!", or after a period
    before a capital or, in chat style, a lower-case word ("X. keep it short"), not after
    "e.g." or "vs."."""
    for end in _SENTENCE_END.finditer(text):
        before, after = text[max(0, end.start() - 12) : end.start()], text[end.end()]
        if (
            before[-1] in "!?"
            or not _ABBREVIATION.search(before)
            and (
                after.isupper()
                or after.isdigit()
                or re.search(r"[a-z]{3}[\"'”’)]?\.$", before)
                and after.islower()
            )
        ):
            return text[: end.start()].strip(" .?!")
    return text.strip(" .?!")
