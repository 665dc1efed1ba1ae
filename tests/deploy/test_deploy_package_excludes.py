"""What `golive package` leaves out of the zip by default: generated files, local state and tools, tests."""

from __future__ import annotations

from pathlib import Path

from golive.deploy.package import DEFAULT_EXCLUDES, copy_service

SHIPPED = ["handler.py", "app/__init__.py", "app/routes.py", "app/data.json"]
LEFT_OUT = ["golive.toml", "template.yaml", "samconfig.toml", "openapi.json", "openapi.yaml",
            "events/get-user.json", "events/nested/post.json", ".golive/users.db", "tests/test_api.py",
            "test_smoke.py", "app/routes_test.py", "conftest.py", "pytest.ini", "pyproject.toml", "README.md",
            "requirements.txt", ".env", ".gitignore", "dist/svc.zip", "app/__pycache__/routes.cpython-312.pyc"]


def test_generated_and_local_files_stay_out_of_the_zip(tmp_path: Path) -> None:
    service, staging = tmp_path / "svc", tmp_path / "staging"
    for relative in SHIPPED + LEFT_OUT:
        (service / relative).parent.mkdir(parents=True, exist_ok=True)
        (service / relative).write_text("x")
    copy_service(service, staging, DEFAULT_EXCLUDES)
    copied = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    assert copied == sorted(SHIPPED)
