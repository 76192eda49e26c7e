"""The `kubecourse` command: run the embedded cluster and translate compose files.

    kubecourse up                 start the embedded cluster in the background
    kubecourse status             is it running, where, and what is on it (exits 3 when
                                  it is not running, 1 when it runs but does not answer)
    kubecourse kubeconfig         print the kubeconfig path (export KUBECONFIG=$(...));
                                  before `kubecourse up` it says so and exits 3
    kubecourse down               stop it (its state stays under $KUBECOURSE_HOME)
    kubecourse translate FILE...  compose file(s) -> Kubernetes YAML and an explanation
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kubecourse.embedded import daemon
from kubecourse.errors import ClusterError, ComposeError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `kubecourse status | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ComposeError, ClusterError) as err:
        print(f"kubecourse {args.command}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        print(f"kubecourse {args.command}: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except RuntimeError as err:  # the embedded cluster would not start; the message says where to look
        print(f"kubecourse {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubecourse", description="Learn Kubernetes from docker-compose, by doing it.")
    parser.add_argument("--home", help="state folder of the embedded cluster (default: $KUBECOURSE_HOME or ~/.kubecourse)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("up", help="start the embedded cluster in the background").set_defaults(run=_up)
    sub.add_parser("down", help="stop the embedded cluster").set_defaults(run=_down)
    sub.add_parser("status", help="show whether the embedded cluster runs, and its nodes").set_defaults(run=_status)
    sub.add_parser("kubeconfig", help="print the path of the embedded cluster's kubeconfig").set_defaults(run=_kubeconfig)
    translate = sub.add_parser("translate", help="translate compose file(s) into Kubernetes manifests")
    translate.add_argument("files", nargs="+", metavar="FILE", help="compose files, merged in order (like docker compose -f)")
    translate.add_argument("-o", "--output", metavar="DIR", help="write YAML files here (default: print one stream)")
    translate.add_argument("--single-file", action="store_true", help="with -o, write one all.yaml instead of a file per service")
    translate.add_argument("--env-file", help="variables for interpolation (default: .env beside the first file)")
    translate.add_argument("--profile", action="append", default=[], help="enable a compose profile (repeatable)")
    translate.add_argument("--image-prefix", help="registry prefix for build-only services (e.g. ghcr.io/me)")
    translate.add_argument("--report", metavar="FILE", help="also write the explanation report (Markdown) here")
    translate.add_argument("--gateway", action="store_true", help="also emit Gateway API objects (Gateway, HTTPRoute)")
    translate.add_argument("--no-network-policies", action="store_true", help="do not turn compose networks into NetworkPolicies")
    translate.add_argument("--wait-for-dependencies", action="store_true", help="add init containers that wait for depends_on services")
    translate.set_defaults(run=_translate)
    return parser


def _up(args: argparse.Namespace) -> int:
    info = daemon.ensure_running(args.home)
    state = "started" if info.started else "already running"
    print(f"embedded cluster {state} at {info.url} (pid {info.pid})")
    print(f"kubeconfig: {info.kubeconfig}")
    print(f"use it from a shell:  export KUBECONFIG={info.kubeconfig}")
    return 0


def _down(args: argparse.Namespace) -> int:
    if daemon.stop(args.home):
        print(f"embedded cluster stopped; its state stays in {daemon.home(args.home)}")
    else:
        print("embedded cluster was not running")
    return 0


def _status(args: argparse.Namespace) -> int:
    info = daemon.running(args.home)
    if info is None:
        pid = daemon.holder(args.home)
        if pid is not None:  # alive, holding the state, but silent
            silent = daemon.NotAnswering(daemon.home(args.home), pid, daemon.READY_TIMEOUT)
            print(f"kubecourse status: {silent}", file=sys.stderr)
            return 1
        print(f"embedded cluster is not running (state folder {daemon.home(args.home)}); start it with: kubecourse up")
        return 3
    from kubecourse.client import connect

    cluster = connect(home=info.home)
    print(f"embedded cluster running at {info.url} (pid {info.pid})")
    print(f"kubeconfig: {info.kubeconfig}")
    print(cluster.nodes())
    return 0


def _kubeconfig(args: argparse.Namespace) -> int:
    """The path for `export KUBECONFIG=$(kubecourse kubeconfig)`: only a file that exists
    goes to stdout, so a shell never exports a path kubectl cannot read."""
    state = daemon.home(args.home)
    path = state / "kubeconfig"
    if not path.exists():
        print(f"kubecourse kubeconfig: the embedded cluster has not been started (no {path} yet); "
              "start it with: kubecourse up", file=sys.stderr)  # fmt: skip
        return 3
    if daemon.running(state) is None:
        print("kubecourse kubeconfig: the embedded cluster is not running, so kubectl will not "
              "reach it; start it with: kubecourse up", file=sys.stderr)  # fmt: skip
    print(path)
    return 0


def _translate(args: argparse.Namespace) -> int:
    from kubecourse.compose import translate

    result = translate(
        [Path(f) for f in args.files],
        env_file=args.env_file,
        profiles=tuple(args.profile),
        image_prefix=args.image_prefix,
        gateway=args.gateway,
        network_policies=not args.no_network_policies,
        wait_for_dependencies=args.wait_for_dependencies,
    )
    if args.output:
        written = result.write(Path(args.output), single_file=args.single_file)
        for path in written:
            print(path)
    else:
        sys.stdout.write(result.to_yaml())
    if args.report:
        report = Path(args.report)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.report_markdown())
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
