"""Barge-in on loudspeakers: is what the microphone hears the user, or her own echo?

Pure: levels per chunk and speech events in, decisions out; no devices and no clock. It
runs on the echo stage's figures for each chunk (`EchoFrame`):

- Speech the reply cannot explain is the user. While she plays, her echo is loud at the
  microphone and faint after cancellation; the user is about as loud after cancellation as
  before. A chunk that is not her echo's `residue` (cleaned level close to the
  microphone's, and not faint) is unexplained. The stage's double-talk detector (a linear
  filter, which keeps the user's voice where AEC3's suppression crushes it) and its
  latest fit of her echo path are read the same way, any output sufficing.
  `onset_chunks` of them in a row HOLD the reply at once (she falls silent, keeping her
  place).
- Held, she is silent. A moment after the hold (`explained_after_s`), her voice fitted
  afresh on what held her is asked whether it explains it all: then it was her echo
  getting through a step of the clocks, and she RESUMEs at once. Once no reference can
  still be echoing (`recent_far_db` quiet over the echo's delay), sound at the
  microphone cannot be her. `confirm_chunks` of it
  within `confirm_s` confirm the user, unless her voice, fitted afresh on what was heard
  since the hold, explains it (her echo came later than the stage knew). Otherwise what
  was held is TRANSCRIBEd once (a word as short as "no" is over before her echo has died
  away): a request to stop that is not her own words, nor made of her echo (her voice,
  fitted afresh on what was heard, leaves nothing audible), INTERRUPTs; anything else,
  or nothing, and she RESUMEs (it was her echo getting through, or a knock). So is
  confirmed sound of which the endpointer made no utterance (too short for it).
  This is the check that keeps her from interrupting herself whatever the canceller does.
- Speech lasting `backchannel_max_s` or more INTERRUPTs. A shorter utterance is judged on
  its early transcript: a backchannel ("mm-hmm", "yeah", a laugh) RESUMEs, anything else
  ("wait", "stop", a question) INTERRUPTs.
- Until the canceller reaches `min_erle_db`, nothing is taken for the user while she plays
  (the canceller is still learning the room), exactly as without barge-in. Nor while more
  of her voice goes unexplained than `max_unexplained` (`CancellationCheck`): her echo is
  not cancelled well enough there for sound to hold her.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from voiceos.audio.echostage import FAR_ACTIVE_DB, EchoFrame, Residue
from voiceos.listen.echocheck import CancellationCheck
from voiceos.stt.base import is_filler
from voiceos.stt.expected import LIKELY_ABOVE

logger = logging.getLogger(__name__)

BACKCHANNELS = frozenset(
    {
        "mm", "mhm", "mm-hmm", "mmhmm", "mm hmm", "hmm", "hm", "uh-huh", "uh huh", "uhhuh",
        "yeah", "yes", "yep", "yup", "right", "okay", "ok", "sure", "i see", "aha", "ah",
        "oh", "ha", "haha", "ha ha", "hahaha", "uh", "um", "huh", "nice", "cool", "wow",
        "all right", "alright", "exactly", "true", "totally", "absolutely", "got it",
        "i know", "you're right", "that's right", "that's true", "makes sense", "of course",
        "write", "yay",
    }
)  # fmt: skip
"""Said to show one is listening; not a request to stop. "no", "wait", "stop" are not here.
"write" is how Whisper spelled a real "right" said over her ("You write."), "yay" how it
heard espeak-ng's "yeah" over her on the lab bench (and it is a glad cry, like "wow")."""
_WORDS = re.compile(r"[^a-z' -]+")
_HUM = re.compile(r"h*m[mh]*")
"""A hum however Whisper spells it: "M-M-M", "Mmm", "Hmmm", "mhm"."""


class Verdict(enum.Enum):
    HOLD = "hold"
    """Pause the reply now; the user may be talking."""
    RESUME = "resume"
    """Go on with the reply: it was a backchannel, a noise or her echo."""
    INTERRUPT = "interrupt"
    """Stop the reply; what the user says is the next turn."""
    TRANSCRIBE = "transcribe"
    """Transcribe what was heard since just before the hold, and pass it to
    `transcript()`: a word over before her echo died away, of which the endpointer made no
    utterance, is judged on its words (she stays held meanwhile)."""


class Phase(enum.Enum):
    IDLE = "idle"
    HELD = "held"
    """Unexplained sound: the reply is paused until the endpointer confirms speech."""
    DECIDING = "deciding"
    """Confirmed speech: a backchannel or an interruption?"""
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class BargeInSettings:
    residue: Residue = Residue()
    """What the canceller leaves of her echo; anything louder is unexplained. Each backend
    has its own (`residue_for`)."""
    detector_residue: Residue = Residue()
    """The same for the double-talk detector's output: its linear filter leaves more of her."""
    heard_db: float = -48.0
    """Level (dBFS, the louder of the two outputs) at which the microphone hears sound:
    with her held and her echo died away, the user going on."""
    max_leak: float = 0.45
    """Cleaned audio correlating this well with the reference is her echo getting through."""
    onset_chunks: int = 2
    """Unexplained chunks in a row (32 ms each) that hold the reply."""
    confirm_s: float = 0.8
    """Longest hold waiting for the user's voice to go on alone; she resumes sooner when
    the microphone is quiet once her echo has died away."""
    confirm_chunks: int = 2
    """Chunks with sound while no echo can be coming that make it the user."""
    backchannel_max_s: float = 1.0
    """Speech this long is an interruption whatever it says."""
    gap_s: float = 0.25
    """Quiet shorter than this is a gap inside the user's speech."""
    min_hold_s: float = 0.35
    """Shortest hold: long enough for the endpointer to confirm speech (its 200 ms minimum)."""
    explained_after_s: float = 0.064
    """This long after the hold, her voice fitted afresh is asked (once) whether it explains
    what held her and what came since; where it does (her echo through a step of the clocks
    that the running fits missed), she goes on at once, without waiting for her echo to die
    away and the held sound's words. On the lab's loopback she was held every 8 s of her
    voice for her own echo, each time for 0.7 s (median; 2.1 s at p90) before."""
    transcript_s: float = 2.5
    """Longest extra hold waiting for the transcript of a short word said over her."""
    release_s: float = 0.7
    """Quiet this long with no utterance to transcribe resumes the reply."""
    min_erle_db: float = 12.0
    """Echo reduction the canceller must reach before anything counts as the user."""
    detector_erle_db: float = 20.0
    """Echo reduction the double-talk detector's linear filter must keep for its output to
    count (it converges more slowly than AEC3, and loses her echo after a timing jump). On
    the lab's loopback, whose delay drifts, it keeps 10-16 dB; read from 15 dB it held her
    for her own echo 7 times a minute there (bench/echo_dtd.py --recorded)."""
    check_chunks: int = 300
    """Chunks of her voice (about 10 s) over which `max_unexplained` is counted."""
    max_unexplained: float = 0.08
    """Share of those chunks her reply could not explain above which her echo counts as not
    cancelled well enough: nothing holds her until it is again. Where her voice came back
    in a way neither canceller kept up with on the lab (a reflection 150 ms after the direct
    sound, at half its level), she was held 1.8 times a second, never for the user, and
    10-15% of her voice went unexplained; on the lab's loopback, 1-3%."""
    well_unexplained: float = 0.04
    """Share at or under which her echo counts as cancelled well enough again."""


RESIDUES = {"webrtc": Residue(ratio_db=-15.0, floor_db=-50.0)}
"""Looser for AEC3 than the gate's: it takes a user's first syllables over her down by 20 dB
or more, and its output of her echo alone stays far below this. Measured on a recording of
the lab's echo path and on the synthetic paths (bench/echo_dtd.py): fewer missed holds and
no false ones. speexdsp's suppressor leaves more of her: it keeps the default."""


def residue_for(backend: str) -> Residue:
    """What the named canceller backend leaves of her echo (`EchoCanceller.name`)."""
    return RESIDUES.get(backend, Residue())


def _words(text: str) -> list[str]:
    """The words of `text`, lowercase, without punctuation."""
    return _WORDS.sub(" ", text.lower()).split()


def is_backchannel(text: str) -> bool:
    """True for "mm-hmm", "Yeah.", "okay okay", a laugh, or nothing intelligible."""
    words = _words(text)
    if not words:
        return True  # a laugh or a hum: Whisper's filter leaves nothing
    if len(words) > 3:
        return False
    joined = " ".join(words)
    parts = [p for w in words for p in w.split("-") if p]  # "uh-oh" is how Whisper hears "uh-huh"
    return (
        joined in BACKCHANNELS
        or all(w in BACKCHANNELS for w in words)
        or all(p in BACKCHANNELS or _HUM.fullmatch(p) for p in parts)
    )


_SOUNDS = frozenset({"uh", "um", "ah"})
"""How Whisper writes the start of any word it clipped: no evidence of a backchannel."""


def heard_as_backchannel(readings: Sequence[str]) -> bool:
    """True when some decode of an utterance heard a backchannel ("Mmm", "Yeah."), not
    just a hesitation sound. Whisper writes one hum as a hum under its quick decode and
    as words under a fuller one ("And then boom.", "Yeah, man, man."). It may begin the
    hum's decode with "and" ("and m m" beside "And then them.", an espeak-ng "mm hmm"
    said over her that stopped her in a lab run of session 31 and one of 32): that "and" is
    passed over."""
    for reading in readings:
        words = _words(reading)
        if words[:1] == ["and"]:
            words = words[1:]
        if words and not set(words) <= _SOUNDS and is_backchannel(" ".join(words)):
            return True
    return False


STOP_WORDS = frozenset(
    {"stop", "wait", "no", "hold", "hang", "pause", "quiet", "enough", "shush", "sorry", "excuse"}
)
"""A word said over her that asks her to stop, even when she was too loud to confirm it."""


STOP_PHRASES: Mapping[str, float] = MappingProxyType(
    {"Stop.": LIKELY_ABOVE, "No.": LIKELY_ABOVE, "Wait.": -3.0, "Hold on.": LIKELY_ABOVE}
)
"""Requests to stop that the transcriber is asked to listen for in speech over her, each
with the least score (mean log-probability per token) at which it is taken: short, cut at
their start and laid over her echo, they are what Whisper mishears most there ("No" as
"So.", "stop" as "Okay."). Each costs about 25 ms of scoring.

"Wait." has a bar of its own. In the 205 scorings of session 29's four lab runs
(bench/echo_bargein.py), her echo and the backchannels scored it -3.6 at best, while the
espeak-ng "wait"s that Whisper heard as "It's", "With..." or "LIT" scored it -1.75 to
-3.35; at `LIKELY_ABOVE` it was missed in every run. "No." and "Hold on." stay there:
what was held over her scored "No." up to -0.9 ("Nope.") and a backchannel scored
"Hold on." up to -2.8 ("Uh oh."), so a lower bar would stop her for them."""


def is_stop_request(text: str) -> bool:
    """True for "Stop.", "Wait!", "No, no.", "Hold on", "Hang on a second"."""
    words = _words(text)
    return bool(words) and len(words) <= 4 and words[0] in STOP_WORDS


def _without_her_lead(text: str, playing: str) -> str:
    """`text` less the words of her sentence heard ahead of the user's (her echo getting
    through before the user's word), keeping at least one word and any stop word."""
    words = _words(text)
    said = set(_words(playing))
    while len(words) > 1 and words[0] in said and words[0] not in STOP_WORDS:
        words.pop(0)
    return " ".join(words)


def asks_to_stop(text: str, playing: str) -> bool:
    """True when `text` asks her to stop and is not words of her own sentence heard back.
    Only the chosen words count: reading every decode of her echo while she was held
    ("You can leave.", "Thank you.", "Good job.") let one interrupt her in CI runs.

    Words of her sentence heard ahead of the request are her echo, and are passed over:
    a "wait" said over "...things you tell me" came back as "You wait."."""
    request = _without_her_lead(text, playing)
    return is_stop_request(request) and not is_own_words(request, playing)


def most_ask_to_stop(readings: Sequence[str], playing: str) -> bool:
    """True when most of Whisper's decodes of an utterance ask her to stop (`asks_to_stop`):
    "No" and "No." beside a greedy "Bye-oh." that won on confidence. Read only for
    speech confirmed as the user's: her echo held alone decodes as "No." in two of three
    decodes now and then (every lab run of sessions 30-34), a user's "no" confirmed by
    sound did so and was let pass twice (sessions 34 and 35)."""
    asking = sum(asks_to_stop(r, playing) for r in readings)
    return len(readings) >= 2 and 2 * asking > len(readings)


_CLIPPED = _SOUNDS | {"so", "oh", "you"}
"""Whisper's fillers that can be all it kept of a short word said over her ("No" as
"So.", "Oh"): they still count as the user."""


def says_nothing_new(text: str, playing: str) -> bool:
    """True when a short transcript holds nothing of the user's own: Whisper's sounds for
    silence ("Thank you.", "Bye.", as `is_filler` knows them) or only words of her latest
    sentences ("the date." over "...the time or the date."), unless it asks ("What?").
    On the lab bench both came of a hum said over her, and both stopped her."""
    words = _words(text)
    said = set(_words(playing))
    echoed = 0 < len(words) <= 3 and all(w in said for w in words) and "?" not in text
    return (is_filler(text) and not set(words) <= _CLIPPED) or echoed


def is_own_words(text: str, playing: str) -> bool:
    """True when most words of `text` are words of the sentence she is saying."""
    heard = _words(text)
    said = set(_words(playing))
    if not heard or not said:
        return False
    return sum(w in said for w in heard) >= 0.5 * len(heard)


class BargeInPolicy:
    """Decides, chunk by chunk, whether the user is taking the turn while she speaks."""

    def __init__(self, settings: BargeInSettings | None = None) -> None:
        self.settings = settings or BargeInSettings()
        self.phase = Phase.IDLE
        self._run = 0
        self._held_s = 0.0
        self._started_s = 0.0
        self._sound_s = 0.0
        """Where the latest stretch of sound at the microphone began, since the hold."""
        self._last_near_s = 0.0
        self._confirmed = 0
        self._quiet = 0
        self._word_pending = False
        """The words of what held her were asked for (`Verdict.TRANSCRIBE`) and are not back."""
        self._utterance_open = False
        """The endpointer heard speech since the hold whose final words are not back yet."""
        self._asked = False
        """A transcript of the held sound was asked for (once a hold)."""
        self._fitted_afresh = False
        """Her voice, fitted afresh, was asked whether it explains what held her (once a
        hold; `explained_after_s`)."""
        self._now_s = 0.0
        self.armed = False
        """The canceller has reached `min_erle_db` at least once."""
        self.detector_counts = False
        """The double-talk detector's output is read (its filter removes enough echo)."""
        self._detector_seen = False
        s = self.settings
        self._check = CancellationCheck(s.check_chunks, s.max_unexplained, s.well_unexplained)
        """Whether her echo is cancelled well enough for sound to hold her."""

    @property
    def cancelled_well(self) -> bool:
        """Her echo is cancelled well enough for anything to hold her (`max_unexplained`)."""
        return self._check.well

    def news(self) -> str | None:
        """One line for the user when barge-in has paused, or come back, since last asked
        (`CancellationCheck.news`)."""
        return self._check.news()

    def frame(
        self,
        frame: EchoFrame | None,
        speaking: bool,
        erle_db: float | None,
        unexplained_db: Callable[[], float | None] = lambda: None,
    ) -> list[Verdict]:
        """One cleaned chunk's levels; `speaking`: a reply is under way.

        `unexplained_db` is as for `transcript`; asked once a hold, `explained_after_s`
        after it, and when sound heard with her silent would confirm the user."""
        if frame is None:
            return []
        s = self.settings
        self._now_s = frame.captured_s
        if erle_db is not None and erle_db >= s.min_erle_db and not self.armed:
            self.armed = True
            logger.info("barge-in armed: echo reduced by %.0f dB", erle_db)
        self._note_detector(frame)
        if not speaking:
            return self._reset()
        if self.phase is Phase.IDLE:
            return self._watch(frame)
        near = frame.user_db >= s.heard_db
        if near:
            if frame.captured_s - self._last_near_s >= s.gap_s:
                self._sound_s = frame.captured_s  # sound again after a gap: a new stretch
            self._last_near_s = frame.captured_s
        if self.phase is Phase.HELD:
            if not self._fitted_afresh and frame.captured_s - self._held_s >= s.explained_after_s:
                self._fitted_afresh = True
                left_db = unexplained_db()
                if self._her_echo(left_db):
                    return self._go_on("held for her own echo", left_db)
            # Held, she is silent: once her echo has died away (no reference over the
            # tail), whatever the microphone still hears cannot be her.
            echo_free = frame.recent_far_db < FAR_ACTIVE_DB
            if echo_free:
                self._confirmed, self._quiet = (
                    (self._confirmed + 1, 0) if near else (self._confirmed, self._quiet + 1)
                )
            if self._confirmed >= s.confirm_chunks:
                # Her echo may come later than the stage knows (a path slower than the
                # delay it measured, or one that just grew): what her voice, fitted afresh
                # on what was heard since the hold, explains was not the user.
                left_db = unexplained_db()
                logger.debug(
                    "sound with her silent: her voice leaves %s dB of what was heard",
                    "?" if left_db is None else f"{left_db:.0f}",
                )
                if self._her_echo(left_db):
                    return self._go_on("heard with her silent, her own echo", left_db)
                # Timed from the hold, or from where sound began again after a gap (a
                # second word while the first one's words were still being transcribed).
                self.phase, self._started_s = Phase.DECIDING, self._sound_s
                logger.debug("the user is speaking (heard with her silent)")
            elif (
                self._awaiting() and frame.captured_s - self._held_s <= s.confirm_s + s.transcript_s
            ):
                pass  # words are being transcribed: they decide
            elif (
                self._quiet >= s.confirm_chunks + 1
                and frame.captured_s - self._held_s >= s.min_hold_s
            ) or frame.captured_s - self._held_s > s.confirm_s:
                if not self._asked:
                    # A word as short as "no" is over before her echo has died away: no
                    # sound confirms it then, and the endpointer may have made nothing
                    # of it. Its words decide, with the held phase's bar.
                    logger.debug("nothing went on when she paused: what was held decides")
                    self._asked = self._word_pending = True
                    return [Verdict.TRANSCRIBE]
                logger.debug("nothing went on when she paused: her echo, or a noise")
                self.phase, self._run = Phase.IDLE, 0
                return [Verdict.RESUME]
            return []
        if self.phase is Phase.DECIDING:
            talking = frame.captured_s - self._last_near_s < s.gap_s
            if talking and frame.captured_s - self._started_s >= s.backchannel_max_s:
                self.phase = Phase.INTERRUPTED
                self._was_the_user()
                return [Verdict.INTERRUPT]
            quiet_s = frame.captured_s - self._last_near_s
            # Words on their way decide, unless none has come this long after the sound.
            waiting = self._awaiting() and quiet_s <= s.transcript_s
            if not talking and not waiting and quiet_s > s.release_s:
                if not self._asked:
                    # Too short for the endpointer to make an utterance of: a hum, or a
                    # "stop" clipped at its start. Its words decide, with the held phase's
                    # bar: no utterance, so nothing but a request to stop counts.
                    logger.debug("no utterance came of it: what was held decides")
                    self.phase, self._confirmed = Phase.HELD, 0
                    self._asked = self._word_pending = True
                    return [Verdict.TRANSCRIBE]
                logger.debug("no utterance came of it (a hum, or a word too short): going on")
                self.phase, self._run = Phase.IDLE, 0
                return [Verdict.RESUME]
        return []

    def _her_echo(self, left_db: float | None) -> bool:
        """Her voice, fitted afresh on what was heard since the hold, left `left_db` of it
        (None: unknown): under `heard_db`, all of it was her echo."""
        return left_db is not None and left_db < self.settings.heard_db

    def _go_on(self, what: str, left_db: float | None) -> list[Verdict]:
        """She resumes: what held her was her own echo, as her voice fitted afresh says
        (`_her_echo`)."""
        logger.info("%s (her voice leaves %.0f dB of what was heard): going on", what, left_db)
        self.phase, self._run = Phase.IDLE, 0
        return [Verdict.RESUME]

    def _note_detector(self, frame: EchoFrame) -> None:
        counts = frame.detector_counts(self.settings.detector_erle_db)
        erle_db = frame.near_erle_db
        if counts == self.detector_counts:
            return
        self.detector_counts = counts
        level = logging.INFO if counts and not self._detector_seen else logging.DEBUG
        self._detector_seen = self._detector_seen or counts
        logger.log(
            level,
            "double-talk detector %s (its echo reduction %s dB)",
            "counts" if counts else "set aside",
            "?" if erle_db is None else f"{erle_db:.0f}",
        )

    def _watch(self, frame: EchoFrame) -> list[Verdict]:
        s = self.settings
        if not self.armed:
            return []
        unexplained = frame.unexplained(
            s.residue, s.max_leak, s.detector_erle_db, s.detector_residue
        )
        counted = frame.far_db > FAR_ACTIVE_DB  # her voice, not the pauses between sentences
        if not self._check.chunk(counted, not unexplained):
            self._run = 0
            return []
        self._run = self._run + 1 if unexplained else 0
        if self._run < s.onset_chunks:
            return []
        self._check.held()
        self.phase, self._held_s = Phase.HELD, frame.captured_s
        self._sound_s = frame.captured_s
        self._confirmed = self._quiet = 0
        self._last_near_s, self._asked = frame.captured_s, False
        self._fitted_afresh = False
        self._word_pending = self._utterance_open = False
        logger.debug(
            "unexplained sound: mic %.0f dB, cleaned %.0f dB, detector %s dB, fit %s dB, "
            "beyond her spectrum %s dB, far %.0f dB, leak %.2f/%.2f/%.2f; %.0f%% of her "
            "latest voice unexplained",
            frame.mic_db,
            frame.out_db,
            "-" if frame.near_db is None else f"{frame.near_db:.0f}",
            "-" if frame.fit_db is None else f"{frame.fit_db:.0f}",
            "-" if frame.spectral_db is None else f"{frame.spectral_db:.0f}",
            frame.far_db,
            frame.leak,
            frame.near_leak,
            frame.fit_leak,
            100 * self._check.share,
        )
        return [Verdict.HOLD]

    def speech_started(self, started_s: float) -> bool:
        """The endpointer found speech while she speaks. True when it may be the user's
        (she is held for it); False for the residue of her own echo."""
        user = self.phase is Phase.HELD or self.phase is Phase.DECIDING
        self._utterance_open = self._utterance_open or user  # its words will decide
        return user

    def expect_transcript(self) -> None:
        """A transcript of the user's utterance is on its way: wait for it before resuming."""
        self._utterance_open = True

    def _awaiting(self) -> bool:
        """Words that decide are on their way: the held sound's, or the utterance's."""
        return self._word_pending or self._utterance_open

    def utterance_short(self) -> bool:
        """True when the user's utterance ended before it became an interruption by length."""
        return self.phase is Phase.DECIDING

    def transcript(
        self,
        text: str,
        playing: str = "",
        final: bool = True,
        readings: Sequence[str] = (),
        sure: bool = True,
        unexplained_db: Callable[[], float | None] = lambda: None,
        held_word: bool = False,
    ) -> list[Verdict]:
        """The early transcript of a short utterance heard while she was held.

        Args:
            text: what was heard.
            playing: the sentence she was saying; words from it are her own echo.
            final: the utterance has ended. At a pause inside it (False), nothing
                intelligible decides nothing: the user may be drawing breath before the
                words, and going on would talk over them.
            readings: each decode's raw text, when the transcriber took several opinions.
            sure: the transcriber was confident of `text`.
            unexplained_db: how loud what the microphone heard since the hold stays
                once her voice is taken out of it afresh (`EchoStage.unexplained_since_db`),
                None if unknown; asked only of a request to stop heard while she was held
                (it costs tens of milliseconds).
            held_word: the words of what held her (`Verdict.TRANSCRIBE`), asked for
                before anything confirmed the user. Once the user has been heard going
                on with her silent, they are only a request to stop or nothing: that
                audio began half a second before the hold, in her echo, and the
                utterance's own words decide the rest. (On the lab an espeak-ng "no"
                held her this way: the held audio came back as nothing, she went on as
                for a hum, and the utterance's "No." came 0.15 s later, too late; an
                espeak-ng "yeah" came back as "with you." and stopped her.)

        Confirmed speech whose words, or most of whose decodes, ask her to stop
        (`asks_to_stop`, `most_ask_to_stop`) stops her.
        Otherwise a short utterance that some decode heard as a backchannel, or whose
        words the transcriber doubted, is a backchannel too. Whisper hears a hum as words
        on a fuller decode ("And then boom.", "Yeah, man, man."), and says so by its
        doubt; a real question over her is heard with confidence. Cutting her off for a
        misheard hum costs the conversation more than going on over a word the user can
        say again. So does one that says nothing new (`says_nothing_new`).
        """
        if held_word:
            self._word_pending = False
        elif final:
            self._utterance_open = False  # at a pause, the rest of its words are to come
        if not final and not _words(text):
            logger.debug("nothing intelligible yet at a pause: waiting for the rest")
            return []
        asks = asks_to_stop(text, playing)
        if held_word and self.phase is Phase.DECIDING and not asks:
            logger.debug("heard %r in what held her; the user went on: their words decide", text)
            return []
        if self.phase is Phase.HELD:
            # Not confirmed by sound alone: only an explicit request, not in her own
            # sentence, stops her; anything else may be her echo getting through. So may
            # a request Whisper made of her echo: where her voice, fitted afresh, leaves
            # nothing the microphone would hear of what came since the hold, it was her.
            # On recordings of the lab's echo path her echo alone left -63 dBFS at most,
            # steps of the clocks included, and a word said over her -38 dBFS at least
            # (bench/echo_explained.py).
            left_db = unexplained_db() if asks else None
            if not asks or self._her_echo(left_db):
                why = "not a request to stop"
                if left_db is not None:
                    why = f"her own echo (her voice leaves {left_db:.0f} dB of what was heard)"
                logger.info("heard %r while held, %s: going on", text, why)
                if left_db is None and _words(text) and is_backchannel(text):
                    self._was_the_user()  # "Yeah." over her, not confirmed by sound
                self.phase, self._run = Phase.IDLE, 0
                return [Verdict.RESUME]
            logger.debug(
                "heard %r while held: her voice leaves %s dB of what was heard",
                text,
                "?" if left_db is None else f"{left_db:.0f}",
            )
            self.phase = Phase.DECIDING
        if self.phase is not Phase.DECIDING:
            return []
        asks = asks or (not held_word and most_ask_to_stop(readings, playing))
        doubted = not sure or heard_as_backchannel(readings)
        backchannel = is_backchannel(text) or is_backchannel(_without_her_lead(text, playing))
        empty = says_nothing_new(text, playing)
        if not asks and (backchannel or doubted or empty):
            why = f" (doubted; decodes {list(readings)})" if doubted else ""
            why = why or (" (nothing of the user's in its words)" if empty else "")
            logger.info("backchannel %r%s: going on", text, why)
            if not empty:
                self._was_the_user()
            self.phase, self._run = Phase.IDLE, 0
            return [Verdict.RESUME]
        self.phase = Phase.INTERRUPTED
        self._was_the_user()
        return [Verdict.INTERRUPT]

    def _was_the_user(self) -> None:
        """What held her was the user: its chunks say nothing of how well her echo is
        cancelled (a user's backchannels over her would otherwise pause barge-in)."""
        self._check.was_the_user()

    def turn_taken(self) -> None:
        """The user's interruption has become a turn: her answer to it may start at once,
        and speech over that answer is judged afresh."""
        if self.phase is Phase.INTERRUPTED:
            self._reset()

    def _reset(self) -> list[Verdict]:
        # The reply is over (or never began): nothing to hold or resume.
        self.phase, self._run = Phase.IDLE, 0
        self._word_pending = self._utterance_open = False
        return []
