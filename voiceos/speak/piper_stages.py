"""A Piper (VITS) voice cut into its three stages, so a phrase is decoded in chunks.

Piper's ONNX model renders a whole phrase in one call, and most of that time is the
HiFi-GAN decoder, which grows with the length of the audio. The graph is cut with the
`onnx` package into:

1. the text encoder and duration predictor: phoneme ids -> latent frames `z_p` and a mask
   (about 10 ms for three words; one call per phrase);
2. the flow: `z_p` -> `z` (convolutions only, so a window of frames with FLOW_PAD frames of
   context either side gives the same values as the whole phrase, to within 1e-3);
3. the decoder: `z` -> audio, 256 samples a frame (also convolutional: DECODER_PAD frames of
   context make a chunk's samples match the whole render's to within 1e-6).

The cut is made once per load, by a child process, into a temporary folder.
The first chunk of a phrase needs the encoder, the flow over its first few dozen frames and
the decoder over FIRST_CHUNK_FRAMES + FIRST_DECODER_PAD frames, so the first audio is ready long
before the phrase would be. The chunks join into the audio the whole model would make from
the same encoder output.

A voice whose graph does not have these stages (or when `onnx` is missing) is rendered
whole, as before: `load_stages` returns None.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

FLOW_PAD = 20
"""Frames of context for a window of the flow. Measured on en_US-joe-medium: with 20, z
differs from the whole phrase's by 2e-4 (of 38) and the decoded audio by 7e-7 (of 0.6)."""
DECODER_PAD = 10
"""Frames of context for a chunk of the decoder. With 10 the samples differ from the whole
render's by 3e-7; with 8, by 2e-3; with 6, by 8e-3 (a peak of 0.6)."""
FIRST_DECODER_PAD = 8
"""Right context of a phrase's first chunk, where every frame decoded delays the first
audio: its last samples then differ from the whole render's by 2e-3 (of a 0.6 peak)."""
FIRST_CHUNK_FRAMES = 14
"""The first chunk: 14 frames = 163 ms of audio at 22050 Hz, of which the first 25-50 ms
are usually silence (trimmed at the start of a sentence). An idle player starts it on the
device at once (no buffered silence ahead of it), so the next chunk must be ready within
this chunk's length: with 10 frames a busy machine was late once in 30 sentences."""
CHUNK_FRAMES = (16, 40, 80)
"""Later chunks grow, so the context decoded twice costs less and less; the last repeats.
The second is small: it must be ready before the first has played, on a busy machine too."""
LATER_PHRASE_FRAMES = (48, 96, 192)
"""Chunks of a phrase after a sentence's first: the audio before it covers their time, and
small chunks of every phrase cost 50% more decoding in all (context decoded twice)."""
WINDOWED_CHUNKS = 2
"""The first chunks each take their own window of the flow; the rest share one pass over
the whole phrase."""
SPLIT_TIMEOUT_S = 60.0
"""Cutting a 63 MB voice takes about 1 s; far more on a very busy machine."""
MIN_TAIL_FRAMES = 16
"""A remainder shorter than this joins the chunk before it."""


@dataclass
class Stages:
    """Three onnxruntime sessions and the names of the tensors between them."""

    encoder: Any
    flow: Any
    decoder: Any
    z_p: str
    mask: str
    z: str
    hop: int = 256
    """Audio samples per latent frame."""

    def encode(self, ids: list[int], scales: list[float]) -> tuple[np.ndarray, np.ndarray]:
        """Phoneme ids -> (z_p, mask), both [1, C, frames]."""
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array(scales, dtype=np.float32),
        }
        z_p, mask = self.encoder.run([self.z_p, self.mask], feeds)
        return z_p, mask

    def flow_window(self, z_p: np.ndarray, mask: np.ndarray, start: int, end: int) -> np.ndarray:
        """z for frames [start, end), computed with FLOW_PAD frames of context."""
        frames = z_p.shape[2]
        lo, hi = max(0, start - FLOW_PAD), min(frames, end + FLOW_PAD)
        z = self.flow.run([self.z], {self.z_p: z_p[:, :, lo:hi], self.mask: mask[:, :, lo:hi]})
        return np.asarray(z[0])[:, :, start - lo : end - lo]

    def decode(self, z: np.ndarray, start: int, end: int, pad: int = DECODER_PAD) -> np.ndarray:
        """Float audio for frames [start, end) of `z`, with `pad` frames of context."""
        frames = z.shape[2]
        lo, hi = max(0, start - pad), min(frames, end + pad)
        audio = np.asarray(self.decoder.run(None, {self.z: z[:, :, lo:hi]})[0]).reshape(-1)
        hop = len(audio) // max(1, hi - lo)
        self.hop = hop
        return audio[(start - lo) * hop : (end - lo) * hop]

    def chunks(
        self, ids: list[int], scales: list[float], quick_start: bool = True
    ) -> Iterator[tuple[int, int, int, np.ndarray]]:
        """(start frame, end frame, frames in the phrase, float audio) for each chunk.

        `quick_start`: the phrase opens a sentence, so its first audio is wanted at once;
        otherwise audio is already playing and larger chunks waste less decoding on context.
        """
        z_p, mask = self.encode(ids, scales)
        total = int(z_p.shape[2])
        if total == 0:
            return
        z: np.ndarray | None = None
        sizes = (FIRST_CHUNK_FRAMES, *CHUNK_FRAMES) if quick_start else LATER_PHRASE_FRAMES
        for index, (start, end) in enumerate(chunk_bounds(total, sizes)):
            if quick_start and index < WINDOWED_CHUNKS:  # a window of the flow: only what it needs
                pad = FIRST_DECODER_PAD if index == 0 else DECODER_PAD
                lo, hi = max(0, start - DECODER_PAD), min(total, end + pad)
                window = self.flow_window(z_p, mask, lo, hi)
                audio = self.decode(window, start - lo, end - lo, pad)
            else:
                if z is None:
                    z = np.asarray(self.flow.run([self.z], {self.z_p: z_p, self.mask: mask})[0])
                audio = self.decode(z, start, end)
            yield start, end, total, audio


def chunk_bounds(
    total: int, sizes: tuple[int, ...] = (FIRST_CHUNK_FRAMES, *CHUNK_FRAMES)
) -> list[tuple[int, int]]:
    """Frame ranges [start, end) covering `total` frames, of `sizes` (the last repeats)."""
    bounds: list[tuple[int, int]] = []
    each = iter(sizes)
    size = sizes[0]
    start = 0
    while start < total:
        size = next(each, size)
        end = min(total, start + size)
        if bounds and total - end < MIN_TAIL_FRAMES:
            end = total
        bounds.append((start, end))
        start = end
    return bounds


def _find_cut(graph: Any) -> tuple[str, str, str] | None:
    """(z_p, mask, z): the tensors entering the flow and the decoder, or None."""
    nodes = list(graph.node)
    dec = next((i for i, n in enumerate(nodes) if n.name.startswith("/dec/")), None)
    flow = next((i for i, n in enumerate(nodes) if n.name.startswith("/flow/")), None)
    if dec is None or flow is None or flow >= dec:
        return None
    z = nodes[dec].input[0]
    produced = {out: i for i, n in enumerate(nodes) for out in n.output}
    weights = {t.name for t in graph.initializer}
    entering = []
    for node in nodes[flow:dec]:
        for name in node.input:
            outside = name and name not in weights and produced.get(name, dec) < flow
            if outside and name not in entering:
                entering.append(name)
    if len(entering) != 2:
        return None
    # The mask is made by a Cast of the lengths; z_p by an Add (mean + noise).
    kinds = {name: nodes[produced[name]].op_type for name in entering}
    masks = [name for name in entering if kinds[name] == "Cast"]
    if len(masks) != 1:
        return None
    mask = masks[0]
    z_p = next(name for name in entering if name != mask)
    return z_p, mask, z


def load_stages(path: Path, options: Any) -> Stages | None:
    """The voice at `path` as three sessions, or None when it cannot be cut.

    The cut is made by a child process (split_model), so the parent never imports onnx
    or holds the parsed graph (done in-process, that cost 13 MB RSS in bench.first_audio).
    The three files go to a private temporary folder, deleted once the sessions are made.
    """
    if importlib.util.find_spec("onnx") is None:
        logger.info("the onnx package is missing: Piper phrases are rendered whole")
        return None
    import onnxruntime

    with tempfile.TemporaryDirectory(prefix="voiceos-piper-") as folder:
        code = "import runpy, sys; sys.argv[:2] = sys.argv[1:2]; runpy.run_path(sys.argv[0])"
        try:
            result = subprocess.run(
                [sys.executable, "-c", code, __file__, str(path), folder],
                capture_output=True,
                text=True,
                timeout=SPLIT_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            logger.info("cutting the Piper voice failed (%s): phrases are rendered whole", exc)
            return None
        if result.returncode != 0:
            why = (result.stderr.strip().splitlines() or ["unknown"])[-1][:200]
            logger.info("Piper voice %s not cut into stages (%s): rendered whole", path, why)
            return None
        names = json.loads((Path(folder) / "names.json").read_text(encoding="utf-8"))
        sessions = [
            onnxruntime.InferenceSession(
                str(Path(folder) / f"stage{number}.onnx"),
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
            for number in range(3)
        ]
    encoder, flow, decoder = sessions
    return Stages(encoder, flow, decoder, z_p=names["z_p"], mask=names["mask"], z=names["z"])


def split_model(path: Path, folder: Path) -> int:
    """Write the three stages of the voice at `path` into `folder`; 0, or 3 when the graph
    is not a VITS voice as Piper exports it. Runs in a child process (load_stages)."""
    import onnx
    import onnx.utils

    model = onnx.load(str(path))
    names = [i.name for i in model.graph.input]
    cut = _find_cut(model.graph)
    if cut is None or names != ["input", "input_lengths", "scales"]:
        print("unfamiliar graph", file=sys.stderr)
        return 3
    z_p, mask, z = cut
    extractor = onnx.utils.Extractor(model)
    cuts = ((names, [z_p, mask]), ([z_p, mask], [z]), ([z], [model.graph.output[0].name]))
    # Saved as files: sessions made from bytes kept a second copy of the weights (+63 MB).
    for number, (inputs, outputs) in enumerate(cuts):
        onnx.save(extractor.extract_model(inputs, outputs), str(folder / f"stage{number}.onnx"))
    (folder / "names.json").write_text(json.dumps({"z_p": z_p, "mask": mask, "z": z}))
    return 0


if __name__ == "<run_path>":  # the child process of load_stages
    raise SystemExit(split_model(Path(sys.argv[1]), Path(sys.argv[2])))
