"""The offline brain's own words: openers, short answers, fallbacks and links to memory."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from voiceos.dialogue.skills.text import wordset

logger = logging.getLogger(__name__)

EMPTY = ("I'm listening.", "Take your time.", "Mm? Go on.", "Still with you. What's up?")
SYMBOLS = (
    "I can't quite read that. Could you say it in words?",
    "That's a lot of punctuation. What's on your mind?",
)
EMOJI = (
    "I can't see pictures, but I like the feeling of that one. What's going on?",
    "I can't read emoji out loud very well. Tell me in words?",
)
PUZZLED = ("That's a very puzzled sound. What's confusing you?", "Hmm? What are you wondering?")
FOREIGN = (
    "I only really understand English so far. Could you say that in English?",
    "I'm sorry, I can only follow English at the moment. Try me in English?",
)
TOO_LONG = ("That's a lot to take in at once.", "That was a lot.")

HELLO = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening|day))"
    r"(?: there| again| you)?(?: hi| hello)?"
)
OPENING_QUESTIONS = (
    "How are you?",
    "What's on your mind?",
    "How's your day going?",
    "What have you been up to?",
)
THANKS = re.compile(
    r"(?:thanks|thank you|thank you so much|thanks a lot|cheers|ta|much appreciated|"
    r"thank you very much|i appreciate it|i appreciate that)(?: so much| very much)?"
    r"(?: for (?:\w+ ?){1,6})?"
)
WELCOME = (
    "You're welcome.",
    "Any time.",
    "Of course. I'm glad I could help.",
    "My pleasure. Really.",
)

YES = re.compile(r"(?:yes|yeah|yep|yup|sure|definitely|absolutely|of course|i do|i did|exactly)")
SHORT_ANSWERS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (YES, ("Tell me more.", "Go on.", "I thought so.", "Mm. And then?")),
    (
        re.compile(r"(?:no|nope|nah|not really|i don't|i didn't|no way)"),
        ("Okay. What would you rather talk about?", "Fair enough.", "No? Tell me why not."),
    ),
    (
        re.compile(
            r"(?:i don't know|i dunno|dunno|no idea|not sure|i'm not sure|i am not sure|"
            r"who knows|i have no idea|maybe|i guess)"
        ),
        (
            "That's all right. We don't have to know yet.",
            "Take your time. What comes to mind first?",
            "Not knowing is fine. What's your best guess?",
        ),
    ),
    (
        re.compile(
            r"(?:ok|okay|cool|right|alright|fine|hmm|i see|sure thing|got it|oh|ah|wow|"
            r"fair enough|never mind|nevermind|forget it|no worries|all good)(?: .{0,40})?"
        ),
        ("So, what's on your mind?", "What else is going on with you?", "Mm. I'm still here."),
    ),
    (
        re.compile(
            r"(?:that's|that is|aw+|oh)?(?: so| really| very)? ?(?:sweet|kind|cute|lovely|"
            r"nice of you|so nice|beautiful)(?: of you)?"
        ),
        ("Aw. I meant it.", "I'm glad that landed.", "Well, it's true."),
    ),
    (
        re.compile(
            r"(?:that's|that is)(?: so| really| very| pretty)? (?:great|cool|awesome|amazing|"
            r"interesting|wonderful|good|nice|fascinating)"
        ),
        ("Isn't it?", "I think so too.", "Right? Tell me more."),
    ),
    (
        re.compile(
            r"(?:that's|that is)(?: so| really| very)? (?:sad|awful|terrible|a shame|too bad|"
            r"horrible|rough|hard)"
        ),
        ("It is, a bit.", "Mm. It really is.", "Yeah. It is."),
    ),
    (
        re.compile(r"(?:ha|haha|hahaha|hehe|lol|lmao|that's funny|funny|that's hilarious)"),
        ("What's funny?", "I love it when you laugh.", "Ha. What?"),
    ),
    (
        re.compile(r"(?:nothing|not much|nothing much|nothing really|same as usual|the usual)"),
        (
            "That's okay. We can just keep each other company.",
            "Quiet days are allowed. How are you feeling, though?",
        ),
    ),
)

FINE = re.compile(
    r"(?:i'm|i am|i feel|feeling|doing|all)? ?(?:fine|ok|okay|alright|all right|good|well|"
    r"not bad|not too bad|pretty good|great|grand)(?: thanks| thank you)?"
)
TIRED = wordset("tired sleepy knackered shattered drained stressed busy")
GLAD_FINE = ("Good. I'm glad. What's been happening with you?", "Glad to hear it. What's new?")
FINE_BUT = (
    "{W}, though. What's been going on?",
    "Only {w}? Has it been a long day?",
)
QUIET = tuple(pattern for pattern, _ in SHORT_ANSWERS[3:4] + SHORT_ANSWERS[-1:])
"""Short answers that leave room to ask after something the user told before."""

GOOD_FEELING = (
    "I'm really glad. What's been helping?",
    "That's lovely to hear. What do you think made the difference?",
)

SAD_OPENERS = (
    "Oh, that sounds hard.",
    "I'm sorry.",
    "That's a lot to carry.",
    "Mm. That sounds heavy.",
    "Oh no.",
)
HAPPY_OPENERS = (
    "Oh, I love that.",
    "That's wonderful.",
    "That makes me happy to hear.",
    "How lovely.",
    "Oh, nice!",
)
NEUTRAL_OPENERS = ("Mm.", "I see.")

GENERIC = (
    "Tell me more.",
    "Go on, I'm listening.",
    "How so?",
    "I'd love to hear more about that.",
    "Mm. How do you feel about it?",
    "I want to understand that properly. Can you tell me a bit more?",
    "I'm with you. Keep going?",
)
MY_QUESTIONS = (
    "I don't know yet. What does your gut say?",
    "Good question. Let's think it through. What comes to mind first?",
    "I'm not sure. What would you like the answer to be?",
)
YOUR_QUESTIONS = (
    "I'm still working that out about myself. What about you?",
    "I've been wondering that too. What would you say?",
    "Hm, nobody's asked me that before. Let me think about it. What's your answer?",
)
GENERIC_QUESTIONS = (
    "How do you feel about that?",
    "Tell me more?",
    "And how are you with it?",
    "What do you make of it?",
)
CANNOT_LOOK_UP = (
    "I can't look that up while I'm offline. What made you wonder?",
    "I don't know, and I can't check while I'm offline. Do you have a guess?",
    "That's beyond me without the internet, I'm afraid. Why do you ask?",
)
WONDERING = (
    "I wonder about that too. I think it might be different for everyone. What do you think?",
    "That's one of my favourite questions, and I don't have an answer. What's yours?",
    "People have asked that for a very long time. I'd love to hear what you think.",
)
THANKED = (
    "That's a lovely thing to hear. Thank you.",
    "You're making me blush, or whatever I do instead.",
    "Thank you. I like talking with you too.",
)
HURT = (
    "Ouch. I'm still learning. What did I get wrong?",
    "That's fair, I'm simpler when I'm offline. What were you hoping for?",
    "Hm. I'll try to do better. Tell me what you wanted?",
)
ABOUT_YOU = ("What makes you think I'm {x}?", "I'm {x}? Tell me why you think so.")

POSITIVE = wordset(
    "happy great good love loved wonderful excited amazing fun glad proud lovely beautiful best "
    "awesome nice enjoyed fantastic brilliant perfect delighted thrilled grateful won laughed "
    "relaxed calm better"
)
NEGATIVE = wordset(
    "sad bad awful terrible angry lonely anxious worried stressed upset hurt scared "
    "afraid depressed miserable sick lost worst hard difficult cry crying cried died dead "
    "broke failed fired lonely exhausted horrible frustrated annoyed alone pain painful "
    "nervous overwhelmed heartbroken sucks rough yelled shouted ignored cheated lied argued "
    "fight fought cruel brutal exhausting draining"
)
_NEGATION = wordset("not no never don't didn't isn't wasn't can't couldn't won't hardly less")


def mood(words: Sequence[str]) -> int:
    """-1, 0 or 1: how the words lean, with "not good" counted as bad."""
    score = 0
    for i, word in enumerate(words):
        sign = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
        if sign and any(w in _NEGATION for w in words[max(0, i - 2) : i]):
            sign = -sign
        score += sign
    return (score > 0) - (score < 0)
