"""`sync_dir` in the app: a sync as it opens (in the worker that opens the
store, so Home is drawn first), another as it quits."""

from __future__ import annotations

from companion.deck_sync import sync_decks
from companion.interop.sync_folder import sync_folder
from companion.session import ReviewSession
from companion.settings import Settings, load, save
from companion.store import Store

from .conftest import T0, Clock, db_reviews, make_app, ready, run


def other_machine(tmp_path, home, folder, **changes) -> Store:
    """A second machine with the same decks that answered alpha and synced."""
    other = Store(tmp_path / "other" / "companion.db")
    sync_decks(other, [home / "decks"])
    settings = Settings(timezone="UTC", **changes)
    ReviewSession(other, settings, clock=Clock(T0 - 3_600_000)).answer("test/alpha", 3)
    path = tmp_path / "other" / "settings.toml"
    save(settings, path)
    sync_folder(other, settings, folder, path, hostname="laptop")
    return other


@run
async def test_the_app_syncs_with_sync_dir_as_it_opens(tui_home, tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir()
    other = other_machine(tmp_path, tui_home, folder, new_per_day=3)
    settings = Settings(timezone="UTC", theme="textual-dark", sync_dir=str(folder))
    save(settings, tui_home / "settings.toml")
    app = make_app(tui_home, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        [synced] = [n for n in app.said if n.title == "Synced"]
        assert "synced with 1 other machine" in synced.message
        assert "settings: took the latest change" in synced.message
        assert app.settings.new_per_day == 3 and app.settings.sync_dir == str(folder)
        # Home counts under the synced limit of 3 new a day: Greek's 2, and the
        # test deck's 3 less alpha, introduced today on the other machine
        assert app.screen.data.total.new == 2 + 2
    assert db_reviews(tui_home) == [("test/alpha", 3)]
    assert load(tui_home / "settings.toml").new_per_day == 3
    other.close()


@run
async def test_a_broken_sync_dir_is_a_warning_and_the_app_opens(tui_home, tmp_path):
    settings = Settings(timezone="UTC", theme="textual-dark",
                        sync_dir=str(tmp_path / "unplugged-drive"))
    app = make_app(tui_home, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        [warning] = [n for n in app.said if n.title == "Sync folder"]
        assert "unplugged-drive: no such folder" in warning.message
        assert warning.severity == "warning"


def test_quitting_the_app_syncs_once_more(tui_home, tmp_path, capsys):
    from companion.tui.app import sync_on_quit

    folder = tmp_path / "shared"
    folder.mkdir()
    store = Store(tui_home / "companion.db")
    sync_decks(store, [tui_home / "decks"])
    ReviewSession(store, Settings(timezone="UTC"), clock=Clock()).answer("test/beta", 4)
    store.close()
    settings = Settings(timezone="UTC", sync_dir=str(folder))
    sync_on_quit(settings, tui_home / "settings.toml")
    err = capsys.readouterr().err
    assert err.startswith(f"companion: syncing with {folder}…\n")
    assert "companion: note: synced with 0 other machines" in err
    [written] = folder.glob("companion-*.jsonl")
    assert '"card_id": "test/beta"' in written.read_text()
