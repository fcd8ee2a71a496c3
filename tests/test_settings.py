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
