from __future__ import annotations

import pytest

from companion.settings import Settings, SettingsError, load, parse_step, save


def test_missing_file_gives_the_documented_defaults(tmp_path):
    s = load(tmp_path / "settings.toml")
    assert (s.desired_retention, s.learning_steps, s.relearning_steps) == (0.9, ["1m", "10m"],
                                                                           ["10m"])
    assert (s.day_starts_at, s.new_per_day, s.reviews_per_day, s.fuzz) == (4, 20, 200, True)


def test_round_trip(tmp_path):
    path = tmp_path / "settings.toml"
    save(Settings(desired_retention=0.85, new_per_day=5, timezone="Europe/Berlin"), path)
    assert load(path) == Settings(desired_retention=0.85, new_per_day=5, timezone="Europe/Berlin")
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("text, message", [
    ("desired_retention = 1.5", "desired_retention: 1.5 must be between 0.7 and 0.99"),
    ("learning_steps = ['1x']", "learning_steps: '1x' is not a step"),
    ("day_starts_at = 25", "day_starts_at: 25 must be an hour"),
    ("new_per_day = 'many'", "new_per_day: expected int"),
    ("colour = 'blue'", "unknown setting 'colour'"),
    ("timezone = 'Mars/Olympus'", "timezone: 'Mars/Olympus' is not a known time zone"),
    ("desired_retention = ", "Invalid value"),
])
def test_bad_settings_name_file_and_setting(tmp_path, text, message):
    path = tmp_path / "settings.toml"
    path.write_text(text + "\n")
    with pytest.raises(SettingsError) as info:
        load(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_step_notation():
    assert parse_step("90s").total_seconds() == 90
    assert parse_step("10m").total_seconds() == 600
    assert parse_step("1d").total_seconds() == 86400


HOSTILE_SETTINGS = [
    ('learning_steps = ["99999999999999999999d"]', "learning_steps: "),
    ('relearning_steps = ["40000d"]', "longer than 36500 days"),
    ('learning_steps = [1]', "is not a step"),
    (f'timezone = "{"A" * 10000}"', "timezone: "),
    ('timezone = "../../../etc/passwd"', "not a known time zone"),
    ('timezone = "Mars/Olympus"', "not a known time zone"),
    ("parameters = [" + ", ".join(['"a"'] * 21) + "]", "w0 is 'a', not a number"),
    ("parameters = [" + ", ".join(["1e9"] * 21) + "]", "outside FSRS-6's range"),
    ("parameters = [" + ", ".join(["nan"] * 21) + "]", "not a number"),
    ("parameters = [0.2, 1.2]", "expected 21 FSRS-6 numbers, got 2"),
    ("desired_retention = nan", "desired_retention"),
    ("desired_retnetion = 0.8", "did you mean 'desired_retention'?"),
    ("new_per_day = 1e400", "new_per_day: expected int"),
    ('[keymap]\n"review.again" = 5', "keymap: review.again"),
]


@pytest.mark.parametrize("text,message", [
    *HOSTILE_SETTINGS,
    # tomllib reads nesting by recursion: a RecursionError's traceback
    pytest.param("a = " + "[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep"),
    pytest.param("# " + "x" * 2_000_000, "larger than 1,000,000 bytes", id="huge"),
])
def test_hostile_settings_are_one_line_errors_naming_the_setting(tmp_path, text, message):
    """Through the real command line: exit 2, one line naming the file and the
    setting, no traceback; the file is left as the learner wrote it."""
    from .test_cli import run

    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text(text + "\n", encoding="utf-8")
    result = run(["due"], home)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(home / "settings.toml") in result.stderr and message in result.stderr
    assert len(result.stderr) < 1200
    assert (home / "settings.toml").read_text(encoding="utf-8") == text + "\n"


def test_saving_keeps_the_learners_comments_and_layout(tmp_path):
    """The Settings screen's save changes values in place (tomlkit): comments,
    order and blank lines stay, and no key the learner never wrote appears."""
    from dataclasses import replace

    from companion.settings import load, save

    path = tmp_path / "settings.toml"
    path.write_text(
        "# my companion settings\n"
        "new_per_day = 10  # a slow month\n"
        "\n"
        "theme = \"ansi-dark\"\n"
        "\n"
        "[presets.exam]  # for the finals\n"
        "desired_retention = 0.95\n"
        "new_per_day = 40  # cram\n"
        "\n"
        "[presets.old]\n"
        "new_per_day = 1\n"
        "\n"
        "[deck_presets]\n"
        "law = \"exam\"  # until June\n", encoding="utf-8")
    settings = load(path)
    changed = replace(settings.with_preset_values("exam", new_per_day=50),
                      new_per_day=12, desired_retention=0.85,
                      presets={**settings.with_preset_values("exam", new_per_day=50).presets})
    del changed.presets["old"]
    save(changed, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my companion settings\nnew_per_day = 12  # a slow month\n\n")
    assert "[presets.exam]  # for the finals\n" in text and "new_per_day = 50  # cram" in text
    assert 'law = "exam"  # until June' in text
    assert "[presets.old]" not in text
    assert "desired_retention = 0.85" in text
    assert "learning_steps" not in text and "leech_threshold" not in text  # never written
    assert load(path) == changed


def test_a_new_settings_file_holds_every_value(tmp_path):
    from companion.settings import load, save

    path = tmp_path / "settings.toml"
    save(Settings(new_per_day=5), path)
    text = path.read_text()
    assert "new_per_day = 5" in text and "learning_steps" in text and "[presets" not in text
    assert load(path) == Settings(new_per_day=5)


@pytest.mark.parametrize("kind", ["pipe", "device"])
def test_a_settings_file_that_is_a_pipe_or_a_device_never_hangs_the_start(tmp_path, kind):
    """settings.toml as a named pipe (opening it waited for a writer for
    ever) or a link to /dev/zero (read for ever): one line, exit 2."""
    import os

    from .test_cli import run

    home = tmp_path / "home"
    home.mkdir()
    if kind == "pipe":
        os.mkfifo(home / "settings.toml")
    else:
        (home / "settings.toml").symlink_to("/dev/zero")
    result = run(["due"], home)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"settings.toml: cannot read: not a regular file (a {kind})" in result.stderr
