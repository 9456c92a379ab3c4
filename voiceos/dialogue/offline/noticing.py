"""What the offline brain says when it hears a personal fact, and how it asks after one later.

"My sister Ana lives in Lisbon" gets "Ana, in Lisbon. Do you get to see each other
much?"; a few turns on, a quiet moment may bring "How's Ana getting on in Lisbon?".
Only names and places are said back (they are short and safe to repeat); the rest of
the user's words stay in memory, not in the reply.
"""

from __future__ import annotations

import logging
import re

from voiceos.dialogue.capture import Heard
from voiceos.dialogue.skills.text import Variety
from voiceos.dialogue.vocab import PETS

logger = logging.getLogger(__name__)

_NERVOUS = re.compile(
    r"\b(?:interview|exam|exams|test|appointment|surgery|operation|"
    r"hearing|audition|presentation|meeting|results|scan)\b",
    re.I,
)
_TRIP = re.compile(
    r"\b(?:flying|flight|heading|driving|travell?ing|trip|holiday|off to|visit|"
    r"visiting)\b",
    re.I,
)


_RECENT_MOVE = re.compile(
    r"\b(?:just|recently|finally) moved\b|\bmoved\b.*\b(?:last (?:week|month)|this (?:week|"
    r"month|year)|(?:days|weeks) ago|a month ago)\b|^(?:i|we) moved to \S+$",
    re.IGNORECASE,
)


def _place_of(text: str) -> str:
    """A capitalised place in a plan ("Tokyo"), or ""."""
    found = re.search(r"\bto ((?:[A-Z][\w'-]+)(?: [A-Z][\w'-]+)*)", text)
    return found.group(1) if found else ""


def _short(value: str, words: int = 5) -> str:
    """`value` when it is short enough to say back, else ""."""
    value = value.strip(" ,.!?")
    return value if 0 < len(value.split()) <= words else ""


def acknowledge(heard: Heard, say: Variety) -> str | None:
    """A warm reply to a fact just heard, or None to let the usual reply answer."""
    key, name, value = heard.key, heard.name, heard.value
    subject = heard.subject
    head = subject.split()[-1] if subject else ""
    if key.endswith(".name") and head in PETS:
        return say.pick(
            (
                f"{name}! That's a lovely name for a {head}. What's {name} like?",
                f"{name}. I like that. How long have you had {name}?",
                f"A {head} called {name}. What's the funniest thing {name} does?",
            )
        )
    if key.endswith(".has") and head in PETS:
        return say.pick(
            (f"You have a {head}? What's their name?", f"Oh, a {head}! What are they like?")
        )
    if key.endswith(".name") and name:
        if subject == "best friend":
            return say.pick(
                (f"{name}. How did you two meet?", f"Tell me about {name}. What are they like?")
            )
        return say.pick(
            (
                f"{name}. What's {name} like?",
                f"Tell me about {name}. Are you close?",
                f"{name}. How are things between you two?",
            )
        )
    if key.endswith(".home") and _short(value):
        who = name or f"your {subject}"
        if re.search(r"\bmoved\b", heard.text, re.I):
            return (
                f"{who[:1].upper() + who[1:]} moved to {value}? How's {name or 'it'} settling in?"
            )
        return say.pick(
            (
                f"{who[:1].upper() + who[1:]} lives in {value}? Do you get to see each other much?",
                f"{value}. Do you ever visit {name or 'them'} there?",
            )
        )
    if key.endswith(".work"):
        who = name or f"your {subject}"
        return say.pick(
            (
                f"Does {who} enjoy it?",
                f"That sounds like demanding work. How does {who} find it?",
            )
        )
    if key == "home" and _short(value) and _RECENT_MOVE.search(heard.text):
        return say.pick(
            (f"{value}! How are you settling in?", f"How are you finding {value} so far?")
        )
    if key == "home" and _short(value):
        return say.pick(
            (
                f"{value}. What's it like living there?",
                f"How are you finding {value}?",
                f"{value}! What do you like most about it there?",
            )
        )
    if key == "origin" and _short(value, 8):
        return say.pick(
            (
                f"What was it like growing up in {value}?",
                f"Do you still go back to {value} sometimes?",
            )
        )
    if key == "work":
        return say.pick(
            (
                "What's that like, day to day?",
                "How long have you been doing that?",
                "Do you enjoy it?",
            )
        )
    if key == "study":
        return say.pick(("What got you interested in that?", "How are you finding it so far?"))
    if subject == "birthday":
        return say.pick(
            (
                "How do you usually like to celebrate it?",
                "Do you make a fuss of it, or keep it quiet?",
            )
        )
    if subject == "anniversary":
        return "How are you two going to mark it?"
    if key.endswith(".date"):
        return "Do you have anything planned for it?"
    if key.startswith("favourite:") and _short(value, 4):
        shown = value[:1].upper() + value[1:]
        return say.pick((f"{shown}. Good choice. What do you like about it?", f"Why {value}?"))
    if key.startswith("plan:"):
        if _NERVOUS.search(heard.text):
            return say.pick(
                ("Good luck. How are you feeling about it?", "Are you nervous, or mostly ready?")
            )
        place = _place_of(heard.text)
        if place and _TRIP.search(heard.text):
            return say.pick(
                (
                    f"{place}! Have you been before?",
                    f"{place}. What are you looking forward to most?",
                )
            )
        return say.pick(
            ("That sounds nice. Are you looking forward to it?", "Who's going with you?")
        )
    return None


def follow_up(key: str, subject: str, value: str, name: str, text: str) -> str | None:
    """A question about something told before, or None when there is nothing natural to ask."""
    if key.endswith(".home") and name and _short(value):
        return f"How's {name} getting on in {value}?"
    if key.endswith(".name") and name and subject.split()[-1] in PETS:
        return f"How's {name} doing, by the way?"
    if key.endswith(".name") and name:
        return f"How's {name}, by the way?"
    if key == "home" and _short(value):
        return f"How are you finding {value} these days?"
    if key == "work":
        return "How's work been, by the way?"
    if key == "study":
        return "How are your studies going?"
    if key == "feeling" and _short(value, 2):
        return f"Are you still feeling {value}?"
    if key.startswith("plan:"):
        place = _place_of(text)
        return f"Are you looking forward to {place}?" if place else None
    return None
