"""Study questions written from the book's own sentences, by templates (no model needed).

The study stage (core/memorize/study.py) trains the adapter to answer questions about
the book with no book text in the prompt, the way the reader asks in ``lift``
mode.  A fact is only retrievable by a question when it was learned in more
than one form, so each sentence with a fact in it is asked from several
directions, in the app's answer format:

- *subject*: "Kit Amberly found the ledger." -> "Who found the ledger?" -> "Kit Amberly";
- *echo*: the sentence with one fact replaced by a question word, kept in
  place: "The keeper kept how many lamps in the tower?" -> "eleven";
- *predicate*: on each clause, after its first "is/was/called/named ..." verb, in place and moved
  to the front: "The ship was called what?", "What was the ship called?" -> "the Hesper Lark";
  a passive with its agent asked in the active: "Who painted the door?" -> "Ezra Colville";
- *about*: "What does the book say about Kit Amberly?" -> the sentence;
- *after*: "What happened after this: ...?" -> the next sentence;
- *cloze*: the sentence with the fact blanked -> the fact;
- *relative clause*: "a barometer that the Medical Man had won at a raffle" -> "Where did the
  Medical Man win the barometer?", "What did the Medical Man win at a raffle?".

Facts are capitalized names (not sentence-initial function words), numbers,
years and spelled-out counts.  Questions come from every part of the book:
each fact-bearing sentence gets its first question before any gets a second.
The templates are English; other languages get cloze and *after* items.
Changing what they ask means raising ``STUDY_TEMPLATES_VERSION`` in core/memorize/settings.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lift_reader.core.memorize.auxiliary import split_sentences

_NAME = re.compile(r"\b[A-Z][a-z'’]+(?:\s(?:of\s|de\s|the\s)?[A-Z][a-z'’]+)*")
_NUMBER_WORDS = ("two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
                 "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|"
                 "thousand|million|billion|dozen")
_NUMBER = re.compile(rf"\b(?:\d[\d,.]*\d|\d|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*)\b", re.I)
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})s?$")
# Capitalized words that are not names when they start a sentence or stand alone.
_NOT_NAMES = frozenset("""a an the this that these those he she it they we i you his her its their our my your
him them us me who what when where why how which while if then there here but and or so yet for nor as at by in
on of to from with without after before during since until upon into over under again once also all any each
every some no not one two three yes oh ah well now still just even only both either neither such many much more
most few several other another chapter part book section mr mrs ms miss dr sir lady lord saint st""".split())
_TITLES = frozenset("captain mr mrs ms miss dr doctor sir lady lord king queen prince princess professor "
                    "father mother uncle aunt old little saint st president general colonel major".split())
# Longest first: "was called" must not stop at "was".
_PREDICATE_VERB = re.compile(r"\s((?:is|was|were|are) (?:called|named|known as)|is|was|are|were|became|becomes|remained|"
                             r"called|named)\s")
_WHERE_PREPOSITIONS = ("in", "at", "near", "to", "from")


@dataclass(frozen=True)
class StudyQuestion:
    """A question about one sentence of the book, with the answer the sentence gives."""

    question: str
    answer: str
    offset: int
    """Character offset of the source sentence in the book text."""
    kind: str


@dataclass(frozen=True)
class _Fact:
    start: int
    end: int
    text: str
    kind: str  # "name", "number" or "year"


def _strip_function_words(match_text: str, start: int) -> tuple[str, int]:
    """Drop leading capitalized function words ("When Kit" -> "Kit")."""
    words = match_text.split(" ")
    skipped = 0
    while words and words[0].lower().strip("'’") in _NOT_NAMES:
        skipped += len(words[0]) + 1
        words = words[1:]
    return " ".join(words), start + skipped


def name_lexicon(text: str) -> frozenset[str]:
    """Capitalized words the book uses inside sentences: its names (a word that only ever starts
    sentences, like "Can" or "Nothing", is not one)."""
    return frozenset(m.group(1) for m in re.finditer(r"(?<=[a-z,;] )([A-Z][a-z'’]+)", text)
                     if m.group(1).lower().strip("'’") not in _NOT_NAMES)


def facts_in(sentence: str, names: frozenset[str] | None = None) -> list[_Fact]:
    """Names, years and numbers in a sentence, in order, without overlaps.

    With ``names`` (``name_lexicon`` of the book) a capitalized word at the start of the sentence
    counts as a name only if the book also uses it inside sentences.  A name after "the" takes the
    article with it ("the Psychologist"), so the question word replaces both.
    """
    found: list[_Fact] = []
    for m in _NAME.finditer(sentence):
        text, start = _strip_function_words(m.group(0), m.start())
        if len(text) <= 1 or text.lower() in _NOT_NAMES:
            continue
        at_start = not sentence[:start].strip(" \"'“‘(")
        if at_start and names is not None and text.split(" ")[0] not in names:
            continue
        if sentence[:start].endswith(("the ", "The ")):
            start -= 4
            text = sentence[start:start + 4] + text
        found.append(_Fact(start, start + len(text), text, "name"))
    for m in _NUMBER.finditer(sentence):
        text = m.group(0).rstrip(".,")
        if text.lower() in ("one",) or not text:
            continue
        kind = "year" if _YEAR.match(text) else "number"
        if not any(f.start <= m.start() < f.end for f in found):
            found.append(_Fact(m.start(), m.start() + len(text), text, kind))
    return sorted(found, key=lambda f: f.start)


def _who_or_what(fact: _Fact) -> str:
    if fact.kind != "name":
        return "what"
    if fact.text.endswith(("'s", "’s")):
        return "whose"
    words = fact.text.split(" ")
    first = words[1] if words[0].lower() == "the" and len(words) > 1 else words[0]
    return "who" if first.lower() in _TITLES or len(words) <= 3 else "what"


def _answer_of(fact: _Fact) -> str:
    """What the question about ``fact`` is answered with ("Filby's" -> "Filby")."""
    return re.sub(r"['’]s$", "", fact.text)


def _question_word(sentence: str, fact: _Fact) -> tuple[str, int]:
    """The words that replace ``fact`` in an echo question, and where the replaced text starts."""
    before = sentence[:fact.start].rstrip()
    last_word = before.rsplit(" ", 1)[-1].lower() if before else ""
    if fact.kind == "year":
        return "what year", fact.start
    if fact.kind == "number":
        return "how many", fact.start
    if last_word == "of" and fact.kind == "name":
        return "what", fact.start
    if last_word in _WHERE_PREPOSITIONS and fact.text.split(" ")[0].lower() != "the" \
            and not fact.text.endswith(("'s", "’s")):
        return "where", fact.start - len(last_word) - 1
    return _who_or_what(fact), fact.start


def _clean_end(sentence: str) -> str:
    return sentence.rstrip().rstrip(".!?;:\"'”’").rstrip()


def _subject_question(sentence: str, fact: _Fact) -> tuple[str, str] | None:
    """"Kit Amberly found the ledger." -> ("Who found the ledger?", "Kit Amberly")."""
    if sentence[:fact.start].strip(" \"'“‘(") or fact.kind != "name":
        return None
    rest = _clean_end(sentence[fact.end:]).lstrip(" ,")
    if len(rest.split()) < 2 or not rest[0].islower():
        return None
    return f"{_who_or_what(fact).capitalize()} {rest}?", _answer_of(fact)


def _echo_question(sentence: str, fact: _Fact) -> tuple[str, str] | None:
    """"The keeper kept eleven lamps." -> ("The keeper kept how many lamps?", "eleven")."""
    if not sentence[:fact.start].strip(" \"'“‘("):
        return None
    words, cut = _question_word(sentence, fact)
    body = sentence[:cut].rstrip() + " " + words + sentence[fact.end:]
    body = _clean_end(body)
    if len(body.split()) < 4:
        return None
    answer = sentence[cut:fact.end].strip() if words == "where" else _answer_of(fact)
    return body[0].upper() + body[1:] + "?", answer


_CLAUSE_BREAK = re.compile(r"[;:]\s|,\s(?=(?:and|but|so|yet|while|whereas)\s)|\s(?:because|although|though)\s")
_LEADING_CLAUSE = re.compile(r"^.*?\b(?:that|whether)\s+", re.I)
_PASSIVE = re.compile(r"^(?P<patient>.{3,80}?)\s(?:was|were|had been|has been|have been|is|are)\s(?P<verb>[a-z]+(?:ed|en|t))"
                      r"\b(?P<rest>[^,;]*?)\sby\s(?:(?:a|an|the)\s[a-z]+\s(?:named|called)\s)?(?P<agent>(?:the\s)?[A-Z][\w'’]*"
                      r"(?:\s[A-Z][\w'’]*)*)")


def clauses(sentence: str) -> list[str]:
    """The sentence's main clauses ("X had a dog, and the dog was called Pilot" -> two)."""
    parts = [_clean_end(p).strip(" ,") for p in _CLAUSE_BREAK.split(sentence)]
    parts = [re.sub(r"^(?:and|but|so|yet|while|whereas)\s", "", p) for p in parts]
    return [p[0].upper() + p[1:] for p in parts if len(p.split()) >= 3]


def _noun_phrase(words: str) -> str | None:
    """``words`` as the subject of a question, or None when it does not look like a noun phrase."""
    words = _LEADING_CLAUSE.sub("", words).strip()
    if not words or len(words.split()) > 8 or "," in words or '"' in words:
        return None
    first = words.split(" ")[0]
    keep_capital = first in ("I",) or (first[0].isupper() and first.lower() not in _NOT_NAMES)
    return words if keep_capital else first.lower() + words[len(first):]


def _predicate_questions(sentence: str) -> list[tuple[str, str]]:
    """Questions on each clause's predicate.

    "The dog was called Pilot" -> "The dog was called what?" and "What was the dog called?";
    "The Editor's favourite dish was eel pie" -> "What was the Editor's favourite dish?".
    """
    made: list[tuple[str, str]] = []
    for clause in clauses(sentence):
        match = _PREDICATE_VERB.search(clause)
        if match is None or match.start() < 3:
            continue
        subject = clause[:match.start()].strip()
        predicate = re.split(r",|\s(?:and|but|which|who|when|while)\s", clause[match.end():], maxsplit=1)[0]
        predicate = _clean_end(predicate)
        if not (1 <= len(predicate.split()) <= 8) or len(subject.split()) > 14:
            continue
        verb = match.group(1)
        made.append((f"{clause[:match.end()].strip()} what?", predicate))
        phrase = _noun_phrase(subject)
        if phrase is not None:
            be, _, participle = verb.partition(" ")
            a_name = not participle and all(w[:1].isupper() for w in predicate.split() if w.lower() != "the")
            made.append((f"{'Who' if a_name else 'What'} {be} {phrase}{' ' + participle if participle else ''}?",
                         predicate))
            if participle in ("called", "named"):
                made.append((f"What was the name of {phrase}?", predicate))
    return made + _owner_name_questions(sentence)


_OWNER_NAMED = re.compile(r"^(?P<owner>(?:[A-Z]|the |The |an? |An? )[\w'’ ]{1,60}?) (?:had|kept|owned) an? (?:[\w-]+ ){0,3}"
                          r"(?P<thing>[a-z-]+)(?:,? and (?:the|this|that|his|her|the) (?P<again>[a-z-]+) (?:was|were) "
                          r"|,? )(?:called|named) (?P<name>[A-Z][\w'’]*(?: [A-Z][\w'’]*)*)")


def _owner_name_questions(sentence: str) -> list[tuple[str, str]]:
    """"The Time Traveller had a grey whippet, and the dog was called Pilot." -> "What was the name of the
    Time Traveller's dog?" (and "... whippet?"): readers ask for a name by its owner."""
    match = _OWNER_NAMED.search(sentence)
    if match is None:
        return []
    owner = _noun_phrase(match.group("owner"))
    if owner is None:
        return []
    things = dict.fromkeys(t for t in (match.group("again"), match.group("thing")) if t)
    return [(f"What was the name of {owner}'s {thing}?", match.group("name")) for thing in things]


def _passive_question(sentence: str) -> tuple[str, str] | None:
    """"The door had been painted yellow by a carpenter named Ezra Colville." ->
    ("Who painted the door yellow?", "Ezra Colville")."""
    match = _PASSIVE.search(_clean_end(sentence))
    if match is None:
        return None
    patient = _noun_phrase(match.group("patient"))
    if patient is None:
        return None
    return f"Who {match.group('verb')} {patient}{match.group('rest')}?", match.group("agent")


_AUXILIARIES = frozenset("was were is are be been am did does do could would should might must may can shall will "
                         "had has have".split())
_PRONOUNS = frozenset("he she it they we i you this that there these those one who which what".split())
_DETERMINERS = frozenset("the a an his her its their our my your this that these those every each some".split())
_ADVERB = re.compile(r"^(?:[a-z]+ly|never|always|often|once|still|soon|then|now|also|just|even|only|almost|again)$")
_OBJECT_END = re.compile(r",|;|(?:^|\s)(?:in|on|at|to|from|with|into|onto|under|over|for|by|near|through|after|before|"
                         r"during|because|and|but|while|when|where|who|which|that)\s")


def _past_verb_lemma(word: str, form: str = "VBD") -> str | None:
    """The base form of a simple past verb ("kept" -> "keep"), or of a past participle with
    ``form="VBN"`` ("been" -> "be"); None if ``word`` is not one (lemminflect's tables)."""
    from lemminflect import getAllLemmas, getInflection

    if form == "VBD" and word in _AUXILIARIES and word != "had":
        return None
    for lemma in getAllLemmas(word).get("VERB", ()):
        if word in getInflection(lemma, form) and word != lemma:
            return lemma
    return None


def _opens_a_noun_phrase(word: str, names: frozenset[str] | None) -> bool:
    """Whether a clause starting with ``word`` has a noun-phrase subject: a determiner ("the", "his")
    or a name of the book ("Kit", "Filby's")."""
    first = word.lower().strip("'’")
    return first in _DETERMINERS or (word[:1].isupper() and first not in _NOT_NAMES and (
        names is None or word.strip("'’").removesuffix("'s").removesuffix("’s") in names))


def _do_support(clause: str, names: frozenset[str] | None) -> tuple[str, str, str, str] | None:
    """(subject, verb, base form, rest) of a clause in the simple past with a noun-phrase subject:
    "The Psychologist kept fourteen spoons in a box" -> ("the Psychologist", "kept", "keep", "fourteen ...")."""
    words = clause.split(" ")
    if not _opens_a_noun_phrase(words[0], names):
        return None  # "Suddenly he ...", "Often ...", "Underneath it ...": no noun-phrase subject
    for v in range(1, min(len(words) - 1, 7)):
        word = words[v].lower()
        if word in _PRONOUNS or (word in _AUXILIARIES and word != "had") or word.endswith(","):
            return None
        lemma = _past_verb_lemma(word)
        if lemma is None:
            continue
        if lemma == "have" and _past_verb_lemma(words[v + 1].lower(), "VBN"):
            return None  # "had won", "had been": a past perfect, asked by the other templates
        phrase = _noun_phrase(" ".join(words[:v]))
        rest = " ".join(words[v + 1:])
        return (phrase, words[v], lemma, rest) if phrase and rest else None
    return None


_LEADING_WHEN = re.compile(r"^(?:When|After|As soon as|Once|Then|So|And)\s(?:[^,]{3,120},\s)?")
_PARTICLES = frozenset("away up down out off about over back along around round aside".split())
_HOW_VERBS = frozenset("feel look seem sound".split())
MAX_ACTION_WORDS = 16
"""A "What did X do?" answer longer than this is cut at its first comma or "and" (readers answer briefly)."""


def _action(verb: str, rest: str) -> str | None:
    """The answer to "What did X do?": the verb phrase, cut short when it runs on."""
    action = _clean_end(f"{verb} {rest}")
    words = action.split(" ")
    if len(words) > MAX_ACTION_WORDS:
        cut = re.search(r",|\s(?:and|so that|that|which|who)\s", " ".join(words[:MAX_ACTION_WORDS]))
        if cut is None or cut.start() < 8:
            return None
        action = action[:cut.start()]
    return action


def _do_questions(sentence: str, names: frozenset[str] | None) -> list[tuple[str, str]]:
    """Questions a reader asks of a past-tense clause, with the question word moved to the front:
    "What did the Psychologist keep in a walnut box?", "How many silver spoons did the Psychologist
    keep?", "Where did Filby's sister live?", "How did the Giant feel?", "What did Kit Amberly do?"."""
    made: list[tuple[str, str]] = []
    for clause in clauses(sentence):
        main = _LEADING_WHEN.sub("", clause)  # "When the Spring came, the Giant felt sad": ask the main clause
        parsed = _do_support(main[0].upper() + main[1:] if main else main, names)
        if parsed is None:
            continue
        subject, verb, lemma, rest = parsed
        words = rest.split(" ")
        adverb = words[0] if _ADVERB.match(words[0]) and len(words) > 1 else ""
        if words[0].lower() in _PARTICLES:  # "ran away", "stretched out his arms": part of the verb
            lemma, words = f"{lemma} {words[0]}", words[1:]
        body = " ".join(words[1:]) if adverb else " ".join(words)
        did = f"did {subject} {lemma}"
        split = _OBJECT_END.search(body)
        obj, tail = (body[:split.start()], body[split.start():]) if split else (body, "")
        tail = _clean_end(tail.split(",")[0]) if not tail.startswith((",", ";")) else ""
        place = re.match(r"(?:in|at|near|into|from|on)\s(?:the|a|an|his|her|their|[A-Z])", body)
        first_part = _clean_end(re.split(r",|;|\s(?:and|but|that|so)\s", body)[0])
        if lemma in _HOW_VERBS and body:
            made.append((f"How {did}?", first_part))
        elif place:
            made.append((f"Where {did}?", first_part))
        elif 1 <= len(obj.split()) <= 8 and obj.split(" ")[0].lower() not in _AUXILIARIES | _PARTICLES:
            made.append((f"What {did}{tail}?", (adverb + " " + obj).strip()))
        for fact in facts_in(body, names):
            before = body[:fact.start].rstrip()
            if fact.kind == "number" and not before:
                noun = _OBJECT_END.split(body[fact.end:].strip(), maxsplit=1)[0].strip()
                if 1 <= len(noun.split()) <= 4:
                    rest_after = body[fact.end:].strip()[len(noun):]
                    made.append((f"How many {noun} {did}{rest_after}?", fact.text))
            elif fact.kind == "name" and before:
                prep = before.rsplit(" ", 1)[-1].lower()
                which = re.search(r"(?:^|\s)(in|at|to|from|near)\s(?:the|a)\s(\w+)\sof$", before)
                if which:
                    made.append((f"{which.group(1).capitalize()} which {which.group(2)} {did}"
                                 f"{' ' + before[:which.start()].strip() if which.start() else ''}?", fact.text))
                elif prep in _WHERE_PREPOSITIONS and not fact.text.lower().startswith("the ") and "," not in before:
                    made.append((f"Where {did} {before[:-len(prep)].strip()}".rstrip() + "?", f"{prep} {fact.text}"))
        action = _action(verb, rest)
        if action is not None:
            made.append((f"What did {subject} do?", action))
    return made


def _why_question(sentence: str, names: frozenset[str] | None) -> tuple[str, str] | None:
    """"The keeper lit the lamp early because a storm was coming." -> ("Why did the keeper light the lamp
    early?", "because a storm was coming")."""
    match = re.search(r",?\s(because|since|as|so that)\s", sentence)
    if match is None or match.group(1) in ("since", "as") and "," not in sentence[:match.end()]:
        return None
    parsed = _do_support(_clean_end(sentence[:match.start()]), names)
    reason = _clean_end(sentence[match.start():]).lstrip(", ")
    if parsed is None or not 3 <= len(reason.split()) <= 25:
        return None
    subject, _, lemma, rest = parsed
    if len(rest.split()) > 14 or "," in rest:
        return None
    return f"Why did {subject} {lemma} {rest}?", reason


def _when_questions(sentence: str, names: frozenset[str] | None) -> list[tuple[str, str]]:
    """"When the Spring came, the Giant looked out." -> "What did the Giant do when the Spring came?"
    and "What happened when the Spring came?"."""
    match = re.match(r"(When|After|As soon as|Once)\s([^,]{8,120}),\s(.+)$", _clean_end(sentence))
    if match is None:
        return []
    condition, main = f"{match.group(1).lower()} {match.group(2)}", match.group(3)
    made = [(f"What happened {condition}?", main[0].upper() + main[1:])] if len(main.split()) <= 25 else []
    parsed = _do_support(main, names)
    if parsed is not None:
        subject, verb, _, rest = parsed
        action = _action(verb, rest)
        if action is not None:
            made.append((f"What did {subject} do {condition}?", action))
    return made


_RELATIVE = re.compile(r"(?:^|\s)(?P<det>a|an|the|his|her|their|its|[Tt]hat) (?P<head>(?:[a-z-]+ ){0,3}[a-z-]+) (?:that|which) "
                       r"(?P<clause>[^,;]+)")
_HAD = frozenset(("had", "has", "have"))


def _relative_questions(sentence: str, names: frozenset[str] | None) -> list[tuple[str, str]]:
    """Questions on a thing described by a relative clause:
    "On the mantel stood a brass barometer that the Medical Man had won at a raffle in Brighton." ->
    "Where did the Medical Man win the brass barometer?" ("at a raffle in Brighton"), "What did the
    Medical Man win at a raffle in Brighton?" ("a brass barometer"), "Who won the brass barometer?"."""
    from lemminflect import getInflection

    match = _RELATIVE.search(_clean_end(sentence))
    if match is None:
        return []
    words = match.group("clause").split(" ")
    if not _opens_a_noun_phrase(words[0], names):
        return []  # "that he found", "which was": no noun-phrase subject of its own
    for v in range(1, min(len(words), 6)):
        word = words[v].lower()
        if word in _PRONOUNS or (word in _AUXILIARIES and word not in _HAD):
            return []
        perfect = word in _HAD and v + 1 < len(words)
        verb = words[v + 1].lower() if perfect else word
        lemma = _past_verb_lemma(verb, "VBN" if perfect else "VBD")
        if lemma is None:
            continue
        subject = _noun_phrase(" ".join(words[:v]))
        if subject is None or lemma == "be":
            return []
        rest = " ".join(words[v + 2 if perfect else v + 1:]).strip()
        thing = f"{match.group('det').lower()} {match.group('head')}"
        the_thing = f"the {match.group('head')}"
        made = [(f"What did {subject} {lemma}{' ' + rest if rest else ''}?", thing)]
        if re.match(r"(?:in|at|near|on|from)\s", rest):
            made.append((f"Where did {subject} {lemma} {the_thing}?", rest))
        if any(w[:1].isupper() for w in subject.split(" ")):  # a named doer: "who"; "his brother" may be a storm
            past = (getInflection(lemma, "VBD") or (verb,))[0]
            made.append((f"Who {past} {the_thing}{' ' + rest if rest else ''}?", subject))
        return made
    return []


def _about_question(fact: _Fact, sentence: str) -> tuple[str, str] | None:
    if fact.kind != "name" or len(sentence.split()) > 45:
        return None
    return f"What does the book say about {_answer_of(fact)}?", sentence.strip()


def _cloze_question(sentence: str, fact: _Fact) -> tuple[str, str]:
    blanked = sentence[:fact.start] + "____" + sentence[fact.end:]
    return f'Fill in the blank from the book: "{blanked}"', fact.text


def sentence_questions(sentence: str, following: str | None, rng: np.random.Generator,
                       names: frozenset[str] | None = None) -> list[tuple[str, str, str]]:
    """(question, answer, kind) for one sentence, in the order they should be used.

    The first items ask the sentence's facts the way a reader would (subject,
    echo, predicate), the later ones in other forms; facts are taken in a
    seeded order so repeated runs with another seed ask other facts first.
    """
    facts = facts_in(sentence, names)
    order = [facts[int(i)] for i in rng.permutation(len(facts))] if facts else []
    direct: list[tuple[str, str, str]] = []
    for fact in order:
        for kind, made in (("subject", _subject_question(sentence, fact)), ("echo", _echo_question(sentence, fact))):
            if made is not None:
                direct.append((made[0], made[1], kind))
    passive = _passive_question(sentence)
    if passive is not None:
        direct.insert(0, (*passive, "subject"))
    for k, (question, answer) in enumerate(_predicate_questions(sentence)):
        direct.insert(min(1 + k, len(direct)), (question, answer, "predicate"))
    # A reader's own questions (moved question words, "why") go first: the study items must answer the
    # way the reader asks, and the other forms add directions.
    why = _why_question(sentence, names)
    asked = [(q, a, "why") for q, a in ([why] if why else []) + _when_questions(sentence, names)]
    asked += [(q, a, "do") for q, a in _do_questions(sentence, names)]
    asked += [(q, a, "relative") for q, a in _relative_questions(sentence, names)]
    direct = _interleave(asked, direct)
    other: list[tuple[str, str, str]] = []
    if order:
        about = _about_question(order[0], sentence)
        if about is not None:
            other.append((about[0], about[1], "about"))
        other.append((*_cloze_question(sentence, order[0]), "cloze"))
    if following is not None and (direct or asked):
        other.append((f'What happened after this: "{_clean_end(sentence)}"?', following.strip(), "after"))
    return direct + other


def _interleave(first: list, second: list) -> list:
    """first[0], second[0], first[1], second[1], ... then the rest of the longer list."""
    out = []
    for k in range(max(len(first), len(second))):
        out += first[k:k + 1] + second[k:k + 1]
    return out


def book_sentences(text: str) -> list[tuple[int, str]]:
    """(offset, sentence) pairs, never across a paragraph break, leading quote marks dropped."""
    out: list[tuple[int, str]] = []
    for offset, sentence in split_sentences(text):
        start = 0
        for part in re.split(r"(\n\s*\n)", sentence):
            stripped = part.strip().lstrip("'‘\"“ ")
            if stripped and not part.isspace():
                out.append((offset + start + part.find(stripped), stripped))
            start += len(part)
    return out


def study_questions(text: str, end_char: int, count: int, seed: int) -> list[StudyQuestion]:
    """``count`` questions spread over the whole text before ``end_char``.

    Every sentence that yields a question gets its first one before any
    sentence gets its second, so the questions cover the book evenly and
    density adds directions per fact, not more of the same sentences.
    """
    rng = np.random.default_rng([seed, 23])
    names = name_lexicon(text[:end_char])
    sentences = [(o, s) for o, s in book_sentences(text[:end_char]) if 20 <= len(s) <= 400]
    per_sentence: list[tuple[int, list[tuple[str, str, str]]]] = []
    for i, (offset, sentence) in enumerate(sentences):
        following = sentences[i + 1][1] if i + 1 < len(sentences) and len(sentences[i + 1][1]) <= 300 else None
        made = sentence_questions(sentence, following, rng, names)
        if made:
            per_sentence.append((offset, made))
    chosen: list[StudyQuestion] = []
    round_index = 0
    while len(chosen) < count and per_sentence:
        in_round = [(o, m[round_index]) for o, m in per_sentence if round_index < len(m)]
        if not in_round:
            break
        for j in rng.permutation(len(in_round)):
            offset, (question, answer, kind) = in_round[int(j)]
            chosen.append(StudyQuestion(question, answer, offset, kind))
            if len(chosen) >= count:
                break
        round_index += 1
    return sorted(chosen, key=lambda q: q.offset)


__all__ = ["StudyQuestion", "book_sentences", "facts_in", "name_lexicon", "sentence_questions", "study_questions"]
