"""Engine choice and fallback, Whisper's load errors, and the openai engine over real HTTP.

The openai engine talks to a small OpenAI-compatible transcription server on 127.0.0.1
in this process, so the request on the wire (multipart WAV, model, key) is checked.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from speech_data import clip

from voiceos import config as config_mod
from voiceos.stt.base import TranscriberError
from voiceos.stt.factory import build_transcriber, start_with_fallback
from voiceos.stt.sr_engines import SpeechRecognitionTranscriber
from voiceos.stt.whisper import WhisperTranscriber, bundled_model_path

KEY = "sk-test-sentinel-4f1e"


def settings(**flags: Any) -> config_mod.Config:
    return config_mod.load(env={}, flags=flags)


def test_build_follows_the_settings(isolated_env: dict[str, str]) -> None:
    whisper = build_transcriber(settings(**{"stt.whisper.beam_size": 3}))
    assert isinstance(whisper, WhisperTranscriber) and whisper.beam_size == 3
    for engine in ("sphinx", "google", "openai"):
        built = build_transcriber(settings(**{"stt.engine": engine}))
        assert isinstance(built, SpeechRecognitionTranscriber) and built.engine == engine
    openai = build_transcriber(
        settings(**{"stt.engine": "openai", "llm.base_url": "http://127.0.0.1:9/v1"})
    )
    assert isinstance(openai, SpeechRecognitionTranscriber)
    assert openai.base_url == "http://127.0.0.1:9/v1"  # [llm] base_url when [stt.openai] has none


def test_missing_model_files_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TranscriberError, match="missing model.bin"):
        WhisperTranscriber(model_path=str(tmp_path)).start()


def test_corrupt_model_names_the_fix(tmp_path: Path) -> None:
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(bundled_model_path() / name, tmp_path / name)
    (tmp_path / "model.bin").write_bytes(b"\0" * 4096)
    with pytest.raises(TranscriberError, match="failed to load.*pip install"):
        WhisperTranscriber(model_path=str(tmp_path)).start()


def test_whisper_failure_falls_back_to_sphinx(isolated_env: dict[str, str], tmp_path: Path) -> None:
    transcriber, notice = start_with_fallback(settings(**{"stt.whisper.model_path": str(tmp_path)}))
    assert transcriber.name == "sphinx"
    assert notice is not None and "sphinx" in notice and "model.bin" in notice
    heard = transcriber.transcribe(
        clip("sense_and_sensibility_01_austen_64kb-0930").samples(), 16000
    )
    assert "amiable" in heard.text


def test_no_engine_at_all_is_one_error(
    isolated_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    with pytest.raises(TranscriberError) as caught:
        start_with_fallback(settings(**{"stt.whisper.model_path": str(tmp_path)}))
    message = str(caught.value)
    assert "model.bin" in message and "pocketsphinx" in message


class TranscriptionServer:
    """An OpenAI-compatible /v1/audio/transcriptions endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("Authorization", ""),
                        "type": self.headers.get("Content-Type", ""),
                        "body": body,
                    }
                )
                if outer.status == 200:
                    payload: dict[str, Any] = {"text": " Another engineer rushed to the door."}
                else:
                    payload = {"error": {"message": "Incorrect API key", "type": "auth"}}
                data = json.dumps(payload).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)


@pytest.fixture
def server() -> Iterator[TranscriptionServer]:
    srv = TranscriptionServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def openai_engine(
    server_url: str, monkeypatch: pytest.MonkeyPatch, key: str = KEY
) -> SpeechRecognitionTranscriber:
    monkeypatch.setenv("OPENAI_API_KEY", key)
    built = build_transcriber(
        settings(**{"stt.engine": "openai", "stt.openai.base_url": server_url})
    )
    assert isinstance(built, SpeechRecognitionTranscriber)
    built.start()
    return built


def test_openai_engine_sends_a_wav_and_reads_the_text(
    isolated_env: dict[str, str], server: TranscriptionServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = openai_engine(server.url, monkeypatch)
    transcript = engine.transcribe(clip("another_engineer").samples(), 16000)
    assert transcript.text == "Another engineer rushed to the door."
    [request] = server.requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["auth"] == f"Bearer {KEY}"
    assert request["type"].startswith("multipart/form-data")
    assert b"RIFF" in request["body"] and b"whisper-1" in request["body"]


def test_openai_engine_refused_key_is_clear_and_secret(
    isolated_env: dict[str, str],
    server: TranscriptionServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.status = 401
    engine = openai_engine(server.url, monkeypatch)
    with caplog.at_level("DEBUG"), pytest.raises(TranscriberError, match="refused") as caught:
        engine.transcribe(clip("goforward").samples(), 16000)
    assert KEY not in str(caught.value) and KEY not in caplog.text


def test_openai_engine_server_down(
    isolated_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    srv = TranscriptionServer()  # bound but never served, then closed: nothing listens
    url = srv.url
    srv.httpd.server_close()
    engine = openai_engine(url, monkeypatch)
    with pytest.raises(TranscriberError, match="cannot reach"):
        engine.transcribe(clip("goforward").samples(), 16000)


def test_openai_engine_without_a_key_says_so(isolated_env: dict[str, str]) -> None:
    engine = build_transcriber(settings(**{"stt.engine": "openai"}))
    with pytest.raises(TranscriberError, match="OPENAI_API_KEY"):
        engine.start()
