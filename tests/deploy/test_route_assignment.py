"""One rule assigns routes to functions: the local cloud serves exactly the routes `golive template` deploys."""

from __future__ import annotations

from pathlib import Path

import pytest
from deploy_helpers import ROOT, SERVICES, golive

from golive.deploy.service import load_service
from golive.local.apigw import routes as gateway_routes
from golive.service.config import load_config

FIXTURES = ROOT / "tests" / "fixtures"
CASES = {**{name: path for name, path in SERVICES.items()},
         "foreign_bare": FIXTURES / "foreign" / "bare",
         "foreign_fastapi_mangum": FIXTURES / "foreign" / "fastapi_mangum",
         "foreign_powertools": FIXTURES / "foreign" / "powertools",
         "notes": FIXTURES / "services" / "notes",
         "bench_plain_handler": ROOT / "bench" / "localcloud" / "service"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_local_cloud_serves_the_routes_the_template_deploys(name):
    config = load_config(CASES[name])
    deployed = sorted((route.key, route.function) for route in load_service(config).routes)
    served = sorted((spec.key, spec.function) for spec in gateway_routes.load(load_config(CASES[name])).routes)
    assert served == deployed
    assert deployed, "every fixture serves at least one route"


REQUEST_AUTHORIZED = """\
service = "request-auth"
[api]
type = "rest"
[auth]
type = "lambda"
function = "gatekeeper"
[functions.api]
handler = "echo.handler"
routes = ["GET /things/{id}", "POST /things"]
[functions.gatekeeper]
handler = "gatekeeper.handler"
"""


def test_a_plain_handler_deploys_its_listed_routes_and_an_authorizer_none(tmp_path: Path):
    (tmp_path / "golive.toml").write_text(REQUEST_AUTHORIZED)
    (tmp_path / "echo.py").write_text("def handler(event, context):\n    return {'statusCode': 200}\n")
    (tmp_path / "gatekeeper.py").write_text("def handler(event, context):\n    return {}\n")
    listed = golive("routes", str(tmp_path), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert '"path": "/things/{id}"' in listed.stdout and "gatekeeper" not in listed.stdout
    written = golive("template", str(tmp_path), "-o", str(tmp_path / "template.yaml"))
    assert written.returncode == 0, written.stderr
    routes = sorted((route.key, route.function) for route in load_service(load_config(tmp_path)).routes)
    assert routes == [("GET /things/{id}", "api"), ("POST /things", "api")]


def test_a_route_listed_for_an_app_that_lacks_it_is_one_line_everywhere(tmp_path: Path):
    service = tmp_path / "svc"
    service.mkdir()
    (service / "golive.toml").write_text((FIXTURES / "services" / "notes" / "golive.toml").read_text()
                                         .replace('handler = "handler.handler"',
                                                  'handler = "handler.handler"\nroutes = ["GET /nowhere"]'))
    (service / "handler.py").write_text((FIXTURES / "services" / "notes" / "handler.py").read_text())
    for command in (["routes"], ["template", "-o", str(tmp_path / "t.yaml")]):
        done = golive(*command, str(service))
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.strip().endswith("routes lists GET /nowhere, which its app does not declare; run "
                                            "`golive routes` to see the route keys")
