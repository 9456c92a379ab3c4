"""Bare one-word turns: "up", "off", "left", "next".

People say these to voice assistants as commands. The offline brain has no such commands
beyond the voice ones, so it says what the word could mean here instead of turning it
into a feeling ("down" is not sadness) or a question about the user's life.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_MEANINGS: dict[str, tuple[str, ...]] = {
    "up": (
        "Up? If you'd like me louder, just say louder.",
        "Up? I'm not sure what should go up. My voice? Say louder and it will.",
    ),
    "down": (
        "Down? If I'm too loud, say softer. Or did you mean you're feeling down?",
        "Down? Softer, do you mean? Or is it you who's feeling down?",
    ),
    "louder": ("Louder? Say 'speak louder' and I will.",),
    "quieter": ("Quieter? Say 'speak softer' and I will.",),
    "softer": ("Softer? Say 'speak softer' and I will.",),
    "off": (
        "Off? If you'd like me to stop talking, say stop. To end our chat, say goodbye.",
        "Off? Say stop and I'll be quiet, or goodbye if you're done for now.",
    ),
    "on": ("On? I'm here, and listening.", "I'm on. I'm listening."),
    "go": ("Go on, I'm listening.", "Go ahead. I'm here."),
    "left": ("Left? I can't move anything, I'm afraid. What did you have in mind?",),
    "right": ("Right. Go on.", "Mm, right. What are you thinking?"),
    "next": ("Next? Tell me what you'd like to talk about next.",),
    "back": ("Back to what? Remind me, and we'll go back to it.",),
    "more": ("More? Tell me which part you'd like more of.",),
    "again": ("Say that once more? I'd like to get it right.",),
    "what": ("Sorry, I'll say it more simply. What's on your mind?",),
    "pause": ("Okay. I'll wait here until you want me.",),
    "continue": ("Go on, I'm listening.",),
    "cancel": ("Okay, never mind. What's next?",),
    "repeat": ("I'm afraid I can't replay what I said. Ask me again and I'll answer.",),
}


def answer(said: str) -> tuple[str, ...] | None:
    """Ways to answer `said` when it is one command-like word; None otherwise."""
    return _MEANINGS.get(said.strip(" .!?"))
