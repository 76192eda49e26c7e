"""The `kubecourse` command as a user types it: up, status, kubeconfig, down, translate."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECOURSE_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "kubecourse.cli", *args], capture_output=True, text=True, env=env, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"kubecourse {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def test_up_status_down_keeps_state_and_a_private_kubeconfig(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        up = run("up", home=home)
        assert "embedded cluster started at https://127.0.0.1:" in up.stdout
        assert "already running" in run("up", home=home).stdout
        kubeconfig = Path(run("kubeconfig", home=home).stdout.strip())
        assert kubeconfig == home / "kubeconfig"
        assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
        token = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
        status = run("status", home=home).stdout
        assert "kubecourse-worker3" in status and token not in status
        _create_configmap(kubeconfig)
        assert "stopped" in run("down", home=home).stdout
        assert run("status", home=home, check=False).returncode == 3
        stopped = run("kubeconfig", home=home)
        assert stopped.stdout.strip() == str(kubeconfig)  # still the file to export
        assert "is not running, so kubectl will not reach it; start it with: kubecourse up" in stopped.stderr
        run("up", home=home)
        assert _configmap_exists(kubeconfig), "a restarted cluster keeps its objects"
        assert token not in (home / "server.log").read_text()
    finally:
        run("down", home=home, check=False)


def _client(kubeconfig: Path):  # type: ignore[no-untyped-def]
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def _create_configmap(kubeconfig: Path) -> None:
    _client(kubeconfig).create_namespaced_config_map("default", {"metadata": {"name": "survives"}, "data": {"a": "1"}})


def _configmap_exists(kubeconfig: Path) -> bool:
    return _client(kubeconfig).read_namespaced_config_map("survives", "default").data == {"a": "1"}


def test_kubeconfig_before_up_says_the_cluster_was_never_started_and_fails(tmp_path: Path) -> None:
    home = tmp_path / "fresh"

    done = run("kubeconfig", home=home, check=False)

    assert done.returncode == 3 and done.stdout == ""  # `export KUBECONFIG=$(...)` gets nothing
    assert done.stderr == (
        f"kubecourse kubeconfig: the embedded cluster has not been started (no {home / 'kubeconfig'} "
        "yet); start it with: kubecourse up\n"
    )
    assert not home.exists()  # asking starts nothing


def test_translate_writes_a_folder_and_a_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run("translate", str(ROOT / "shop" / "compose.yaml"), "-o", str(out), "--report", str(tmp_path / "report.md"), home=tmp_path)
    names = sorted(p.name for p in out.iterdir())
    assert "account-api.yaml" in names and "orders-worker.yaml" in names
    docs = list(yaml.safe_load_all((out / "orders-worker.yaml").read_text()))
    assert docs[0]["kind"] == "Deployment" and docs[0]["spec"]["strategy"]["type"] == "Recreate"
    assert "## Service `orders-worker`" in (tmp_path / "report.md").read_text()


def test_translate_to_stdout_is_one_stream(tmp_path: Path) -> None:
    done = run("translate", str(ROOT / "shop" / "compose.yaml"), home=tmp_path)
    kinds = [d["kind"] for d in yaml.safe_load_all(done.stdout) if d]
    assert kinds.count("Deployment") == 8 and "Ingress" in kinds


def test_translate_bad_input_names_the_problem_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    ports: ['eighty']\n")
    out = tmp_path / "out"
    done = run("translate", str(bad), "-o", str(out), home=tmp_path, check=False)
    assert done.returncode == 1
    assert "services.web" in done.stderr and "compose.yaml:" in done.stderr
    assert not out.exists()


def test_translate_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    done = run("translate", str(tmp_path / "nope.yaml"), home=tmp_path, check=False)
    assert done.returncode == 1 and "nope.yaml" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_command_prints_help(tmp_path: Path) -> None:
    done = run(home=tmp_path, check=False)
    assert done.returncode == 2 and "translate" in done.stdout


def test_simultaneous_up_starts_one_cluster(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "KUBECOURSE_HOME": str(home)}
    try:
        procs = [subprocess.Popen([sys.executable, "-m", "kubecourse.cli", "up"], stdout=subprocess.PIPE, text=True, env=env) for _ in range(3)]
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        first_lines = {out.splitlines()[0].replace("already running", "started") for out in outputs}
        assert len(first_lines) == 1, outputs  # one URL, one pid
        assert sum(" started at " in out for out in outputs) == 1, outputs  # the others say so
        for mode_of in ("kubeconfig", "server.log", "state.sqlite"):
            assert stat.S_IMODE((home / mode_of).stat().st_mode) == 0o600, mode_of
    finally:
        run("down", home=home, check=False)


def test_a_kubeconfig_deleted_while_the_cluster_runs_is_written_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    try:
        run("up", home=home)
        first = (home / "kubeconfig").read_text()
        (home / "kubeconfig").unlink()

        again = run("up", home=home)

        assert "already running" in again.stdout
        assert (home / "kubeconfig").read_text() == first
        assert stat.S_IMODE((home / "kubeconfig").stat().st_mode) == 0o600
        assert "kubecourse-control-plane" in run("status", home=home).stdout
    finally:
        run("down", home=home, check=False)


def test_output_cut_short_by_its_reader_is_not_an_error(tmp_path: Path) -> None:
    shop = Path(__file__).resolve().parents[2] / "shop" / "compose.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubecourse.cli", "translate", str(shop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -0` would, before anything is written

    with proc.stderr:
        said = proc.stderr.read()

    assert proc.wait(timeout=60) == 0
    assert said == ""
