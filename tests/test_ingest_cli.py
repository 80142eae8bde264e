"""`omne memory ingest`: good files are stored, a bad one gets one error line naming it; `omne memory search`
shows where a document hit comes from."""

from __future__ import annotations

import json

from tests.ingest_samples import write_samples


def test_ingest_command_stores_good_files_and_names_the_bad_one(omne_cli, tmp_path):
    files = write_samples(tmp_path / "files")
    broken = tmp_path / "files" / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 nothing valid here")
    args = ["memory", "ingest", str(files["md"]), str(broken), str(files["xlsx"]), "--user", "u1"]
    first = omne_cli(*args, "--json")
    assert first.returncode == 1
    assert first.stderr.strip().splitlines() == [f"omne: error: {broken}: corrupt PDF (No /Root object! - "
                                                 "Is this really a PDF?)"]
    results = json.loads(first.stdout)
    assert [(r["file"], r["status"]) for r in results] == [("notes.md", "added"), ("inventory.xlsx", "added")]
    assert 'inventory.xlsx, sheet "Tools", rows 2-4' in [rec["location"] for rec in results[1]["records"]]

    found = omne_cli("memory", "search", "spirit level shelf", "--user", "u1", "--kind", "document", "-k", "1")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0].startswith("  1. ") and "document" in lines[0]
    assert lines[-1] == '     location: inventory.xlsx, sheet "Tools", rows 2-4'  # after the hit's (table) text
    as_json = json.loads(omne_cli("memory", "search", "spirit level shelf", "--user", "u1", "-k", "1", "--json").stdout)
    assert as_json[0]["location"] == 'inventory.xlsx, sheet "Tools", rows 2-4'
