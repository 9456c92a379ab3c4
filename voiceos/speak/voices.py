"""espeak-ng voices: listing them, and turning what a user says or types into a voice id.

A voice id is what espeak-ng's SetVoiceByName accepts: the voice file's base name
("en-us", "en-gb-x-rp", "en"), optionally with a variant ("en-us+f3"). `resolve_voice` is
pure so the dialogue can use it without loading pyttsx3; only `list_voices` and
`list_variants` import it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


class VoiceError(Exception):
    """The voices cannot be listed (espeak-ng or pyttsx3 missing). One clear line."""


@dataclass(frozen=True)
class VoiceInfo:
    """One espeak-ng voice."""

    id: str
    """What to put in `voice.voice`, e.g. "en-gb-x-rp"."""
    name: str
    """espeak-ng's description, e.g. "English (Received Pronunciation)"."""
    languages: tuple[str, ...]
    """Language tags, e.g. ("en-gb-x-rp",)."""


ACCENTS: dict[str, str] = {
    "british": "en-gb-x-rp",
    "uk": "en-gb-x-rp",
    "received pronunciation": "en-gb-x-rp",
    "english": "en",
    "american": "en-us",
    "us": "en-us",
    "new york": "en-us-nyc",
    "scottish": "en-gb-scotland",
    "caribbean": "en-029",
    "lancashire": "en-gb-x-gbclan",
    "lancaster": "en-gb-x-gbclan",
    "west midlands": "en-gb-x-gbcwmd",
    "brummie": "en-gb-x-gbcwmd",
}
"""Accent words to the espeak-ng English voices that really exist (espeak-ng 1.51 has no
Irish, Welsh or Australian English voice)."""

_VARIANT = re.compile(r"^[A-Za-z0-9_]+$")
_FILLER = {"a", "an", "the", "voice", "accent", "accented", "one", "please", "speaker"}


def split_variant(voice_id: str) -> tuple[str, str | None]:
    """ "en-us+f3" -> ("en-us", "f3"); "en-us" -> ("en-us", None)."""
    base, plus, variant = voice_id.partition("+")
    return base, (variant if plus else None)


def _normalise(query: str) -> str:
    words = re.sub(r"[^\w\s+/-]", " ", query.lower()).split()
    return " ".join(w for w in words if w not in _FILLER)


def resolve_voice(
    query: str,
    available: Sequence[str],
    names: Mapping[str, str] | None = None,
    variants: Collection[str] | None = None,
) -> str | None:
    """The voice id a user means, or None when it is unknown or ambiguous.

    Tries, in order: an exact id ("en-gb-x-rp", any case, or with its family as in
    "gmw/en-us"); an id plus a variant ("en-us+f3"); an accent word ("British",
    "a Scottish voice"); then a part of exactly one id or voice name ("scotland").

    Args:
        query: what the user typed or said.
        available: the voice ids espeak-ng has (see `list_voices`).
        names: optional id -> descriptive name, for matching names.
        variants: optional variant names (see `list_variants`); when None any
            well-formed variant is accepted.
    """
    by_lower = {v.lower(): v for v in available}
    text = query.strip()
    base, variant = split_variant(text)
    base = base.strip().lower().rsplit("/", 1)[-1]
    if variant is not None:
        variant = variant.strip()
        if variants is not None:
            canonical = {v.lower(): v for v in variants}.get(variant.lower())
        else:
            canonical = variant if _VARIANT.match(variant) else None
        if canonical is None or base not in by_lower:
            return None
        return f"{by_lower[base]}+{canonical}"
    if base in by_lower:
        return by_lower[base]

    words = _normalise(text)
    if not words:
        return None
    if words in ACCENTS and ACCENTS[words] in by_lower:
        return by_lower[ACCENTS[words]]
    in_ids = [v for v in available if words in v.lower()]
    if len(in_ids) == 1:
        return in_ids[0]
    if names:
        in_names = [v for v in available if words in names.get(v, "").lower()]
        if len(in_names) == 1:
            return in_names[0]
    return None


INSTALL_HINT = "install it, e.g. `apt install espeak-ng`"


def _engine_module() -> Any:
    """pyttsx3's espeak binding, or VoiceError when it cannot load."""
    try:
        from pyttsx3.drivers import _espeak
    except ImportError as exc:
        raise VoiceError(f"pyttsx3 is not installed ({exc})") from None
    except (OSError, RuntimeError):  # pyttsx3 raises RuntimeError when libespeak-ng is missing
        raise VoiceError(f"espeak-ng is not installed; {INSTALL_HINT}") from None
    return _espeak


_DONT_EXIT = 0x8000
"""espeakINITIALIZE_DONT_EXIT: report a failure instead of calling exit(1)."""


_process_engine: list[Any] = []
"""The process's one pyttsx3 engine, never dropped: espeak-ng exists once per process, and
an engine made after an earlier one was dropped renders empty sentences or hangs."""


def ensure_engine() -> Any:
    """The process's pyttsx3 engine on espeak-ng, made once; VoiceError when it cannot be.

    pyttsx3 2.99 initialises espeak-ng with options that end the whole process (exit(1))
    when espeak-ng's data files are missing or damaged. So the one initialisation a
    process may do (a second one deadlocks espeak-ng) is done here, asking for the
    failure to be returned, and pyttsx3's driver is told it has been done.
    """
    if _process_engine:
        return _process_engine[0]
    espeak = _engine_module()
    import pyttsx3
    from pyttsx3.drivers.espeak import EspeakDriver

    if not EspeakDriver._moduleInitialized:
        rate = espeak.Initialize(espeak.AUDIO_OUTPUT_RETRIEVAL, 1000, None, _DONT_EXIT)
        if rate <= 0:
            raise VoiceError(f"espeak-ng's data files are missing or damaged; {INSTALL_HINT}")
        current = espeak.GetCurrentVoice()
        name = current.contents.name if current else None
        # What pyttsx3's driver records after its own initialisation.
        EspeakDriver._defaultVoice = name.decode("utf-8") if name else "gmw/en"
        EspeakDriver._moduleInitialized = True
    try:
        engine = pyttsx3.init()
        engine.runAndWait()  # pyttsx3 bug 1: the first runAndWait returns early
    except (RuntimeError, OSError) as exc:
        raise VoiceError(f"espeak-ng could not start: {exc}") from None
    _process_engine.append(engine)
    return engine


def list_voices(lang: str | None = None) -> list[VoiceInfo]:
    """espeak-ng's voices, sorted by id; `lang` keeps those whose language starts with it."""
    ensure_engine()
    espeak = _engine_module()
    voices = []
    for raw in espeak.ListVoices(None):
        identifier = raw.identifier.decode("utf-8", errors="replace").lower()
        language = raw.languages[1:].decode("utf-8", errors="ignore") if raw.languages else ""
        voices.append(
            VoiceInfo(
                id=identifier.rsplit("/", 1)[-1],
                name=raw.name.decode("utf-8", errors="replace"),
                languages=(language,) if language else (),
            )
        )
    if lang:
        prefix = lang.lower()
        voices = [
            v
            for v in voices
            if any(code == prefix or code.startswith(prefix + "-") for code in v.languages)
            or v.id == prefix
            or v.id.startswith(prefix + "-")
        ]
    return sorted(voices, key=lambda v: v.id)


def list_variants() -> list[str]:
    """Variant names that can follow a "+" in a voice id ("f3", "m1", "whisperf", ...)."""
    ensure_engine()
    import ctypes

    espeak = _engine_module()
    spec = espeak.VOICE(languages=b"variant")
    found = espeak.ListVoices(ctypes.pointer(spec))
    names = {raw.identifier.decode("utf-8", errors="replace").rsplit("/", 1)[-1] for raw in found}
    return sorted(names)
