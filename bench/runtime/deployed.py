"""A service's cold start as deployed: its `golive package` zip unzipped into a read-only task root, imported by the
runtime's Python in fresh processes, with the zip's bytecode and without it (the zip before bytecode shipped).

    .venv/bin/python bench/runtime/deployed.py [SERVICE_DIR (examples/users)] [--runs 15]

Each round spawns, in rotating order, the runtime interpreter bare and the service's handler module from each task
root; no bytecode is written anywhere (PYTHONDONTWRITEBYTECODE, as a read-only /var/task forces on Lambda). The
function's environment is the template's (references such as the table name become placeholder strings). Printed:
medians of spawn-to-imported and of the in-process import, and the ratio without/with bytecode.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import unzip_task_roots  # noqa: E402  (beside this file)

CHILD = """\
import time
t0 = time.perf_counter_ns()
import os, sys
sys.path.insert(0, {root!r})
__import__({module!r})
t1 = time.perf_counter_ns()
os.write({fd}, f"{{t0}} {{t1}}".encode())
"""
BARE = """\
import time
t0 = time.perf_counter_ns()
import os
os.write({fd}, f"{{t0}} {{t0}}".encode())
"""


def function_env(template: dict, module: str) -> dict[str, str]:
    """The environment the template gives the function whose handler lives in `module`."""
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and properties.get("Handler", "").startswith(module + "."):
            variables = (properties.get("Environment") or {}).get("Variables") or {}
            return {k: v if isinstance(v, str) else f"placeholder-{k.lower()}" for k, v in variables.items()}
    return {}


def spawn(interpreter: str, code: str, env: dict[str, str], cwd: Path, **fields: str) -> tuple[float, float]:
    """(spawn-to-imported ms, in-process import ms) of one fresh process."""
    read_fd, write_fd = os.pipe()
    started = time.perf_counter_ns()
    proc = subprocess.Popen([interpreter, "-c", code.format(fd=write_fd, **fields)], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write_fd,))
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as reader:
        payload = reader.read().decode()
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode != 0 or not payload:
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no error output)"]
        raise SystemExit(f"error: the handler did not import: {tail[0]}")
    t0, t1 = (int(x) for x in payload.split())
    return (t1 - started) / 1e6, (t1 - t0) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service_dir", nargs="?", default=str(HERE.parent.parent / "examples" / "users"))
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per variant (median)")
    args = parser.parse_args(argv)

    from golive.deploy.package import PackageError, build_package
    from golive.deploy.template import build
    from golive.service.config import ConfigError, load_config

    try:
        config = load_config(args.service_dir)
        template, builder = build(config)
        function = next(iter(config.functions.values()))
        work = Path(tempfile.mkdtemp(prefix="golive-bench-deployed-"))
        package = build_package(config, builder.service, work / "dist")
    except (ConfigError, PackageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        interpreter = package.bytecode.interpreter
        if interpreter is None:
            print(f"error: no Python {package.bytecode.python} interpreter here: the zip has no bytecode to compare "
                  f"(install python{package.bytecode.python} or set [package] python)", file=sys.stderr)
            return 2
        roots = unzip_task_roots(package.path, work / "roots")
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "us-east-1",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": f"{config.service}-{function.name}",
               **function_env(template, function.module)}
        variants = {"bare interpreter": (BARE, roots["bytecode"]),
                    "task root, .pyc shipped": (CHILD, roots["bytecode"]),
                    "task root, source only": (CHILD, roots["source"])}
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        names = list(variants)
        for round_index in range(args.runs):
            for name in names[round_index % len(names):] + names[:round_index % len(names)]:
                code, root = variants[name]
                samples[name].append(spawn(interpreter, code, env, root, root=str(root), module=function.module))
    finally:
        for path in [work, *work.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
        shutil.rmtree(work)
    ready = {name: statistics.median(s[0] for s in values) for name, values in samples.items()}
    inside = {name: statistics.median(s[1] for s in values) for name, values in samples.items()}
    print(f"{config.service}: {function.handler} from `golive package` ({package.bytecode.files} modules as "
          f"Python {package.bytecode.python} bytecode), {interpreter}, median of {args.runs} fresh processes")
    print("| variant | spawn to imported ms | above bare interpreter ms | in-process import ms |")
    print("|---|---:|---:|---:|")
    for name in names:
        above = ready[name] - ready["bare interpreter"]
        print(f"| {name} | {ready[name]:.1f} | {above:.1f} | {inside[name] if name != names[0] else 0:.1f} |")
    ratio = inside["task root, source only"] / inside["task root, .pyc shipped"]
    print(f"{time.strftime('%Y-%m-%d')}: source only imports {ratio:.1f}x slower than with the shipped .pyc "
          f"(in-process); load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
