"""Prose hygiene for written text: LaTeX from abstracts made readable, and the rules a sentence
of a draft must keep (third person, a readable length, nothing raw left in)."""

from __future__ import annotations

import re

MAX_WORDS = 60  # longer sentences are cut from drafts (a copied abstract sentence can run 200)

# Macros whose meaning is known; any other macro (``\model``, ``\methodname``: an author's own
# shorthand that the abstract never expands) cannot be rendered and leaves its sentence unusable.
_MACROS = {
    "times": "×",
    "sim": "~",
    "approx": "≈",
    "deg": "°",
    "pm": "±",
    "leq": "≤",
    "geq": "≥",
    "le": "≤",
    "ge": "≥",
    "eg": "e.g.",
    "ie": "i.e.",
    "etal": "et al.",
    "%": "%",
    "&": "&",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "lambda": "λ",
    "mu": "μ",
}
_WRAPPERS = re.compile(
    r"\\(?:textbf|textit|emph|texttt|textsc|mathrm|mathbf|mathcal|mathit|mathbb|text|"
    r"operatorname|boldsymbol)\s*\{([^{}]*)\}"
)
_DROPPED = re.compile(r"\\(?:cite[tp]?|ref|label|footnote)\s*\{[^{}]*\}")
_LINK = re.compile(r"\\(?:url|href)\s*\{([^{}]*)\}(?:\{([^{}]*)\})?")
_MACRO = re.compile(r"\\([A-Za-z]+(?![A-Za-z])|[%&])")
_LINKED = re.compile(r"https?:|www\.|github|\w\.(?:com|org|io|net|ai)\b", re.IGNORECASE)
# "I" is the pronoun only as a capital standing alone: not "(i)" or "(I)" enumerating, not a
# method's name ("I^2L", "I-JEPA").
_FIRST_PERSON = re.compile(r"\b(?i:we|our|ours|us|my|you|your)\b|(?<![\w(^-])I(?![\w)^-])")


# Items of an enumeration: "(iv)", "(2)", "2)". A sentence holding a later item without the
# first ("Finally, (iv) conducts ...") is a fragment of a list whose start was left behind.
_ITEM = re.compile(r"(?<![\w(])\(?(i{1,3}|iv|v|vi{1,3}|ix|[1-9])\)")


def plain_text(text: str) -> str:
    """``text`` with its LaTeX rendered as plain characters where the meaning is known.

    ``$\\mathcal{C}$o-DETR`` becomes ``Co-DETR``, ``$4\\times$`` ``4×``, ``\\textbf{fast}``
    ``fast``, TeX's quotes curly ones; citations and labels are dropped; unknown macros are left for
    :func:`is_clean` to reject.
    """
    out = _DROPPED.sub("", text)
    out = _LINK.sub(lambda m: m.group(2) or m.group(1), out)
    for _ in range(3):  # nested wrappers: \textbf{\textit{x}}
        out = _WRAPPERS.sub(r"\1", out)

    out = _MACRO.sub(lambda m: _MACROS.get(m.group(1), m.group(0)), out)
    # Inline math that is now plain: $S^2AP$ -> S2AP, $4.5×$ -> 4.5×.
    out = re.sub(r"\$([^$\\]{0,40})\$", lambda m: re.sub(r"[\^_{}]", "", m.group(1)), out)
    # TeX's quotes: ``implicit knowledge'' -> “implicit knowledge”, `PolyFace' -> ‘PolyFace’.
    out = re.sub(r"``([^`'\"]{1,80})(?:''|\")", r"“\1”", out)  # closed either way
    out = re.sub(r"`([^`'\s][^`']{0,79})['`]", r"‘\1’", out)
    # A listing that lost the backslash of "384\times384": "384times384" -> "384×384".
    out = re.sub(r"(?<=\d)times(?=\d)", "×", out)
    # TeX's tie, a space that does not break: "Learning~(ESL)"; "~50%" means "about" and stays.
    out = re.sub(r"(?<=[A-Za-z.,)])~(?=[A-Za-z(\\])", " ", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


def is_clean(sentence: str, names: tuple[str, ...] = ()) -> bool:
    """Whether a sentence may stand in a draft: nothing raw from LaTeX, no first person, no
    link, no question, no later item of a list without its first, and at most
    :data:`MAX_WORDS` words. ``names``: how the sentence's papers are named, which may hold
    any word ("Scaling Up Your Kernels", "Not All Patches are What You Need")."""
    for name in names:
        sentence = sentence.replace(name, "Name")
    if "\\" in sentence or "$" in sentence or _LINKED.search(sentence):
        return False
    if _FIRST_PERSON.search(sentence):
        return False
    if "?" in sentence:
        return False  # an abstract's rhetorical question ("one may question: ...?") says nothing
    if (items := set(_ITEM.findall(sentence))) and not items & {"i", "1"}:
        return False  # "(iv) conducts ...": the list it belongs to is not in the sentence
    return len(sentence.split()) <= MAX_WORDS
