"""The simulated container's shell and programs: what `kubectl exec` can run."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubecourse.embedded import shell
from kubecourse.embedded.shell.programs import (
    BUSYBOX,
    DEBIAN,
    NO_SHELL,
    Answer,
    Sandbox,
)

SEARCH = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
RECORDS = {
    "web.default.svc.cluster.local": Answer(
        "web.default.svc.cluster.local", ["10.96.0.20"]
    ),
    "db.shop.svc.cluster.local": Answer("db.shop.svc.cluster.local", ["10.96.0.30"]),
    "peers.default.svc.cluster.local": Answer(
        "peers.default.svc.cluster.local", ["10.244.1.4", "10.244.2.7"]
    ),
    "ext.default.svc.cluster.local": Answer(
        "ext.default.svc.cluster.local", canonical="example.com"
    ),
}


@dataclass
class FakeTerminal:
    stdin: list[str] = field(default_factory=list)
    tty: bool = False
    interrupted: bool = False
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    slept: list[float] = field(default_factory=list)

    async def write(self, text: str, stderr: bool = False) -> None:
        (self.err if stderr else self.out).append(text)

    async def read(self) -> str | None:
        return self.stdin.pop(0) if self.stdin else None

    async def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        return not self.interrupted


def sandbox(**changes: Any) -> Sandbox:
    box = Sandbox(
        hostname="web-7d9f",
        pod_ip="10.244.1.5",
        env=[
            ("PATH", "/usr/bin:/bin"),
            ("HOSTNAME", "web-7d9f"),
            ("HOME", "/root"),
            ("GREETING", "hello world"),
        ],
        files={
            "/etc/hostname": "web-7d9f\n",
            "/etc/hosts": "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.244.1.5\tweb-7d9f\n",
            "/config/app.conf": "mode=prod\n",
            "/config/log.conf": "level=info\n",
            "/scripts/hello.sh": "echo hello from $HOSTNAME; exit 4\n",
        },
        directories={
            "/config": ["app.conf", "log.conf"],
            "/scripts": ["hello.sh"],
            "/data": [],
        },
        mounts=["/config", "/scripts", "/data"],
        lookup=RECORDS.get,
        internal=lambda name: (
            "." not in name or name.endswith("cluster.local") or name.endswith(".shop")
        ),
        search=SEARCH,
        flavour=BUSYBOX,
    )
    for key, value in changes.items():
        setattr(box, key, value)
    return box


def run(
    argv: list[str], box: Sandbox | None = None, **terminal: Any
) -> tuple[int, str, str]:
    term = FakeTerminal(**terminal)
    code = asyncio.run(shell.execute(argv, box or sandbox(), term))
    return code, "".join(term.out), "".join(term.err)


def sh(script: str, box: Sandbox | None = None) -> tuple[int, str, str]:
    return run(["sh", "-c", script], box)


def test_hostname_prints_the_pod_hostname_and_with_dash_i_its_ip() -> None:
    assert run(["hostname"]) == (0, "web-7d9f\n", "")
    assert run(["hostname", "-i"]) == (0, "10.244.1.5\n", "")


def test_a_scripts_exit_code_is_that_of_its_exit_or_last_command() -> None:
    assert sh("exit 3")[0] == 3
    assert sh("true; false")[0] == 1
    assert sh("exit 300")[0] == 300 & 0xFF
    assert run(["/bin/sh", "-c", "false || exit 9"])[0] == 9


def test_and_or_and_semicolons_chain_as_sh_chains_them() -> None:
    code, out, _ = sh(
        "false || echo rescued && echo then; false && echo skipped; echo status $?"
    )
    assert (code, out) == (0, "rescued\nthen\nstatus 1\n")


def test_variables_quotes_defaults_and_command_substitution_expand() -> None:
    script = 'echo $GREETING; echo "$GREETING" \'$GREETING\' ${MISSING:-fallback}; N=2; echo "I am $(hostname), n=$N"'
    assert (
        sh(script)[1]
        == "hello world\nhello world $GREETING fallback\nI am web-7d9f, n=2\n"
    )


def test_unquoted_variables_split_into_words_and_quoted_ones_do_not() -> None:
    assert (
        sh('set_to="a  b"; V="x  y"; printenv HOME; echo $V; echo "$V"')[1]
        == "/root\nx y\nx  y\n"
    )


def test_assignments_before_a_command_reach_only_its_environment() -> None:
    _, out, _ = sh(
        "MODE=debug printenv MODE; printenv MODE; export LEVEL=3; printenv LEVEL"
    )
    assert out == "debug\n3\n"


def test_env_and_printenv_show_the_containers_environment() -> None:
    code, out, _ = run(["env"])
    assert code == 0 and out.splitlines() == [
        "PATH=/usr/bin:/bin",
        "HOSTNAME=web-7d9f",
        "HOME=/root",
        "GREETING=hello world",
    ]
    assert run(["printenv", "GREETING"]) == (0, "hello world\n", "")
    assert run(["printenv", "GREETING", "NOPE"])[0] == 1
    assert run(["env", "EXTRA=1", "printenv", "EXTRA"])[1] == "1\n"


def test_a_program_the_simulation_does_not_run_answers_127_and_says_so() -> None:
    code, out, err = run(["apt-get", "update"])
    assert (code, out) == (127, "")
    assert err.startswith(
        "apt-get: not simulated: the embedded cluster runs no processes"
    )
    assert "hostname" in err and "traffic" not in err


def test_network_tools_the_image_lacks_are_not_found_as_in_the_real_image() -> None:
    assert sh("curl http://web") == (127, "", "sh: curl: not found\n")
    assert sh("wget http://web", sandbox(flavour=DEBIAN)) == (
        127,
        "",
        "sh: 1: wget: not found\n",
    )
    bash = run(["bash", "-c", "nc -z web 80"], sandbox(flavour=DEBIAN))
    assert bash == (127, "", "bash: line 1: nc: command not found\n")
    with pytest.raises(shell.RuntimeFailure, match=r'exec: "curl": executable file'):
        run(["curl", "http://web"])


def test_other_network_tools_say_which_ones_reach_pods_and_services() -> None:
    code, _, err = sh("ping web")
    assert code == 127
    assert err.startswith("sh: ping: not simulated")
    assert err.rstrip().endswith("to reach Pods and Services use wget, curl or nc")


def test_shells_name_their_messages_as_busybox_dash_and_bash_do() -> None:
    assert sh("ping x")[2].startswith("sh: ping:")
    assert sh("ping x", sandbox(flavour=DEBIAN))[2].startswith("sh: 1: ping:")
    assert run(["bash", "-c", "ping x"], sandbox(flavour=DEBIAN))[2].startswith(
        "bash: line 1: ping:"
    )


def test_builtins_and_shells_the_image_lacks_fail_as_the_runtime_fails_them() -> None:
    with pytest.raises(
        shell.RuntimeFailure, match=r'exec: "exit": executable file not found in \$PATH'
    ):
        run(["exit", "3"])
    with pytest.raises(
        shell.RuntimeFailure, match=r'exec: "bash": executable file not found'
    ):
        run(["bash"])
    with pytest.raises(
        shell.RuntimeFailure, match="stat /bin/bash: no such file or directory"
    ):
        run(["/bin/bash", "-c", "true"])
    assert run(["bash", "-c", "echo $0"], sandbox(flavour=DEBIAN)) == (0, "bash\n", "")


def test_an_image_without_a_shell_runs_nothing() -> None:
    with pytest.raises(
        shell.RuntimeFailure, match=r'exec: "sh": executable file not found in \$PATH'
    ):
        run(["sh"], sandbox(flavour=NO_SHELL))
    with pytest.raises(shell.RuntimeFailure, match='exec: "hostname"'):
        run(["hostname"], sandbox(flavour=NO_SHELL))


def test_pipes_keywords_and_writing_files_are_refused_with_exit_2() -> None:
    for script, what in [
        ("env | grep X", "pipes (|) are not simulated"),
        ("case x in x) echo;; esac", "case: shell keywords"),
        ("echo hi > /tmp/x", "writing to files (> /tmp/x) is not simulated"),
        ("sleep 1 &", "background jobs (&) are not simulated"),
        ("echo $((i++))", "arithmetic assignment is not simulated"),
        ("echo 'open", "unterminated quoted string"),
    ]:
        code, out, err = sh(script)
        assert (code, out) == (2, ""), script
        assert err.startswith("sh: ") and what in err, (script, err)


def test_output_sent_to_dev_null_or_merged_with_2_to_1_goes_there() -> None:
    assert sh("echo gone > /dev/null; echo kept")[1] == "kept\n"
    code, out, err = sh("cat /config/nope 2>&1; cat /config/nope 2>/dev/null; echo $?")
    assert (out, err) == (
        "cat: can't open '/config/nope': No such file or directory\n1\n",
        "",
    )
    assert sh("echo to-err >&2")[2] == "to-err\n"


def test_cat_reads_mounted_files_and_globs_them() -> None:
    assert run(["cat", "/etc/hostname"])[1] == "web-7d9f\n"
    assert sh("cat /config/*")[1] == "mode=prod\nlevel=info\n"
    assert sh("cd /config && cat app.conf")[1] == "mode=prod\n"


def test_cat_reports_a_missing_volume_file_in_the_images_own_words() -> None:
    busybox = run(["cat", "/config/missing"])
    assert busybox == (
        1,
        "",
        "cat: can't open '/config/missing': No such file or directory\n",
    )
    debian = run(["cat", "/config/missing"], sandbox(flavour=DEBIAN))
    assert debian == (1, "", "cat: /config/missing: No such file or directory\n")


def test_files_outside_the_kubelets_files_and_volumes_are_not_pretended() -> None:
    code, _, err = run(["cat", "/etc/passwd"])
    assert code == 1 and "/etc/passwd: not simulated" in err
    assert run(["ls", "/usr/bin"])[0] == 2


def test_ls_lists_a_mounted_volume() -> None:
    assert run(["ls", "/config"]) == (0, "app.conf\nlog.conf\n", "")
    assert run(["ls", "/data"]) == (0, "", "")
    assert run(["ls", "-a", "/data"])[1] == ".\n..\n"
    assert run(["ls", "/config/missing"], sandbox(flavour=DEBIAN)) == (
        2,
        "",
        "ls: cannot access '/config/missing': No such file or directory\n",
    )
    assert run(["ls", "-l", "/config"])[0] == 2


def test_nslookup_resolves_service_names_through_the_search_list() -> None:
    code, out, _ = run(["nslookup", "web"])
    assert code == 0
    assert out == (
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
        "Name:\tweb.default.svc.cluster.local\nAddress: 10.96.0.20\n\n"
    )
    assert "Address: 10.96.0.30" in run(["nslookup", "db.shop"])[1]
    assert (
        run(["nslookup", "peers"])[1].count("Name:\tpeers.default.svc.cluster.local")
        == 2
    )


def test_nslookup_answers_nxdomain_in_the_cluster_and_refuses_the_internet() -> None:
    code, out, _ = run(["nslookup", "nope"])
    assert (
        code == 1
        and "** server can't find nope.default.svc.cluster.local: NXDOMAIN" in out
    )
    code, _, err = run(["nslookup", "example.org"])
    assert code == 1 and "names outside the cluster are not simulated" in err
    code, out, err = run(["nslookup", "ext"])
    assert "canonical name = example.com" in out and "example.com: names outside" in err


def test_getent_hosts_reads_etc_hosts_then_cluster_dns() -> None:
    assert run(["getent", "hosts", "web-7d9f"])[1] == "10.244.1.5      web-7d9f\n"
    assert (
        run(["getent", "hosts", "web"])[1]
        == "10.96.0.20      web.default.svc.cluster.local\n"
    )
    assert run(["getent", "hosts", "nope"]) == (2, "", "")


def test_id_reports_the_security_contexts_user_and_groups() -> None:
    assert run(["id"])[1] == "uid=0(root) gid=0(root) groups=0(root)\n"
    box = sandbox(uid=1000, gid=3000, groups=[2000])
    assert run(["id"], box)[1] == "uid=1000 gid=3000 groups=3000,2000\n"


def test_sleep_waits_and_a_ctrl_c_makes_it_exit_130() -> None:
    term = FakeTerminal()
    assert asyncio.run(shell.execute(["sleep", "1.5", "2m"], sandbox(), term)) == 0
    assert term.slept == [121.5]
    assert run(["sleep", "10"], interrupted=True)[0] == 130
    assert run(["sleep", "soon"])[0] == 1


def test_date_prints_utc_and_takes_a_format() -> None:
    code, out, _ = run(["date"])
    assert code == 0 and out.endswith(" UTC " + out.split()[-1] + "\n")
    assert run(["date", "+%Y"])[1].strip().isdigit()


def test_cd_and_pwd_move_between_directories_and_refuse_missing_ones() -> None:
    assert sh("cd /config; pwd; cd; pwd")[1] == "/config\n/root\n"
    code, _, err = sh("cd /config/nope")
    assert code == 2 and "can't cd to /config/nope" in err


def test_sh_runs_a_script_file_from_a_volume() -> None:
    assert run(["sh", "/scripts/hello.sh"]) == (4, "hello from web-7d9f\n", "")
    assert run(["sh", "/scripts/missing.sh"])[0] == 2


def test_cat_without_files_copies_stdin_to_stdout() -> None:
    assert run(["cat"], stdin=["piped ", "text\n"]) == (0, "piped text\n", "")


def test_sh_without_a_tty_runs_stdin_line_by_line() -> None:
    code, out, _ = run(["sh"], stdin=["hostname\necho o", "ne\nexit 4\necho never\n"])
    assert (code, out) == (4, "web-7d9f\none\n")


def test_an_interactive_shell_prompts_echoes_and_edits_like_busybox() -> None:
    keys = ["hostnx\x7fame\r", "cd /config\r", "exit 5\r"]
    code, out, _ = run(["sh"], stdin=keys, tty=True)
    assert code == 5
    assert out == "/ # hostnx\b \bame\nweb-7d9f\n/ # cd /config\n/config # exit 5\n"


def test_an_interactive_bash_prompts_with_user_host_and_directory() -> None:
    code, out, _ = run(["bash"], sandbox(flavour=DEBIAN), stdin=["\x04"], tty=True)
    assert (code, out) == (0, "root@web-7d9f:/# ")
    code, out, _ = run(
        ["bash"], sandbox(flavour=DEBIAN, uid=1000), stdin=["\x03", "\x04"], tty=True
    )
    assert out == "I have no name!@web-7d9f:/$ ^C\nI have no name!@web-7d9f:/$ "


def test_echo_interprets_backslash_escapes_with_dash_e_only() -> None:
    assert run(["echo", "-e", "a\\tb\\nc é"])[1] == "a\tb\nc é\n"
    assert run(["echo", "a\\tb"])[1] == "a\\tb\n"
    assert run(["echo", "-n", "x"])[1] == "x"


def test_variables_and_arithmetic_expand_as_in_sh() -> None:
    assert sh("x=5; echo $x")[1] == "5\n"
    assert sh("echo $((1+2)) $((7/2)) $((-7/2)) $((7%3)) $((2*(3+4)))")[1] == (
        "3 3 -3 1 14\n"
    )
    assert sh("i=4; echo $((i+1)) $(($i*2)) $((i<5)) $((unset+1))")[1] == "5 8 1 1\n"


def test_for_loops_run_their_body_once_per_word() -> None:
    assert sh("for i in 1 2 3; do echo item $i; done")[1] == (
        "item 1\nitem 2\nitem 3\n"
    )
    assert sh("for f in a b\ndo\n  echo $f\ndone")[1] == "a\nb\n"


def test_while_and_until_loops_test_their_condition_each_time() -> None:
    script = "i=0; while [ $i -lt 3 ]; do echo line $i; i=$((i+1)); done; echo end"
    assert sh(script)[1] == "line 0\nline 1\nline 2\nend\n"
    script = "n=0; until [ $n -ge 2 ]; do n=$((n+1)); done; echo $n"
    assert sh(script)[1] == "2\n"
    script = "while true; do echo once; break; done; echo after"
    assert sh(script)[1] == "once\nafter\n"


def test_an_until_loop_waits_with_sleep_until_a_name_resolves() -> None:
    script = "n=0; until nslookup web >/dev/null 2>&1; do sleep 2; done; echo found"
    assert sh(script)[:2] == (0, "found\n")


def test_if_elif_else_choose_by_exit_status() -> None:
    assert sh("if true; then echo yes; else echo no; fi")[1] == "yes\n"
    assert sh("if false; then echo a; elif [ x = x ]; then echo b; fi")[1] == "b\n"
    assert sh('if [ -z "$NOPE" ]; then echo empty; fi')[1] == "empty\n"


def test_printf_fills_its_format_and_reuses_it_for_more_arguments() -> None:
    assert sh("printf '%s=%d\\n' a 1 b 2; printf 'x\\ty\\n'; printf '100%%\\n'") == (
        0,
        "a=1\nb=2\nx\ty\n100%\n",
        "",
    )
    assert sh("printf '%d\\n' nope")[:2] == (1, "0\n")
