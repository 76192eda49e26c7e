"""busybox `wget` (1.36), against the simulated cluster network.

What it does, as busybox does: `wget [-q] [-S] [-O FILE|-] [-T SEC] [-U AGENT]
[--header 'K: V'] [--post-data DATA] [--spider] URL`; `Connecting to web (10.96.0.5:80)`
on stderr (unless `-q`), an HTTP/1.1 request with `Host`, `User-Agent: Wget` and
`Connection: close`, redirects followed (up to 16), the body to stdout for `-O -`
(`writing to stdout`, a progress line, `written to stdout`).  Failures are busybox's:
`wget: bad address 'nope'`, `wget: can't connect to remote host (10.96.0.5): Connection
refused` (or `Connection timed out`, `No route to host`), `wget: download timed out`
(`-T`), `wget: server returned error: HTTP/1.1 404 Not Found`, `wget: error getting
response` (the server closed without answering), each with exit code 1.

Simplified: writing to a file other than `-` or `/dev/null` is refused (the simulated
containers have no writable files), `https://` is not simulated, no proxies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubecourse.embedded.network.http import Request, Response
from kubecourse.embedded.network.wire import EmptyReply, exchange
from kubecourse.embedded.shell.nettools import (
    STRERROR,
    Url,
    dial,
    outside,
    parse_url,
    resolve,
    seconds,
)
from kubecourse.embedded.shell.programs import Call

USAGE = (
    "BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
    "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n"
    "\t[--post-data STR | --post-file FILE] [-Y on/off]\n"
    "\t[-P DIR] [-U AGENT] [-T SEC] URL...\n\n"
    "Retrieve files via HTTP or FTP\n"
)
_WITH_VALUE = {"-O": "output", "--output-document": "output", "-T": "timeout",
               "--timeout": "timeout", "-U": "agent", "--user-agent": "agent",
               "--header": "header", "--post-data": "post", "-o": "log", "-P": "prefix",
               "-Y": "proxy", "-t": "tries", "--tries": "tries"}  # fmt: skip
_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-S": "server", "--server-response": "server",
          "--spider": "spider", "-c": "continue", "--continue": "continue",
          "--no-check-certificate": "insecure"}  # fmt: skip


class Usage(Exception):
    pass


@dataclass
class Options:
    urls: list[str] = field(default_factory=list)
    quiet: bool = False
    server: bool = False
    spider: bool = False
    output: str | None = None
    timeout: float = 900.0  # busybox's default network timeout
    agent: str = "Wget"
    headers: list[tuple[str, str]] = field(default_factory=list)
    post: str | None = None


def parse(args: list[str]) -> Options:
    options, index = Options(), 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            options.urls += args[index + 1 :]
            break
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in _FLAGS and not eq:
            _flag(options, _FLAGS[name])
        elif name in _WITH_VALUE:
            value = (
                inline if eq else (args[index + 1] if index + 1 < len(args) else None)
            )
            if value is None:
                raise Usage()
            index += 0 if eq else 1
            _set(options, _WITH_VALUE[name], value)
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2:
            index = _short_cluster(options, args, index)
        elif arg.startswith("-") and arg != "-":
            raise Usage()
        else:
            options.urls.append(arg)
        index += 1
    if not options.urls:
        raise Usage()
    return options


def _short_cluster(options: Options, args: list[str], index: int) -> int:
    """`-qO-`, `-qO /dev/null`, `-qT5`: flags, then one option taking the rest."""
    arg = args[index]
    for position, letter in enumerate(arg[1:], start=1):
        flag = f"-{letter}"
        if flag in _FLAGS:
            _flag(options, _FLAGS[flag])
            continue
        if flag not in _WITH_VALUE:
            raise Usage()
        value = arg[position + 1 :]
        if not value:
            if index + 1 >= len(args):
                raise Usage()
            index, value = index + 1, args[index + 1]
        _set(options, _WITH_VALUE[flag], value)
        return index
    return index


def _flag(options: Options, key: str) -> None:
    if key in ("quiet", "server", "spider"):
        setattr(options, key, True)  # -c and --no-check-certificate change nothing here


def _set(options: Options, key: str, value: str) -> None:
    if key == "output":
        options.output = value
    elif key == "timeout":
        number = seconds(value)
        if number is None:
            raise Usage()
        options.timeout = number
    elif key == "agent":
        options.agent = value
    elif key == "header":
        name, _, text = value.partition(":")
        options.headers.append((name.strip(), text.strip()))
    elif key == "post":
        options.post = value


async def wget(call: Call) -> int:
    try:
        options = parse(call.args)
    except Usage:
        await call.err(USAGE)
        return 1
    for text in options.urls:
        code = await _download(call, options, text)
        if code:
            return code
    return 0


async def _download(call: Call, options: Options, text: str) -> int:
    url = parse_url(text)
    if url is None:
        await call.err(f"wget: not an http or ftp url: {text}\n")
        return 1
    if url.scheme == "https":
        await call.err(
            "wget: https is not simulated: the embedded cluster's servers speak plain HTTP\n"
        )
        return 1
    output = options.output
    if output is None and not options.spider:
        output = url.target.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or "index.html"
    if output not in (None, "-", "/dev/null") and not options.spider:
        await call.err(f"wget: can't open '{output}': not simulated: the simulated containers "
                       "have no writable files; use -O- (stdout) or -O /dev/null\n")  # fmt: skip
        return 1
    response = await _fetch(call, options, url)
    if isinstance(response, int):
        return response
    return await _write(call, options, response, output)


async def _fetch(call: Call, options: Options, url: Url) -> Response | int:
    """Resolve, connect, ask, following redirects; an exit code when it fails."""
    for _ in range(16):
        found = resolve(call, url.host)
        if found.ip is None:
            await call.err(
                outside("wget", url.host)
                if found.outside
                else f"wget: bad address '{url.host}'\n"
            )
            return 1
        if not options.quiet:
            await call.err(f"Connecting to {url.authority} ({found.ip}:{url.port})\n")
        response = await _ask(call, options, url, found.ip)
        if isinstance(response, int):
            return response
        location = response.header("Location")
        if not (300 <= response.status <= 308 and location):
            return response
        redirected = _redirected(url, location)
        if redirected is None:
            await call.err(f"wget: not an http or ftp url: {location}\n")
            return 1
        url = redirected
    await call.err("wget: too many redirections\n")
    return 1


async def _ask(call: Call, options: Options, url: Url, ip: str) -> Response | int:
    dialed = await dial(call, ip, url.port, options.timeout)
    if dialed.conn is None:
        if dialed.failure == "interrupted":
            return 130
        if dialed.failure == "outside":
            await call.err(outside("wget", ip))
        elif dialed.failure == "deadline":
            await call.err("wget: download timed out\n")
        else:
            await call.err(
                f"wget: can't connect to remote host ({ip}): {STRERROR[dialed.failure]}\n"
            )
        return 1
    try:
        response = await exchange(dialed.conn, _request(options, url))
    except EmptyReply:
        await call.err("wget: error getting response\n")
        return 1
    if response.status == 0:
        await call.err("wget: error getting response\n")
        return 1
    if options.server:
        await call.err(
            f"  {response.status_line}\n"
            + "".join(f"  {k}: {v}\n" for k, v in response.headers)
        )
    if not (200 <= response.status <= 204 or 300 <= response.status <= 308):
        await call.err(f"wget: server returned error: {response.status_line}\n")
        return 1
    return response


def _request(options: Options, url: Url) -> Request:
    named = {k.lower() for k, _ in options.headers}
    headers = [] if "host" in named else [("Host", url.authority)]
    if "user-agent" not in named:
        headers.append(("User-Agent", options.agent))
    headers.append(("Connection", "close"))
    headers += options.headers
    body = (options.post or "").encode()
    if options.post is not None:
        if "content-type" not in named:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        headers.append(("Content-Length", str(len(body))))
    return Request(
        "POST" if options.post is not None else "GET",
        url.target,
        "HTTP/1.1",
        headers,
        body,
    )


def _redirected(url: Url, location: str) -> Url | None:
    if location.startswith("/"):
        return Url(url.scheme, url.host, url.port, location, url.explicit_port)
    return parse_url(location)


async def _write(
    call: Call, options: Options, response: Response, output: str | None
) -> int:
    if options.spider:
        if not options.quiet:
            await call.err("remote file exists\n")
        return 0
    stdout = output == "-"
    if not options.quiet:
        await call.err("writing to stdout\n" if stdout else f"saving to '{output}'\n")
    if stdout:
        await call.out(response.body.decode("utf-8", "replace"))
    if not options.quiet:
        name = "-" if stdout else str(output).rsplit("/", 1)[-1]
        await call.err(
            f"{name:<20.20}100% |{'*' * 32}| {len(response.body):>5}  0:00:00 ETA\n"
        )
        await call.err("written to stdout\n" if stdout else f"'{output}' saved\n")
    return 0
