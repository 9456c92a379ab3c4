"""Where Piper's time to the first chunk goes, stage by stage, and the uncut model's time.

    .venv/bin/python -m bench.piper_stages [--rounds 3]

For the first phrase of each of bench.first_audio's sentences: phonemes (espeak-ng inside
piper), the encoder over the phrase, the flow window and the decoder for the first chunk,
and the first piece as PiperSynth.stream() yields it. Then the whole model (one
onnxruntime session, one thread) on short phrases, for comparison. No audio device needed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.first_audio import SENTENCES
from bench.stats import header, summary
from voiceos.speak.piper_stages import FIRST_CHUNK_FRAMES, FIRST_DECODER_PAD
from voiceos.speak.piper_synth import THREADS, PiperSynth, model_file, phrases
from voiceos.types import VoiceSettings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = VoiceSettings("en-us", 175, 0.9, engine="piper")
    synth = PiperSynth()
    synth.start()
    stages, voice = synth._stages, synth._voice
    if stages is None:
        raise SystemExit("the voice could not be cut into stages (is `onnx` installed?)")
    scales = list(synth._scales(settings, noise=True))
    names = ("phonemes", "encoder, first phrase", "flow window", "decoder, first chunk")
    rows: dict[str, list[float]] = {name: [] for name in (*names, "first piece, stream()")}
    for _ in range(args.rounds):
        for sentence in SENTENCES:
            marks = [time.perf_counter()]
            ids = voice.phonemes_to_ids(voice.phonemize(phrases(sentence)[0])[0])
            marks.append(time.perf_counter())
            z_p, mask = stages.encode(ids, scales)
            marks.append(time.perf_counter())
            end = min(int(z_p.shape[2]), FIRST_CHUNK_FRAMES + FIRST_DECODER_PAD)
            z = stages.flow_window(z_p, mask, 0, end)
            marks.append(time.perf_counter())
            stages.decode(z, 0, FIRST_CHUNK_FRAMES, FIRST_DECODER_PAD)
            marks.append(time.perf_counter())
            for name, (a, b) in zip(names, zip(marks, marks[1:], strict=False), strict=True):
                rows[name].append((b - a) * 1000)
            started = time.perf_counter()
            pieces = synth.stream(sentence, settings)
            next(pieces)
            rows["first piece, stream()"].append((time.perf_counter() - started) * 1000)
            for _ in pieces:
                pass
    print(f"Piper {synth.name}, {THREADS} onnxruntime thread(s), first phrase of each sentence")
    print(header())
    for name, values in rows.items():
        print(summary(name, values))
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    whole = onnxruntime.InferenceSession(
        str(model_file("")), options, providers=["CPUExecutionProvider"]
    )
    print("\nThe uncut model, whole phrase")
    print(header())
    for text in ("Okay.", "Good morning.", "I remember you"):
        ids = voice.phonemes_to_ids(voice.phonemize(text)[0])
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(scales, dtype=np.float32),
        }
        times = []
        for _ in range(5 * args.rounds):
            started = time.perf_counter()
            whole.run(None, feeds)
            times.append((time.perf_counter() - started) * 1000)
        print(summary(repr(text), times))
    synth.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
