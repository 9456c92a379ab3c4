"""Words that say what a personal fact is about: relations, pets, jobs, and their synonyms.

Shared by fact capture (statements) and recall (questions), so both sides agree on the
subject a sentence is about: "my best mate" and "my best friend" are one subject.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def wordset(text: str) -> frozenset[str]:
    """Words written as one string (no import of the skills package, which needs memory)."""
    return frozenset(text.split())


RELATIONS = wordset(
    """sister brother sibling mother mom mum mommy mummy mam mama father dad daddy papa
    parents wife husband partner girlfriend boyfriend fiance fiancee fiancé fiancée spouse
    son daughter kid kids child children baby grandma grandmother granny nan nana grandpa
    grandfather granddad grandad aunt auntie uncle cousin niece nephew friend mate buddy
    pal bestie boss manager colleague coworker roommate flatmate housemate neighbour
    neighbor teacher therapist doctor twin stepmother stepfather stepmom stepdad
    stepsister stepbrother godmother godfather ex landlord landlady mentor"""
)
MODIFIERS = wordset(
    """little big older younger elder baby twin best closest oldest youngest childhood old
    new favourite favorite eldest step half"""
)
PETS = wordset(
    """dog cat puppy kitten rabbit bunny hamster parrot bird fish goldfish horse pony
    tortoise turtle snake lizard ferret budgie gecko pig chicken hen mouse rat
    gerbil guinea"""
)
BREEDS = {
    **dict.fromkeys(
        [
            "retriever",
            "labrador",
            "lab",
            "poodle",
            "terrier",
            "spaniel",
            "beagle",
            "collie",
            "husky",
            "pug",
            "dachshund",
            "greyhound",
            "whippet",
            "boxer",
            "bulldog",
            "corgi",
            "chihuahua",
            "labradoodle",
            "cockapoo",
            "sheepdog",
            "schnauzer",
            "rottweiler",
            "dalmatian",
            "pointer",
            "setter",
            "mutt",
        ],
        "dog",
    ),
    **dict.fromkeys(["tabby", "siamese", "persian", "moggy"], "cat"),
}
"""Breeds people name instead of the animal: "my golden retriever Max" is a dog."""
JOBS = wordset(
    """nurse chef doctor lawyer teacher engineer developer programmer designer writer artist
    barista pilot cook mechanic plumber electrician carpenter architect accountant dentist
    pharmacist vet surgeon firefighter officer soldier farmer musician journalist editor
    librarian cashier waiter waitress manager consultant scientist researcher analyst
    translator photographer tutor professor lecturer nanny cleaner driver builder baker
    butcher hairdresser paramedic midwife therapist psychologist actor actress dancer
    singer painter illustrator receptionist secretary clerk banker broker salesman
    saleswoman entrepreneur founder ceo freelancer coder tester administrator admin
    technician gardener florist carer caregiver volunteer intern apprentice postman
    courier miner sailor fisherman student"""
)
JOB_SUFFIXES = ("er", "or", "ist", "ian", "eer", "ant", "ent", "ive", "ess")
NOT_JOBS = wordset(
    """fan lover person mess bit lot little loner beginner other brother sister mother father
    daughter whatever together over never monster number winner loser user member
    thinker dreamer worrier talker listener sleeper"""
)
FEELINGS = wordset(
    """sad happy anxious nervous angry upset depressed stressed worried scared afraid
    excited hopeful lonely tired exhausted overwhelmed down low great good fine better
    worse frustrated annoyed proud grateful calm relaxed bored confused lost hurt
    heartbroken homesick restless curious glad thrilled miserable burnt burned sick ill
    unwell"""
)
MONTHS = wordset(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec"""
)
DAYS = wordset(
    """monday tuesday wednesday thursday friday saturday sunday tomorrow today tonight
    weekend"""
)

# Question and statement words that mean the same subject; keys are what is stored.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "home": ("live", "living", "lives", "home", "house", "flat", "apartment", "based", "stay"),
    "origin": ("from", "born", "grew", "hometown", "come", "originally", "raised", "origin"),
    "work": (
        "work",
        "job",
        "living",
        "career",
        "profession",
        "do",
        "occupation",
        "employ",
        "employed",
        "office",
    ),
    "study": (
        "study",
        "studying",
        "school",
        "university",
        "college",
        "degree",
        "course",
        "major",
        "uni",
        "class",
    ),
    "birthday": ("birthday", "born", "birth", "old", "age"),
    "likes": ("like", "love", "enjoy", "into", "favourite", "favorite", "fan", "adore"),
    "dislikes": ("hate", "dislike", "stand", "loathe", "detest"),
    "plans": (
        "plan",
        "plans",
        "going",
        "flying",
        "trip",
        "travel",
        "travelling",
        "doing",
        "weekend",
        "next",
        "visit",
        "visiting",
        "leave",
        "leaving",
        "holiday",
    ),
    "feelings": ("feel", "feeling", "felt", "mood", "doing", "been"),
    "pets": tuple(PETS) + ("pet", "pets", "animal", "animals"),
}
SAME: dict[str, str] = {
    "mom": "mother", "mum": "mother", "mommy": "mother", "mummy": "mother", "mam": "mother",
    "mama": "mother", "dad": "father", "daddy": "father", "papa": "father",
    "granny": "grandmother", "nan": "grandmother", "nana": "grandmother",
    "grandma": "grandmother", "grandpa": "grandfather", "granddad": "grandfather",
    "grandad": "grandfather", "mate": "friend", "buddy": "friend", "pal": "friend",
    "bestie": "best friend", "coworker": "colleague", "flatmate": "roommate",
    "housemate": "roommate", "neighbor": "neighbour", "kitten": "cat", "puppy": "dog",
    "bunny": "rabbit", "favorite": "favourite", "auntie": "aunt", "fiancée": "fiance",
    "fiancé": "fiance", "fiancee": "fiance", "kids": "children", "kid": "child",
    "spouse": "partner", "boy": "son", "girl": "daughter", "mother's": "mother",
    "wife": "partner", "husband": "partner", "girlfriend": "partner", "boyfriend": "partner",
    "fiance": "partner", "hubby": "partner", "missus": "partner",
}  # fmt: skip


def canonical(word: str) -> str:
    """One spelling per meaning: "mum" -> "mother", "puppy" -> "dog"."""
    return SAME.get(word) or BREEDS.get(word) or word


FAVOURITE_SAME: dict[str, str] = {
    "eat": "food", "dish": "food", "meal": "food", "meals": "food", "movie": "film",
    "movies": "film", "films": "film", "color": "colour", "tune": "song", "group": "band",
    "read": "book", "novel": "book", "show": "series", "tv show": "series",
}  # fmt: skip
"""Favourite things said two ways: "favourite movie" is asked as "favourite film"."""
