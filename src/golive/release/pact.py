"""`golive verify --pact FILE`: a consumer's Pact file replayed against the running provider by Pact's own verifier
(pact-python, the Rust core), each mismatch reported like the other verify findings."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from golive.release.verify import Finding
from golive.service.config import ConfigError


def _interactions(pact_file: Path) -> tuple[str, dict[str, str]]:
    """The provider's name and, per interaction description, its request as "METHOD /path"."""
    try:
        document = json.loads(pact_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read --pact {pact_file}: {exc.strerror}; pass the consumer's pact JSON") from None
    except ValueError:
        raise ConfigError(f"--pact {pact_file} is not JSON; pass the pact file the consumer's tests wrote") from None
    provider = (document.get("provider") or {}).get("name") if isinstance(document, dict) else None
    if not provider or not isinstance(document.get("interactions"), list):
        raise ConfigError(f"--pact {pact_file} has no provider name or no interactions: not a Pact file")
    requests = {}
    for interaction in document["interactions"]:
        request = interaction.get("request") or {}
        requests[str(interaction.get("description"))] = f"{request.get('method', 'GET')} {request.get('path', '/')}"
    return str(provider), requests


def verify_pact(base_url: str, pact_file: str, token: str | None = None) -> tuple[int, list[Finding]]:
    """(interactions verified, findings): empty findings when the provider honours every interaction."""
    try:
        from pact import Verifier
    except ImportError:
        raise ConfigError("golive verify --pact needs pact-python: pip install 'golive[verify]'") from None
    from urllib.parse import urlsplit

    # The Pact core reports usage to its vendor unless told not to; a verify run sends nothing anywhere but the URL.
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    path = Path(pact_file)
    provider, requests = _interactions(path)
    url = urlsplit(base_url)
    verifier = Verifier(provider, host=url.hostname).add_transport(url=base_url).add_source(path)
    verifier.set_coloured_output(enabled=False)
    if token:
        verifier.add_custom_header("Authorization", f"Bearer {token}")
    failed = False
    with _quiet():  # the Rust core prints its own report to stdout; golive prints the findings instead
        try:
            verifier.verify()
        except RuntimeError:
            failed = True
    results: dict[str, Any] = verifier.results or {}
    findings = []
    for error in results.get("errors") or []:
        description = str(error.get("interaction", "")).rpartition(" - ")[2]
        mismatch = error.get("mismatch") or {}
        details = [m.get("mismatch", "") for m in mismatch.get("mismatches") or []] or [
            str(mismatch.get("message") or mismatch)]
        request = requests.get(description, "")
        findings.append(Finding(f"pact: {description}", "pact", "; ".join(details),
                                f"curl -X {request.replace(' ', f' {base_url.rstrip(chr(47))}', 1)}" if request
                                else "-", next((m.get("actual") for m in mismatch.get("mismatches") or []
                                                if m.get("type") == "StatusMismatch"), None)))
    if failed and not findings:
        findings.append(Finding(f"pact: {path.name}", "pact", "the Pact verifier failed without a mismatch "
                                                            "(is the provider reachable?)", "-"))
    return len(results.get("interactionResults") or []), findings


class _quiet:
    """Send file descriptor 1 to a scratch file for the duration (the verifier writes there from native code)."""

    def __enter__(self) -> None:
        import sys

        sys.stdout.flush()
        self.saved = os.dup(1)
        self.scratch = tempfile.TemporaryFile()
        os.dup2(self.scratch.fileno(), 1)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self.saved, 1)
        os.close(self.saved)
        self.scratch.close()
