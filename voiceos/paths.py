"""Where voiceos finds its shipped files and keeps the user's."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "voiceos"


def shipped_config_dir() -> Path:
    """The `config/` folder: inside the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_config"
    return packaged if packaged.is_dir() else here.parent / "config"


def defaults_file() -> Path:
    return shipped_config_dir() / "voiceos.toml"


def personas_dir() -> Path:
    return shipped_config_dir() / "personas"


def user_config_file() -> Path:
    """`$XDG_CONFIG_HOME/voiceos/config.toml` on Linux."""
    return platformdirs.user_config_path(APP) / "config.toml"


def user_data_dir() -> Path:
    """`$XDG_DATA_HOME/voiceos` on Linux: memory and transcripts live here."""
    return platformdirs.user_data_path(APP)


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
