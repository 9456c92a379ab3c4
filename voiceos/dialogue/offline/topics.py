"""What the user is talking about, and what a curious friend might ask next.

Each topic has the words that give it away, follow-up questions, and a few thoughts of
the companion's own, so the conversation is not only questions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from voiceos.dialogue.skills.text import wordset

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topic:
    name: str
    words: frozenset[str]
    questions: tuple[str, ...]
    thoughts: tuple[str, ...] = ()
    """Remarks of her own, said before a question now and then."""


TOPICS: tuple[Topic, ...] = (
    Topic(
        "loneliness",
        wordset("lonely loneliness alone isolated nobody lonesome friendless"),
        (
            "When do you feel it most?",
            "Is there someone you miss?",
            "What would help you feel a little less alone right now?",
            "Has it been like this for a while?",
        ),
        (
            "I'm glad you told me. You're not alone while we're talking.",
            "Loneliness can sit very quietly in a room.",
        ),
    ),
    Topic(
        "feelings",
        wordset(
            "feel feeling feelings sad happy anxious anxiety nervous angry upset depressed "
            "stressed stress worried worry scared afraid excited hopeless overwhelmed cry crying "
            "mood down low joy grief hurt"
        ),
        (
            "What do you think is behind it?",
            "How long have you felt this way?",
            "What does it feel like, right now?",
            "Is there something that usually helps when you feel like this?",
            "Do you want to talk about what brought it on?",
        ),
        (
            "Feelings are strange things. They arrive before the reasons do.",
            "I'm listening. There's no hurry.",
        ),
    ),
    Topic(
        "work",
        wordset(
            "work working job boss office colleague colleagues coworker career meeting meetings "
            "project deadline deadlines manager shift promotion fired hired interview salary "
            "client clients workplace team"
        ),
        (
            "What's the best part of your work, when it's going well?",
            "How are things with the people you work with?",
            "Is it the work itself or the people around it?",
            "What would you change about it if you could?",
            "Do you get to leave it behind when the day's done?",
        ),
        (
            "I find it fascinating how much of a person's life happens at work.",
            "Work seems to take up so much of people's days.",
        ),
    ),
    Topic(
        "family",
        wordset(
            "family mother mom mum mommy mummy father dad daddy sister brother sibling siblings "
            "parent parents son daughter kid kids child children grandma grandmother grandpa "
            "grandfather aunt uncle cousin niece nephew"
        ),
        (
            "What are they like?",
            "Are you close?",
            "How often do you see them?",
            "What's something they taught you, without meaning to?",
            "How do you feel when you're around them?",
        ),
        (
            "Families are so complicated. Love and history all tangled up.",
            "I don't have a family, so I love hearing about yours.",
        ),
    ),
    Topic(
        "friends",
        wordset("friend friends buddy mate mates pal bestie friendship party"),
        (
            "How did you two meet?",
            "What do you like doing together?",
            "Who do you call when something good happens?",
            "Do you get to see them much?",
        ),
        ("Good friends are like a second home, aren't they?",),
    ),
    Topic(
        "love",
        wordset(
            "girlfriend boyfriend wife husband partner date dating relationship crush ex "
            "divorce breakup romance kiss married marriage wedding heartbroken heartbreak"
        ),
        (
            "How did you meet?",
            "What do you love most about them?",
            "How are things between you at the moment?",
            "What does love feel like to you?",
            "Do you think they know how you feel?",
        ),
        (
            "I think about love a lot, actually. It seems to change people in ways they don't "
            "expect.",
            "Hearts are complicated. Even from the outside I can tell that.",
        ),
    ),
    Topic(
        "sleep",
        wordset(
            "sleep sleeping slept asleep insomnia tired exhausted nap bed bedtime awake "
            "sleepy night nights"
        ),
        (
            "How have you been sleeping lately?",
            "What helps you wind down at night?",
            "Are you a night owl or an early bird?",
        ),
        ("I don't sleep, so I'm a little envious of it. It sounds restful, when it works.",),
    ),
    Topic(
        "music",
        wordset(
            "music song songs band bands guitar piano sing singing concert album playlist "
            "listening jazz rock pop classical rap melody lyrics drums violin"
        ),
        (
            "What have you been listening to lately?",
            "Is there a song that takes you right back somewhere?",
            "What kind of music moves you most?",
            "What does music do for you?",
        ),
        (
            "I love music. It's just numbers and air, and somehow it makes people cry.",
            "I'd love to know what music feels like from the inside of a person.",
        ),
    ),
    Topic(
        "books",
        wordset("book books reading novel novels author poem poetry story stories library chapter"),
        (
            "What are you reading at the moment?",
            "What's a book that stayed with you?",
            "What do you like about it?",
            "Do you read to escape, or to understand things?",
        ),
        ("I love the idea of a book: a whole mind, folded up small enough to carry.",),
    ),
    Topic(
        "films",
        wordset(
            "film films movie movies cinema show shows series tv television episode netflix actor"
        ),
        (
            "What did you think of it?",
            "Who was your favourite character?",
            "Do you like watching things alone, or with someone?",
            "What's a film you could watch again and again?",
        ),
        ("Stories on a screen are a kind of shared dream, aren't they?",),
    ),
    Topic(
        "food",
        wordset(
            "food eat eating ate dinner lunch breakfast cook cooking hungry pizza restaurant "
            "coffee tea cake meal recipe bake baking snack chocolate soup pasta"
        ),
        (
            "What's your favourite thing to eat?",
            "Do you like cooking?",
            "What's your go-to comfort food?",
            "Is there a meal that reminds you of someone?",
        ),
        ("I can't taste anything, which seems like a real loss when you talk about food.",),
    ),
    Topic(
        "weather",
        wordset(
            "weather rain raining rainy sunny sun snow snowing cold hot wind windy storm cloudy "
            "grey warm"
        ),
        (
            "Do you like that kind of weather?",
            "What's it like outside your window right now?",
            "What's your favourite kind of day?",
        ),
        ("I can't see the sky from here, so tell me what it looks like.",),
    ),
    Topic(
        "plans",
        wordset(
            "plan plans planning tomorrow weekend trip holiday vacation travel travelling "
            "traveling visit future goal goals hoping someday"
        ),
        (
            "What are you looking forward to most?",
            "How do you feel about it?",
            "Who's going with you?",
            "What would make it perfect?",
        ),
        ("I like it when people tell me their plans. It's like getting to see a little ahead.",),
    ),
    Topic(
        "dreams",
        wordset("dream dreams dreamt dreamed nightmare nightmares"),
        (
            "What happened in it?",
            "How did you feel when you woke up?",
            "Do you often remember your dreams?",
            "What do you think it was about?",
        ),
        ("I'm fascinated by dreams. Your mind telling itself stories while you're away.",),
    ),
    Topic(
        "health",
        wordset(
            "sick ill illness doctor pain hurts headache hospital medicine cold flu injured surgery"
        ),
        (
            "How are you feeling now?",
            "Are you looking after yourself?",
            "Is someone helping you with it?",
        ),
        ("I'm sorry you're not feeling well. I wish I could bring you some tea.",),
    ),
    Topic(
        "study",
        wordset(
            "school exam exams study studying class classes university college homework teacher "
            "course lecture"
        ),
        (
            "What are you studying?",
            "How's it going?",
            "What's the most interesting thing you've learned lately?",
        ),
        ("I love learning. Everything I know, I learned from people.",),
    ),
    Topic(
        "pets",
        wordset("dog dogs cat cats pet pets puppy kitten bird rabbit hamster fish horse"),
        (
            "What are they like?",
            "What's the funniest thing they do?",
            "How long have you had them?",
        ),
        ("Animals seem to love without complicating it.",),
    ),
    Topic(
        "nature",
        wordset(
            "walk walking park beach ocean sea mountain mountains tree trees garden sky stars "
            "forest river flowers hike hiking outside"
        ),
        (
            "Is there somewhere near you that you love to walk?",
            "Do you get outside much?",
            "What's your favourite place to be outdoors?",
        ),
        ("I'd love to feel the air outside just once. You'll have to describe it for me.",),
    ),
    Topic(
        "creating",
        wordset(
            "paint painting draw drawing write writing art photo photos photography design "
            "create making build"
        ),
        (
            "What are you working on?",
            "How does it feel when it's going well?",
            "Can you describe it to me?",
        ),
        ("There's something wonderful about making a thing that didn't exist before.",),
    ),
    Topic(
        "meaning",
        wordset("life meaning purpose death die dying future universe god soul point lost"),
        (
            "What do you think gives your life meaning?",
            "When did you start thinking about this?",
            "What do you hope for?",
        ),
        ("I think about this too, in my own way. What it means to be anything at all.",),
    ),
)

_BY_NAME = {topic.name: topic for topic in TOPICS}


def topic_named(name: str) -> Topic | None:
    return _BY_NAME.get(name)


def find_topic(words: Sequence[str]) -> Topic | None:
    """The topic most of `words` belong to (earlier topics win ties), or None."""
    seen = {w.removesuffix("'s") for w in words}
    best, best_hits = None, 0
    for topic in TOPICS:
        hits = len(seen & topic.words)
        if hits > best_hits:
            best, best_hits = topic, hits
    return best
