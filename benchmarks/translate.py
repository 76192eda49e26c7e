"""How long a translation takes: the shop and each real-world case file.

Prints the median of N runs in milliseconds (load + validate + translate, no writing).
Run: `.venv/bin/python benchmarks/translate.py [N]`. Case files are skipped, saying
why, when ../shared/cases is not checked out or when a case needs input it lacks.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kubecourse.compose import TranslationResult, translate

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "cases" / "compose"
AUTHENTIK_VARS = ["POSTGRES_PASSWORD", "AUTHENTIK_SECRET_KEY", "EMAIL_HOST",
                  "EMAIL_USERNAME", "EMAIL_PASSWORD", "EMAIL_FROM"]  # fmt: skip


def median_ms(run: Callable[[], TranslationResult], repeat: int) -> tuple[float, int]:
    timings = []
    objects = 0
    for _ in range(repeat):
        start = time.perf_counter()
        objects = len(run().objects)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), objects


def netbox_copy(workdir: Path) -> Path:
    """netbox names env files that are not in the case folder; supply empty ones."""
    shutil.copy(CASES / "netbox-docker.yml", workdir / "compose.yml")
    (workdir / "env").mkdir(exist_ok=True)
    for name in ("netbox", "postgres", "redis", "redis-cache"):
        (workdir / "env" / f"{name}.env").write_text("PLACEHOLDER=1\n")
    return workdir / "compose.yml"


def cases(workdir: Path) -> dict[str, Callable[[], TranslationResult]]:
    runs: dict[str, Callable[[], TranslationResult]] = {
        "shop": lambda: translate(ROOT / "shop" / "compose.yaml", environ={}),
        "shop (gateway=True)": lambda: translate(
            ROOT / "shop" / "compose.yaml", environ={}, gateway=True),
    }  # fmt: skip
    if not CASES.is_dir():
        print(f"(case files skipped: {CASES} not found)")
        return runs
    secrets = {name: "x" for name in AUTHENTIK_VARS}
    netbox = netbox_copy(workdir)
    runs |= {
        "voting-app": lambda: translate(CASES / "voting-app.yml", environ={}, image_prefix="r.example"),
        "eshop (base + override)": lambda: translate(
            [CASES / "eshop-compose.yml", CASES / "eshop-override.yml"], environ={}),
        "authentik": lambda: translate(CASES / "boilerplates-authentik.yml", environ=secrets),
        "netbox": lambda: translate(netbox, environ={}),
        "atsea-stack": lambda: translate(CASES / "atsea-stack.yml", environ={}),
        "petclinic": lambda: translate(CASES / "petclinic.yml", environ={}, image_prefix="r.example"),
    }  # fmt: skip
    return runs


def main() -> None:
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"translation time, median of {repeat} runs")
    with tempfile.TemporaryDirectory() as workdir:
        for name, run in cases(Path(workdir)).items():
            milliseconds, objects = median_ms(run, repeat)
            print(f"  {name:<26} {milliseconds:8.2f} ms  ({objects} objects)")


if __name__ == "__main__":
    main()
