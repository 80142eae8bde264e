"""Who owns a store: every embedded command on a store that a running `omne serve` holds says so and names the
server's URL (with the way through it); an owner file left by a killed server names no one."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from omne import MemoryCore
from omne.testing import HashEmbedder
from tests.support.server_proc import Server, free_port, running_server


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Server:
    store = tmp_path_factory.mktemp("owned") / "store"
    with running_server(store) as server:
        yield server


def store_of(server: Server):
    return server.log.parent / "store"


@pytest.mark.parametrize("command, advice", [
    (["serve", "--port", "1"], "already serves this store: connect to it"),
    (["inspect", "--port", "1"], "its inspector is at {url}/"),
    (["chat"], "chat through it: omne chat --server {url}"),
    (["memory", "add", "x", "--user", "u"], "--server {url}"),
])
def test_an_embedded_command_on_a_served_store_names_the_server(served, omne_cli, command, advice):
    result = omne_cli(*command, store=store_of(served), env={"OMNE_URL": "", "OPENAI_API_KEY": "sk-test"})
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"served by `omne serve` at {served.url}" in result.stderr, result.stderr
    assert advice.format(url=served.url) in result.stderr, result.stderr
    assert json.loads((store_of(served) / "server.json").read_text())["url"] == served.url  # still the owner's


async def test_an_owner_file_left_by_a_killed_server_names_no_one(tmp_path, omne_cli):
    store = tmp_path / "store"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    core = await MemoryCore.open(store, embedder=HashEmbedder())  # another process (this one) holds the store
    try:
        url = f"http://127.0.0.1:{free_port()}"
        (store / "server.json").write_text(json.dumps({"url": url, "pid": int(dead.stdout)}), encoding="utf-8")
        result = omne_cli("memory", "stats", store=store, env={"OMNE_URL": ""})
    finally:
        await core.close()
    assert result.returncode == 1 and "open in another process" in result.stderr
    assert url not in result.stderr and "served by" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "inspect"])
def test_serve_on_a_port_in_use_is_one_line_naming_the_fix(tmp_path, omne_cli, command):
    import socket

    from omne.sync import SyncMemoryCore

    with SyncMemoryCore(tmp_path / "store", embedder=HashEmbedder()):
        pass  # `omne inspect` opens an existing store only
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = omne_cli(command, "--port", str(port), store=tmp_path / "store", env={"OMNE_URL": ""})
    assert result.returncode == 1, result.stderr
    assert result.stderr == (f"omne: error: port {port} on 127.0.0.1 is already in use (another `omne serve`, or "
                             "another program); choose a free one with --port, or stop what holds it\n")
    assert not (tmp_path / "store" / "server.json").exists()


async def test_connections_the_server_accepts_send_small_writes_at_once():
    """uvicorn serves on the socket `_listen` binds; asyncio turns Nagle's algorithm off on an accepted connection
    only when that socket names TCP. With it on (a plain `socket(family, SOCK_STREAM)`), every response after a
    connection's first waited about 40 ms for the client's delayed ACK: HTTP search p50 64 ms instead of 15."""
    import asyncio
    import socket

    from omne.service.server import _listen

    listener = _listen("127.0.0.1", 0)
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
        assert await asyncio.wait_for(accepted, 10) != 0  # TCP_NODELAY on the server's side of the connection
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
