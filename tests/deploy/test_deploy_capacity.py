"""A throttle that admits more requests at once than the function's reserve can run turns overload into 500s:
`golive template` says so and `golive check` fails it, with values that fit; the Users example ships them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from deploy_helpers import golive

USERS = Path(__file__).resolve().parents[2] / "examples" / "users"


def users_with(tmp_path: Path, rate: int, burst: int) -> Path:
    service = tmp_path / "users"
    shutil.copytree(USERS, service, ignore=shutil.ignore_patterns(".golive", "dist", "__pycache__"))
    config = service / "golive.toml"
    text = config.read_text()
    start = text.index("[api.throttling]")
    end = text.index("[api.cors]")
    config.write_text(text[:start] + f"[api.throttling]\nrate = {rate}\nburst = {burst}\n\n" + text[end:])
    return service


def throttling_item(service: Path, tmp_path: Path) -> dict:
    template = tmp_path / "template.yaml"
    written = golive("template", str(service), "-o", str(template))
    assert written.returncode == 0, written.stderr
    checked = golive("check", "--template", str(template), "--format", "json")
    report = json.loads(checked.stdout)
    items = {item["id"]: item for item in report["items"]}
    return {"template_notes": written.stderr, **items["security.throttling"]}


def test_a_burst_beyond_the_reserve_is_flagged_by_template_and_check(tmp_path: Path) -> None:
    item = throttling_item(users_with(tmp_path, rate=50, burst=300), tmp_path)
    expected = ("burst 300 admits 300 requests at once, but the function's reserved concurrency is 100: Lambda "
                "throttles the rest and API Gateway answers them 500, not 429; set burst = 100, or raise the "
                "function's concurrency to 300; a rate of 50 then holds while calls take under 2 s (100 "
                "environments serve 33 requests per second at the 3 s timeout)")
    assert f"note: function api: {expected}" in item["template_notes"]
    assert item["template_notes"].count("reserved concurrency") == 1  # one note per function, not per route
    assert item["status"] == "fail"
    assert f"ApiFunction: {expected}" in item["evidence"]
    assert "reserved concurrency" in item["fix"]


def test_the_users_example_ships_a_throttle_its_reserve_can_serve(tmp_path: Path) -> None:
    item = throttling_item(USERS, tmp_path)
    assert "reserved concurrency" not in item["template_notes"]
    assert item["status"] == "pass", item


def test_a_burst_equal_to_the_reserve_passes(tmp_path: Path) -> None:
    item = throttling_item(users_with(tmp_path, rate=5, burst=100), tmp_path)
    assert item["status"] == "pass", item
    assert "reserved concurrency" not in item["template_notes"]
