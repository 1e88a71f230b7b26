"""The studio and user settings files (core.settings), ``lipalign config``, and the commands that read them.

Every test has its own (absent) files: conftest's ``own_settings_files`` points $LIPALIGN_STUDIO_CONFIG and
$LIPALIGN_USER_CONFIG at an empty folder, which the tests here write into.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import fileio
from core.cli import main
from core.settings import KEYS, SettingsError, load_settings, save_user_settings, values
from core.synth import synthesize
from plugin import worker
from plugin.run_settings import settings_from_args

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def studio(own_settings_files) -> Path:
    return own_settings_files / "studio.json"


@pytest.fixture
def user(own_settings_files) -> Path:
    return own_settings_files / "settings.json"


def write(path: Path, payload: object) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def sources(settings) -> dict[str, str]:
    return {key: s.source for key, s in settings.items()}


# -- precedence and locks --------------------------------------------------------------------------------------


def test_without_files_every_key_has_its_built_in_default(monkeypatch, tmp_path):
    monkeypatch.setenv("LIPALIGN_LOG_DIR", str(tmp_path / "logs"))
    settings = load_settings()
    assert tuple(settings) == KEYS and set(sources(settings).values()) == {"default"}
    assert values(settings) == {"tolerance": "broadcast", "strategy": "auto", "search_ms": 1000.0,
                                "min_confidence": 0.0, "render_folder": None, "log_folder": str(tmp_path / "logs"),
                                "mode": "panel"}


def test_each_layer_overrides_the_ones_below(studio, user):
    write(studio, {"settings": {"tolerance": "ebu-r37", "strategy": "slip", "search_ms": 2000, "mode": "headless"}})
    write(user, {"settings": {"strategy": "conform", "search_ms": 1500}})
    settings = load_settings({"search_ms": 3000.0, "tolerance": None})  # None: the option was not given
    assert values(settings) | {"log_folder": None} == {
        "tolerance": "ebu-r37", "strategy": "conform", "search_ms": 3000.0, "min_confidence": 0.0,
        "render_folder": None, "log_folder": None, "mode": "headless"}
    assert sources(settings) == {"tolerance": "studio", "strategy": "user", "search_ms": "command line",
                                 "min_confidence": "default", "render_folder": "default", "log_folder": "default",
                                 "mode": "studio"}
    assert settings["tolerance"].path == studio and settings["strategy"].path == user
    assert settings["search_ms"].path is None and settings["min_confidence"].path is None
    assert not any(s.locked for s in settings.values())


def test_the_paths_given_replace_the_environments(studio, tmp_path):
    write(studio, {"settings": {"strategy": "slip"}})
    elsewhere = write(tmp_path / "other-studio.json", {"settings": {"strategy": "speed"}})
    assert load_settings()["strategy"].value == "slip"
    assert load_settings(studio_path=elsewhere)["strategy"].value == "speed"


def test_a_locked_key_takes_the_studios_value_and_the_users_is_reported_ignored(studio, user):
    write(studio, {"settings": {"tolerance": "ebu-r37"}, "locked": ["tolerance", "mode"]})
    write(user, {"settings": {"tolerance": "itu-bt1359", "mode": "panel", "strategy": "slip"}})
    settings = load_settings()
    tolerance, mode = settings["tolerance"], settings["mode"]
    assert (tolerance.value, tolerance.source, tolerance.path, tolerance.locked) == ("ebu-r37", "studio", studio, True)
    assert tolerance.ignored_user_value == "itu-bt1359"
    # Locked without a value: the studio pins the built-in default; the user's equal value is nothing ignored.
    assert (mode.value, mode.source, mode.locked, mode.ignored_user_value) == ("panel", "studio", True, None)
    assert settings["strategy"].value == "slip" and not settings["strategy"].locked


def test_a_locked_key_given_on_the_command_line_is_refused(studio):
    write(studio, {"settings": {"tolerance": "ebu-r37"}, "locked": ["tolerance"]})
    with pytest.raises(SettingsError) as refused:
        load_settings({"tolerance": "ebu-r37"})
    assert str(refused.value) == f"tolerance is locked by the studio configuration ({studio})"
    assert load_settings({"search_ms": 2000.0})["search_ms"].source == "command line"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """2 s of synthetic talking head, 80 ms late."""
    path = tmp_path_factory.mktemp("settings") / "talk.mp4"
    synthesize(path, offset_ms=80.0, duration_s=2.0, seed=3)
    return path


def lipalign(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO)


def test_the_command_line_refuses_a_locked_option_and_measures_with_the_studios_value(studio, clip):
    write(studio, {"settings": {"tolerance": "ebu-r37"}, "locked": ["tolerance"]})
    refused = lipalign("analyze", str(clip), "--tolerance", "ebu-r37")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [f"lipalign: tolerance is locked by the studio configuration ({studio})"]
    measured = lipalign("analyze", str(clip), "--json", "-")
    assert measured.returncode == 0, measured.stderr
    assert json.loads(measured.stdout)["sync"]["tolerance"] == "ebu-r37"


def test_the_worker_reads_the_same_layers_and_refuses_the_same_options(studio, user, tmp_path):
    write(studio, {"settings": {"strategy": "slip", "render_folder": str(tmp_path / "renders")},
                   "locked": ["strategy"]})
    write(user, {"settings": {"min_confidence": 0.4, "search_ms": 2500}})
    run = settings_from_args(worker.parse_args(["--search-ms", "1200"]))
    assert (run.scope, run.strategy, run.tolerance, run.search_ms, run.min_confidence, run.render_folder) == (
        "timeline", "slip", "broadcast", 1200.0, 0.4, str(tmp_path / "renders"))
    # A relative folder on the command line is where the command was typed.
    assert settings_from_args(worker.parse_args(["--render-folder", "out"])).render_folder == os.path.abspath("out")
    with pytest.raises(SettingsError, match=r"^strategy is locked by the studio configuration"):
        settings_from_args(worker.parse_args(["--strategy", "conform"]))


# -- bad files -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("which", "payload", "key"), [
    ("studio", {"settings": {"tolerance": "loose"}}, "tolerance"),
    ("studio", {"settings": {"strategy": "fast"}}, "strategy"),
    ("user", {"settings": {"search_ms": 9000}}, "search_ms"),
    ("user", {"settings": {"search_ms": "1000"}}, "search_ms"),
    ("user", {"settings": {"min_confidence": 1.5}}, "min_confidence"),
    ("user", {"settings": {"min_confidence": True}}, "min_confidence"),
    ("user", {"settings": {"render_folder": "renders"}}, "render_folder"),
    ("studio", {"settings": {"log_folder": 3}}, "log_folder"),
    ("studio", {"settings": {"mode": "window"}}, "mode"),
    ("user", {"settings": {"colour": "red"}}, "colour"),
    ("user", {"settings": {}, "locked": ["tolerance"]}, "locked"),  # only the studio locks
    ("studio", {"settings": {}, "locked": ["colour"]}, "locked"),
    ("studio", {"settings": {}, "locked": "tolerance"}, "locked"),
    ("studio", {"setings": {}}, "setings"),
    ("studio", {"settings": ["tolerance", "broadcast"]}, "settings"),
])
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(which, payload, key, studio, user):
    path = write(studio if which == "studio" else user, payload)
    with pytest.raises(SettingsError) as bad:
        load_settings()
    message = str(bad.value)
    assert message.startswith(f"{path}: {key}: ") and "\n" not in message


def test_a_file_that_is_not_json_names_the_file(user):
    user.write_text('{"settings": {"tolerance": "ebu-r37",}}', encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"^{user}: not valid JSON \(.+ line 1 column \d+\)$"):
        load_settings()


def test_a_bad_command_line_value_names_the_option():
    with pytest.raises(SettingsError, match=r"^--search-ms: search range must be 100 to 5000 ms, not 50$"):
        load_settings({"search_ms": 50.0})


# -- saving the user file --------------------------------------------------------------------------------------


def test_saving_merges_and_drops_what_equals_the_inherited_value(studio, own_settings_files):
    user = own_settings_files / "new folder" / "settings.json"  # its folder is made
    write(studio, {"settings": {"tolerance": "ebu-r37"}})
    assert save_user_settings({"tolerance": "itu-bt1359", "search_ms": 2000}, user_path=user) == user
    assert save_user_settings({"strategy": "slip"}, user_path=user) == user
    assert json.loads(user.read_text()) == {"settings": {"tolerance": "itu-bt1359", "strategy": "slip",
                                                         "search_ms": 2000.0}}
    # Back to the studio's value and the built-in default: gone from the file, so they follow the studio later.
    save_user_settings({"tolerance": "ebu-r37", "search_ms": 1000}, user_path=user)
    assert json.loads(user.read_text()) == {"settings": {"strategy": "slip"}}
    write(studio, {"settings": {"tolerance": "broadcast"}})
    assert load_settings(user_path=user)["tolerance"].value == "broadcast"
    assert fileio.temp_files_of(user) == []


def test_saving_refuses_a_locked_key_and_a_bad_value(studio, user):
    write(studio, {"settings": {}, "locked": ["strategy"]})
    write(user, {"settings": {"min_confidence": 0.3}})
    with pytest.raises(SettingsError, match=r"^strategy is locked by the studio configuration"):
        save_user_settings({"strategy": "slip", "min_confidence": 0.5})
    with pytest.raises(SettingsError, match=rf"^{user}: min_confidence: must be 0 to 1, not 5$"):
        save_user_settings({"min_confidence": 5})
    assert json.loads(user.read_text()) == {"settings": {"min_confidence": 0.3}}


def test_saving_never_leaves_half_a_file(user, monkeypatch):
    write(user, {"settings": {"min_confidence": 0.3}})
    before = user.read_bytes()

    def crash(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", crash)
    with pytest.raises(SettingsError, match=rf"^{user}: cannot write there"):
        save_user_settings({"min_confidence": 0.6})
    assert user.read_bytes() == before and fileio.temp_files_of(user) == []


def test_saving_does_not_overwrite_a_user_file_it_cannot_read(user):
    user.write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid JSON"):
        save_user_settings({"strategy": "slip"})
    assert user.read_text() == "{not json"


# -- lipalign config -------------------------------------------------------------------------------------------


def test_config_shows_each_value_its_source_and_the_lock(studio, user, capsys):
    write(studio, {"settings": {"tolerance": "ebu-r37", "mode": "headless"}, "locked": ["tolerance"]})
    write(user, {"settings": {"tolerance": "itu-bt1359", "min_confidence": 0.5}})
    assert main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [f"studio file: {studio}", f"user file:   {user}"]
    by_key = {line.split()[0]: line.split(maxsplit=2)[1:] for line in lines[3:] if not line.startswith(" ")}
    assert by_key["tolerance"] == ['"ebu-r37"', f"studio ({studio})  locked"]
    assert by_key["min_confidence"] == ["0.5", f"user ({user})"]
    assert by_key["mode"] == ['"headless"', f"studio ({studio})"]
    assert by_key["strategy"] == ['"auto"', "default"]
    assert lines[3].startswith("tolerance ")
    assert lines[4].strip() == 'the user file\'s "itu-bt1359" is ignored: the studio locks this setting'


def test_config_json_for_other_programs(studio, user):
    write(studio, {"settings": {"mode": "headless"}, "locked": ["mode"]})
    write(user, {"settings": {"strategy": "slip"}})
    shown = lipalign("config", "--json")
    assert shown.returncode == 0, shown.stderr
    config = json.loads(shown.stdout)
    assert (config["schema"], config["studio_file"], config["user_file"]) == ("lipalign.config/1", str(studio),
                                                                             str(user))
    assert list(config["settings"]) == list(KEYS)
    assert config["settings"]["mode"] == {"value": "headless", "source": "studio", "path": str(studio), "locked": True}
    assert config["settings"]["strategy"] == {"value": "slip", "source": "user", "path": str(user), "locked": False}
    assert config["settings"]["search_ms"] == {"value": 1000.0, "source": "default", "path": None, "locked": False}


def test_config_with_a_bad_file_is_one_line_and_exit_2(studio):
    write(studio, {"settings": {"mode": "window"}})
    shown = lipalign("config", "--json")
    assert shown.returncode == 2 and shown.stdout == ""
    assert shown.stderr.splitlines() == [f"lipalign: {studio}: mode: must be one of panel, headless, not \"window\""]


def test_config_imports_no_numpy_or_opencv():
    loaded = subprocess.run([sys.executable, "-c", "import sys, core.commands.config; "
                             "print(sorted({'numpy', 'cv2', 'scipy'} & set(sys.modules)))"],
                            capture_output=True, text=True, cwd=REPO, check=True)
    assert loaded.stdout.strip() == "[]"
