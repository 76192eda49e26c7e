"""`curl` (7.88, Debian's), against the simulated cluster network.

Options: `-s`, `-S`, `-v`, `-i`, `-I`, `-f`, `-L`, `-o /dev/null`, `-w FORMAT`
(`%{http_code}`, `%{remote_ip}`, `%{remote_port}`, `%{size_download}`,
`%{content_type}`, `%{url_effective}`, `%{time_total}`), `-X METHOD`, `-d DATA`,
`-H 'K: V'` (`-H 'K:'` removes a default header), `-A AGENT`, `-m SEC`,
`--connect-timeout SEC`, `-k`, and short flags together (`-fsSL`, `-sw '%{http_code}'`).
The request carries `Host`, `User-Agent: curl/7.88.1` and `Accept: */*`; without `-s`
and with stdout not a terminal curl writes its progress meter on stderr.  Errors are
curl's, with its exit codes: `curl: (6) Could not resolve host: nope`, `curl: (7)
Failed to connect to web port 80 after 0 ms: Couldn't connect to server`, `(28)` for
timeouts, `curl: (52) Empty reply from server`, `curl: (1) Received HTTP/0.9 when not
allowed`, `curl: (22) The requested URL returned error: 404` with `-f`.

Simplified: the meter shows one final line; writing to files other than `/dev/null`,
`https://`, cookies, proxies and HTTP/2 are not simulated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kubecourse.embedded.network.http import Request, Response
from kubecourse.embedded.network.wire import EmptyReply, exchange
from kubecourse.embedded.shell.nettools import (
    OUTSIDE,
    Url,
    dial,
    parse_url,
    resolve,
    seconds,
)
from kubecourse.embedded.shell.programs import Call

VERSION = "7.88.1"
_FLAGS = {"s": "silent", "S": "show_error", "v": "verbose", "i": "include", "I": "head",
          "f": "fail", "L": "location", "k": "", "4": "", "6": "", "N": "", "g": ""}  # fmt: skip
_VALUES = {"o": "output", "w": "write_out", "X": "method", "d": "data", "H": "header",
           "A": "agent", "m": "max_time", "u": "user", "e": "referer", "O": "remote_name"}  # fmt: skip
_LONG = {"silent": "s", "show-error": "S", "verbose": "v", "include": "i", "head": "I",
         "fail": "f", "location": "L", "insecure": "k", "output": "o", "write-out": "w",
         "request": "X", "data": "d", "data-raw": "d", "data-binary": "d", "header": "H",
         "user-agent": "A", "max-time": "m", "user": "u", "referer": "e", "ipv4": "4",
         "http1.1": "N", "remote-name": "O"}  # fmt: skip


class CurlError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Options:
    urls: list[str] = field(default_factory=list)
    silent: bool = False
    show_error: bool = False
    verbose: bool = False
    include: bool = False
    head: bool = False
    fail: bool = False
    location: bool = False
    output: str | None = None
    write_out: str = ""
    method: str | None = None
    data: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    agent: str = f"curl/{VERSION}"
    max_time: float | None = None
    connect_timeout: float | None = None


def parse(args: list[str]) -> Options:
    options, index = Options(), 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--") and len(arg) > 2:
            index = _long(options, args, index)
        elif arg.startswith("-") and len(arg) > 1:
            index = _short(options, args, index)
        else:
            options.urls.append(arg)
        index += 1
    if not options.urls:
        raise CurlError(2, "no URL specified")
    return options


def _long(options: Options, args: list[str], index: int) -> int:
    name, eq, inline = args[index][2:].partition("=")
    if name == "connect-timeout":
        value = inline if eq else _next(args, index, name)
        options.connect_timeout = _seconds(value, name)
        return index if eq else index + 1
    if name in ("retry", "retry-delay", "retry-max-time"):
        return index if eq else index + 1
    letter = _LONG.get(name)
    if letter is None:
        raise CurlError(2, f"option --{name}: is unknown")
    if letter in _VALUES:
        value = inline if eq else _next(args, index, name)
        _value(options, letter, value)
        return index if eq else index + 1
    _flag(options, letter)
    return index


def _short(options: Options, args: list[str], index: int) -> int:
    arg = args[index]
    for position, letter in enumerate(arg[1:], start=1):
        if letter in _FLAGS:
            _flag(options, letter)
        elif letter in _VALUES:
            value = arg[position + 1 :] or _next(args, index, letter)
            _value(options, letter, value)
            return index if arg[position + 1 :] else index + 1
        else:
            raise CurlError(2, f"option -{letter}: is unknown")
    return index


def _next(args: list[str], index: int, name: str) -> str:
    if index + 1 >= len(args):
        raise CurlError(
            2, f"option {'-' if len(name) == 1 else '--'}{name}: requires parameter"
        )
    return args[index + 1]


def _flag(options: Options, letter: str) -> None:
    if _FLAGS.get(letter):
        setattr(options, _FLAGS[letter], True)


def _value(options: Options, letter: str, value: str) -> None:
    key = _VALUES[letter]
    if key == "header":
        name, _, text = value.partition(":")
        options.headers.append((name.strip(), text.strip()))
    elif key == "max_time":
        options.max_time = _seconds(value, "max-time")
    elif key in ("output", "write_out", "method", "data", "agent"):
        setattr(options, key, value)
    elif key == "remote_name":
        options.output = "remote"


def _seconds(value: str, name: str) -> float:
    number = seconds(value)
    if number is None:
        raise CurlError(2, f"option --{name}: expected a proper numerical parameter")
    return number


async def curl(call: Call) -> int:
    try:
        options = parse(call.args)
    except CurlError as err:
        await call.err(
            f"curl: {err.message}\ncurl: try 'curl --help' or 'curl --manual' for more information\n"
        )
        return err.code
    if options.output not in (None, "/dev/null", "-"):
        await call.err("curl: (23) writing to files is not simulated: the simulated containers "
                       "have no writable files; use -o /dev/null or stdout\n")  # fmt: skip
        return 23
    for text in options.urls:
        try:
            await _transfer(call, options, text)
        except CurlError as err:
            if err.code != 130 and (not options.silent or options.show_error):
                await call.err(f"curl: ({err.code}) {err.message}\n")
            return err.code
    return 0


async def _transfer(call: Call, options: Options, text: str) -> None:
    url = parse_url(text)
    if url is None:
        raise CurlError(3, "URL using bad/illegal format or missing URL")
    if url.scheme == "https":
        raise CurlError(
            35,
            "https is not simulated: the embedded cluster's servers speak plain HTTP",
        )
    for _ in range(50):
        response, ip = await _once(call, options, url)
        location = response.header("Location")
        if not (options.location and 300 <= response.status < 400 and location):
            await _emit(call, options, url, response, ip)
            return
        await _emit(call, options, url, response, ip, final=False)
        url = (
            parse_url(location)
            if "://" in location
            else Url(url.scheme, url.host, url.port, location, url.explicit_port)
        )
        if url is None:
            raise CurlError(3, f"URL rejected: {location}")
    raise CurlError(47, "Maximum (50) redirects followed")


async def _once(call: Call, options: Options, url: Url) -> tuple[Response, str]:
    found = resolve(call, url.host)
    if found.ip is None:
        detail = f": {OUTSIDE}" if found.outside else ""
        raise CurlError(6, f"Could not resolve host: {url.host}{detail}")
    if options.verbose:
        await call.err(f"*   Trying {found.ip}:{url.port}...\n")
    timeout = min(
        t for t in (options.connect_timeout, options.max_time, 300.0) if t is not None
    )
    dialed = await dial(call, found.ip, url.port, timeout)
    if dialed.conn is None:
        raise _connect_error(options, url, found.ip, dialed.failure, dialed.waited)
    request = _request(options, url)
    if options.verbose:
        await call.err(f"* Connected to {url.host} ({found.ip}) port {url.port} (#0)\n")
        await call.err(f"> {request.method} {request.target} HTTP/1.1\r\n"
                       + "".join(f"> {k}: {v}\r\n" for k, v in request.headers) + "> \r\n")  # fmt: skip
    try:
        response = await exchange(dialed.conn, request)
    except EmptyReply as err:
        raise CurlError(52, "Empty reply from server") from err
    if response.status == 0:
        raise CurlError(1, "Received HTTP/0.9 when not allowed")
    return response, found.ip


def _connect_error(
    options: Options, url: Url, ip: str, failure: str, waited: float
) -> CurlError:
    if failure == "interrupted":
        return CurlError(130, "")
    if failure == "outside":
        return CurlError(
            7, f"Failed to connect to {url.host} port {url.port}: {OUTSIDE}"
        )
    ms = int(waited * 1000)
    if failure == "deadline":
        if (
            options.connect_timeout is None
            or (options.max_time or 1e9) < options.connect_timeout
        ):
            return CurlError(28, f"Connection timed out after {ms + 1} milliseconds")
        return CurlError(
            28,
            f"Failed to connect to {url.host} port {url.port} after {ms + 1} ms: Timeout was reached",
        )
    code = 28 if failure == "timeout" else 7
    return CurlError(
        code,
        f"Failed to connect to {url.host} port {url.port} after {ms} ms: Couldn't connect to server",
    )


def _request(options: Options, url: Url) -> Request:
    defaults = [
        ("Host", url.authority),
        ("User-Agent", options.agent),
        ("Accept", "*/*"),
    ]
    given = {k.lower(): (k, v) for k, v in options.headers}
    headers = [given.pop(k.lower(), (k, v)) for k, v in defaults]
    headers += list(given.values())
    body = (options.data or "").encode()
    method = options.method or (
        "HEAD" if options.head else "POST" if options.data is not None else "GET"
    )
    if options.data is not None:
        if "content-type" not in {k.lower() for k, _ in headers}:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        headers.append(("Content-Length", str(len(body))))
    return Request(
        method, url.target, "HTTP/1.1", [(k, v) for k, v in headers if v], body
    )


async def _emit(
    call: Call,
    options: Options,
    url: Url,
    response: Response,
    ip: str,
    final: bool = True,
) -> None:
    """Write one response as curl does; `final`: the last of a redirect chain."""
    head = f"{response.status_line}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in response.headers
    )
    head += "\r\n"
    if options.verbose:
        await call.err(
            "".join(f"< {line}\n" for line in head.rstrip("\r\n").split("\r\n"))
            + "< \n"
        )
    if options.fail and response.status >= 400:
        raise CurlError(22, f"The requested URL returned error: {response.status}")
    shown = options.include or options.head
    if not final:
        if shown and options.output != "/dev/null":
            await call.out(head)
        return
    if not options.silent and not options.verbose and not call.term.tty:
        await call.err(_meter(len(response.body)))
    if options.output != "/dev/null":
        body = "" if options.head else response.body.decode("utf-8", "replace")
        await call.out((head if shown else "") + body)
    await _finish(call, options, url, response, ip)


async def _finish(
    call: Call, options: Options, url: Url, response: Response, ip: str
) -> None:
    if options.verbose:
        closing = (response.header("Connection") or "").lower() == "close"
        kept = f"* Connection #0 to host {url.host} left intact\n"
        await call.err("* Closing connection 0\n" if closing else kept)
    if options.write_out:
        await call.out(_write_out(options.write_out, url, response, ip))


def _meter(size: int) -> str:
    """curl's progress meter, as it ends for a small transfer."""
    amount = _max5(size)
    return ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
            "                                 Dload  Upload   Total   Spent    Left  Speed\n"
            f"100 {amount}  100 {amount}    0     0  {_max5(size * 500)}      0 --:--:-- --:--:-- --:--:-- "
            f"{_max5(size * 1000)}\n")  # fmt: skip


def _max5(value: int) -> str:
    for suffix, scale in (("", 1), ("k", 1024), ("M", 1024**2), ("G", 1024**3)):
        if value < 100000 * scale:
            return (
                f"{value // scale:>5}" if not suffix else f"{value // scale:>4}{suffix}"
            )
    return f"{value // 1024**4:>4}T"


def _write_out(fmt: str, url: Url, response: Response, ip: str) -> str:
    values = {
        "http_code": f"{response.status:03d}", "response_code": str(response.status),
        "remote_ip": ip, "remote_port": str(url.port), "size_download": str(len(response.body)),
        "content_type": response.header("Content-Type") or "",
        "url_effective": f"{url.scheme}://{url.authority}{url.target}", "time_total": "0.001000",
    }  # fmt: skip
    text = re.sub(r"%\{([a-z_]+)\}", lambda m: values.get(m.group(1), ""), fmt)
    return text.replace("\\n", "\n").replace("\\t", "\t").replace("\\r", "\r")
