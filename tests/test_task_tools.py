"""Task tools: the file reader on every supported type, sandboxed code, web fetch/search on loopback, logic expert."""

from __future__ import annotations

import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from autogen_core import CancellationToken
from autogen_core.tools import BaseTool

from assistants.tools import (CodeExecutionTool, FetchPageTool, FileReaderTool, LogicExpertTool, SearxngProvider,
                              WebSearchTool)
from omne.errors import InvalidInputError, NotFoundError
from tests.support.office_files import write_docx, write_pdf, write_pptx, write_xlsx
from omne.testing import prompts_sent, replay

TOKEN = CancellationToken()


@pytest.fixture
def files(tmp_path):
    made = {
        "txt": tmp_path / "notes.txt", "json": tmp_path / "data.json", "csv": tmp_path / "table.csv",
        "html": tmp_path / "page.html", "docx": tmp_path / "letter.docx", "pdf": tmp_path / "report.pdf",
        "xlsx": tmp_path / "sheet.xlsx", "pptx": tmp_path / "deck.pptx", "zip": tmp_path / "bundle.zip",
    }
    made["txt"].write_text("The harbour opens at dawn.\n", encoding="utf-8")
    made["json"].write_text(json.dumps({"vessel": "Aurora", "crew": 12}), encoding="utf-8")
    made["csv"].write_text("city,population\nLisbon,545000\nPorto,232000\n", encoding="utf-8")
    made["html"].write_text("<html><head><title>T</title></head><body><h1>Tide tables</h1>"
                            "<p>High tide at <b>14:05</b>.</p><script>var x=1;</script></body></html>", encoding="utf-8")
    write_docx(made["docx"], ["Dear crew,", "We sail on Tuesday."])
    write_pdf(made["pdf"], "Quarterly tonnage: 4812")
    write_xlsx(made["xlsx"], [["port", "ships"], ["Lisbon", 31], ["Porto", 17]])
    write_pptx(made["pptx"], "Fleet review", "Three new trawlers")
    with zipfile.ZipFile(made["zip"], "w") as z:
        z.write(made["csv"], "inner/table.csv")
        z.write(made["docx"], "letter.docx")
        z.writestr("readme.txt", "Bundle of harbour files")
    return made


async def read(tool: BaseTool, **args) -> str:
    return tool.return_value_as_string(await tool.run_json(args, TOKEN))


async def test_file_reader_returns_the_content_of_each_type(files):
    reader = FileReaderTool()
    expected = {
        "txt": ["The harbour opens at dawn."], "json": ['"vessel": "Aurora"', '"crew": 12'],
        "csv": ["city,population\nLisbon,545000\n"], "html": ["<h1>Tide tables</h1><p>High tide at <b>14:05</b>."],
        "docx": ["Dear crew,", "We sail on Tuesday."], "pdf": ["Quarterly tonnage: 4812"],
        "xlsx": ["## Data", "| Lisbon | 31 |", "| Porto | 17 |"], "pptx": ["Fleet review", "Three new trawlers"],
        "zip": ["## inner/table.csv", "Porto,232000", "## letter.docx", "We sail on Tuesday.",
                "## readme.txt", "Bundle of harbour files", "3 files"],
    }
    for kind, path in files.items():
        text = await read(reader, path=str(path))
        for fragment in expected[kind]:
            assert fragment in text, f"{kind}: {fragment!r} missing from {text!r}"
    for kind in ("txt", "json", "csv", "html"):  # text files come back as written
        assert await read(reader, path=str(files[kind])) == files[kind].read_text(encoding="utf-8")


async def test_file_reader_root_limits_and_truncation(files, tmp_path):
    reader = FileReaderTool(root=tmp_path, max_chars=100)
    assert "Lisbon" in await read(reader, path="table.csv")
    with pytest.raises(InvalidInputError, match="outside the readable folder"):
        await read(reader, path="/etc/hostname")
    with pytest.raises(NotFoundError):
        await read(reader, path="missing.pdf")
    (tmp_path / "long.txt").write_text("x" * 500)
    assert (await read(reader, path="long.txt")).endswith(
        "[characters 0-100 of 500; 400 more: call read_file(path=" + repr(str(tmp_path / "long.txt"))
        + ", start=100) for the next part, or find_in_file to locate a string]")


async def test_code_tool_runs_in_a_temp_folder_with_a_time_limit(tmp_path):
    tool = CodeExecutionTool(timeout_s=2)
    try:
        out = await read(tool, code="import os\nopen('seen.txt','w').write('1')\nprint(6 * 7, os.getcwd())")
        assert out.startswith("exit code 0") and "42" in out and tool.work_dir in out
        assert "True" in await read(tool, code="import os\nprint(os.path.exists('seen.txt'))")  # folder persists
        failed = await read(tool, code="raise SystemExit(3)")
        assert failed.startswith("exit code 3")
        slow = await read(tool, code="import time\ntime.sleep(10)")
        assert slow.startswith("exit code 124 (timed out after 2 s)")
    finally:
        work_dir = tool.work_dir
        tool.close()
    assert not (tmp_path / work_dir).exists()


class _Site(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        if url.path == "/search":
            query = parse_qs(url.query)["q"][0]
            body = json.dumps({"results": [
                {"title": "Tide tables", "url": f"http://{self.headers['Host']}/tides", "content": f"about {query}"},
                {"title": "No url"}]}).encode()
            self._send(200, "application/json", body)
        elif url.path == "/tides":
            self._send(200, "text/html; charset=utf-8",
                       b"<html><body><h2>Lisbon tides</h2><p>High tide at 14:05.</p></body></html>")
        elif url.path == "/old":
            self.send_response(301)
            self.send_header("Location", "/tides")
            self.end_headers()
        else:
            self._send(404, "text/plain", b"not here")

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_web_search_and_fetch_against_a_loopback_site(site):
    search = WebSearchTool(SearxngProvider(site))
    results = await read(search, query="lisbon tides", k=5)
    assert results == f"1. Tide tables\n   {site}/tides\n   about lisbon tides"
    fetch = FetchPageTool()
    page = await read(fetch, url=f"{site}/old")
    assert page.startswith(f"URL: {site}/tides") and "## Lisbon tides" in page and "High tide at 14:05." in page
    with pytest.raises(Exception, match="404"):
        await read(fetch, url=f"{site}/missing")
    with pytest.raises(InvalidInputError, match="http"):
        await read(fetch, url="file:///etc/passwd")


async def test_logic_expert_asks_its_own_model():
    reasoning = replay("17 is prime because no integer in 2..4 divides it.\nRESULT: yes")
    tool = LogicExpertTool(client=reasoning)
    assert (await read(tool, problem="Is 17 prime?")).endswith("RESULT: yes")
    assert "Is 17 prime?" in prompts_sent(reasoning)[0]
    with pytest.raises(InvalidInputError, match="reasoning model"):
        LogicExpertTool()


def test_tools_round_trip_through_component_config(tmp_path):
    for tool in (FileReaderTool(tmp_path, max_chars=500), CodeExecutionTool(timeout_s=5), FetchPageTool(),
                 LogicExpertTool(client=replay("x"))):
        loaded = BaseTool.load_component(tool.dump_component())
        assert type(loaded) is type(tool) and loaded.name == tool.name
        assert loaded.dump_component() == tool.dump_component()
