from __future__ import annotations

from pathlib import Path

import pytest

from ionstack.settings import Settings


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'ionstack.db'}"
    assert settings.is_sqlite


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IONSTACK_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("IONSTACK_PORT", "9001")
    monkeypatch.setenv("IONSTACK_BOOTSTRAP_KEY", "sekret-value-42")
    monkeypatch.setenv("IONSTACK_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.effective_database_url == "postgresql+psycopg://u@h/db"
    assert not settings.is_sqlite
    assert settings.port == 9001
    assert settings.bootstrap_key is not None
    assert settings.bootstrap_key.get_secret_value() == "sekret-value-42"
    assert "sekret-value-42" not in repr(settings)  # secrets stay out of reprs and logs


def test_workers_default_to_one_per_core_and_zero_means_api_only() -> None:
    assert Settings().effective_workers >= 1
    assert Settings(workers=0).effective_workers == 0


def test_bad_port_is_rejected() -> None:
    with pytest.raises(ValueError):
        Settings(port=70000)
