"""What `kubectl exec` runs in a simulated container: a small shell and its programs.

No process runs in the embedded cluster, so the command of an exec session is
interpreted here, from the container's simulated state (a `programs.Sandbox` built from
the API objects).  What runs:

| command | answers |
|---|---|
| `hostname`, `hostname -i` | the Pod's hostname (`spec.hostname`, else its name); its IP |
| `env`, `printenv [NAME...]` | the environment the kubelet set when the container started: `env` values (with `$(VAR)` references), `valueFrom` (ConfigMap / Secret keys, `fieldRef`, `resourceFieldRef`), `envFrom`, the Services' `<NAME>_SERVICE_HOST` / `_PORT` variables, `HOSTNAME`, `PATH`, `HOME` |
| `env NAME=VALUE... COMMAND` | COMMAND with more variables |
| `cat FILE...` | `/etc/hostname`, `/etc/hosts` (kubelet-managed, with the Pod IP), `/etc/resolv.conf` (`search <ns>.svc.cluster.local svc.cluster.local cluster.local`, `nameserver 10.96.0.10`, `options ndots:5`), files of mounted ConfigMap, Secret, downwardAPI and projected volumes; no FILE: stdin |
| `ls [-1a] [PATH...]` | the mounted volumes' directories (emptyDir and claims are empty) |
| `echo [-n] [-e]`, `true`, `false`, `date [+FORMAT]`, `id` | as coreutils / busybox; `id` from `securityContext` (`runAsUser`, `runAsGroup`, `fsGroup`, `supplementalGroups`) |
| `sleep N` | waits N seconds (`s`, `m`, `h`, `d`, `infinity`; Ctrl-C on a TTY stops it) |
| `nslookup NAME`, `getent hosts NAME` | cluster DNS through the search list: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc.cluster.local` give a ClusterIP, a headless Service its ready endpoints, `<hostname>.<svc>.<ns>.svc.cluster.local` a StatefulSet Pod, an ExternalName Service its CNAME |
| `wget`, `curl`, `nc` | busybox wget, curl and busybox nc through the simulated network (`kubecourse.embedded.network`): Services, Pod IPs, NodePorts and NetworkPolicies as kube-proxy and kindnet treat them, with the tools' own output and error texts; a tool the image lacks is `sh: curl: not found` |
| `sh -c SCRIPT`, `sh FILE`, `sh` | scripts of the above joined by `;`, `&&`, `\\|\\|` and newlines, with quoting, `$VAR` / `${VAR:-default}` / `$?` / `$(command)`, arithmetic `$((...))` (`arithmetic`), globs over known files, `NAME=value`, `if` / `elif` / `else`, `for NAME in ...`, `while`, `until`, `break`, `continue`, `test` / `[`, `export`, `unset`, `cd`, `pwd`, `exit N`, `exec`, redirection to `/dev/null` and `2>&1`; interactive on a TTY (`kubectl exec -it`), line by line from stdin with `-i` |
| `wget`, `curl`, `nc` to `localhost` | `/etc/hosts` first: `localhost` and the Pod's hostname are the container itself |

`bash` runs where the image has it (not in busybox or alpine images); images built
FROM scratch or distroless (`traefik/whoami`, `gcr.io/distroless/*`) have no shell and no
programs: every exec fails as containerd fails it, `exec: "sh": executable file not
found in $PATH`, which kubectl prints as an internal error with exit code 1.  Shell
builtins run directly (`kubectl exec pod -- exit 3`) fail the same way, as they do on
a real node.  Anything else (`apt`, pipes, `case`, functions) writes a message on
stderr saying the embedded cluster does not simulate it, with exit code 127 for a
program (2 for shell syntax).  The exit code of the command is the session's: `sh
-c 'exit 3'` makes `kubectl exec` exit 3.

The kubelet runs a container's own command on this shell too (`controllers.processes`),
its output going to the container's log.

Simplified: one environment for every shell (no login profiles), no job control, no
file writes; what is not listed above is not pretended.
"""

from kubecourse.embedded.shell.interpreter import (
    RuntimeFailure,
    Shell,
    execute,
    not_found,
    not_simulated,
)

__all__ = ["RuntimeFailure", "Shell", "execute", "not_found", "not_simulated"]
