"""Mutation testing of the modules whose failure loses or leaks data, one module at a time (mutmut 3).

    bash benchmarks/mutation/run.sh                      # every module not marked `later`, one after another
    bash benchmarks/mutation/run.sh storage-index core   # some modules
    bash benchmarks/mutation/run.sh --list               # the modules, their code and their tests
    bash benchmarks/mutation/run.sh --survivors core     # after adding tests: re-test what survived

For each module the checkout's tracked files are copied to `$MUTATION_WORK/<module>` (default
/tmp/omne-mutation), the pyproject's `[tool.mutmut]` there is narrowed to that module's code
(`only_mutate`) and tests (`pytest_add_cli_args_test_selection`), and `mutmut run` runs with `--jobs`
workers (default one per CPU; pass `--jobs 1` on a shared machine). mutmut then runs, for each mutant, only
the selected tests that call the mutated function, fastest first (benchmarks/mutation/plugin.py), until one
fails; the tests' temporary folders are in memory (/dev/shm) where the machine has it. A module whose tests need PostgreSQL (`storage-follow`,
`postgres-store`, `postgres-db`, `postgres-jobs`, `core-follow`) gets one throwaway cluster for its whole run, which every forked pytest attaches
to (OMNE_TEST_POSTGRES_URL, tests/support/postgres.py); it is stopped however the run ends. The summary (score, every surviving mutant and its diff)
goes to `benchmarks/mutation/results/<module>.md`; benchmarks/RESULTS-mutation.md explains each survivor. Not part of CI (up to half an hour per module); run it
before a release-sized change to the listed modules.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # omne.testing and tests.support (the throwaway cluster) from this checkout
RESULTS = ROOT / "benchmarks" / "mutation" / "results"
# mutmut's verdicts that leave a mutant alive (the others: killed, timeout, segfault i.e. the test process died,
# not checked, check was interrupted by user)
NOT_KILLED = ("survived", "no tests", "suspicious", "skipped")
# the pytest plugin that runs each mutant's tests fastest first and removes its temporary folders
PLUGIN = "benchmarks.mutation.plugin"
SHM = Path("/dev/shm")


@dataclass(frozen=True)
class Module:
    """A unit of the mutation run: the code it mutates and the tests that guard it."""

    mutate: tuple[str, ...]  # only_mutate globs, relative to the repository root
    tests: tuple[str, ...]  # pytest arguments selecting the tests (files, -k expressions, --deselect ...)
    later: str = ""  # why it is not run by default yet (the module is being rewritten, or does not exist)
    skip: tuple[str, ...] = field(default=())  # do_not_mutate globs inside `mutate`
    postgres: bool = False  # its tests need PostgreSQL: the run starts one throwaway cluster they all attach to
    only: tuple[str, ...] = field(default=())  # mutant name globs it tests (default: all); `--only` replaces them


# Each module's tests are its fast in-process ones: a surviving mutant runs every selected test that calls the
# mutated function, so a slow test there costs its run time for each survivor. Tests are left out by what they do,
# through the markers tests/conftest.py sets (registered in pyproject.toml), never by name: `subprocess` (the CLI,
# second processes, crash trials: mutmut's stats cannot see a child process), `postgres` (the PostgreSQL run of a
# backend test: it cannot reach the SQLite code, and each mutant's forked pytest would start a cluster of its own),
# `served` (the same core code again behind HTTP: twice the time for nothing the module can break).
# (and one node id: the protocol check compares a class's public attributes, which mutmut's trampolines extend)
# `minilm` (a test on the MiniLM embedder) is left out where the mutated code is the record store's: see _STORE_TESTS.


def _selection(*without: str) -> tuple[str, ...]:
    """pytest arguments selecting every test but those with one of the markers `without` (and the protocol check)."""
    return ("-m", " and ".join(f"not {marker}" for marker in without),
            "--deselect", "tests/test_storage_protocols.py::test_each_backend_class_implements_exactly_its_protocol")


_IN_PROCESS = _selection("subprocess", "postgres", "served")
# The PostgreSQL modules (`postgres=True`) keep the `postgres` tests: the runner starts one throwaway cluster for
# the whole run and names it in OMNE_TEST_POSTGRES_URL, which tests/support/postgres.py attaches to (a schema per
# test, named with the pid) instead of starting a cluster in each mutant's forked pytest. `sqlite` (the SQLite run
# of a backend test, and the sqlite_only ones) is left out where it cannot reach the mutated code.
_WITH_POSTGRES = _selection("subprocess", "served")
_POSTGRES_ONLY = _selection("subprocess", "served", "sqlite")
# The SQLite record store and the SQL code under it are called by every store test: `insert`, `get_many`, the row
# codecs, `iter_all`, the counts, `edges`, `list`, the message chain's lookups, the scope SQL, the time codec, the
# database's `query` and `transaction`. Each equivalent or surviving mutant there runs every selected test that
# calls it; with the core's MiniLM tests in the selection that was a hundred tests, about a minute a mutant, and
# the first storage-log run stopped with 408 of 868 checked. So these modules take the storage-level tests (the
# record store through open_storage, and cores on the hashing embedder) and leave out every `minilm` test: the
# MiniLM core tests reach the store only through the same calls (their search quality is the index's and the
# core's, which have modules of their own).
_STORE_TESTS = (
    "tests/test_storage_protocols.py", "tests/test_regressions_log.py", "tests/test_regressions_mutation.py",
    "tests/test_core_records.py", "tests/test_core_verbs.py", "tests/test_default_read_path.py",
    "tests/test_storage_migration.py", "tests/test_regressions_vector_index.py",
    *_selection("subprocess", "postgres", "served", "minilm"),
)
_POSTGRES_STORE_TESTS = (
    "tests/test_postgres_store.py", "tests/test_regressions_log.py", "tests/test_storage_protocols.py",
    "tests/test_shared_log_index.py", "tests/test_storage_migration.py", "tests/test_core_records.py",
    "tests/test_core_isolation.py", "tests/test_graph.py", "tests/test_forgotten_reads.py", *_POSTGRES_ONLY)
MODULES: dict[str, Module] = {
    # omne/storage/, the SQLite half in three parts
    "storage-log": Module(mutate=("omne/storage/sqlite_store.py",), tests=_STORE_TESTS),
    "storage-sqlite": Module(mutate=(
        "omne/storage/sqlite_db.py", "omne/storage/sqlite_schema.py", "omne/storage/sqlite_storage.py",
        "omne/storage/versions.py", "omne/storage/message_chain.py", "omne/storage/id_rules.py",
        "omne/storage/sqlite_dump.py", "omne/storage/sql_keys.py", "omne/storage/sql_dialect.py",
        "omne/storage/dump_models.py",
        "omne/storage/space.py"), tests=("tests/test_service_auth.py", *_STORE_TESTS)),
    # the index is called by every store test too: on the hashing embedder only (`minilm` left out), as above
    "storage-index": Module(mutate=(
        "omne/storage/qdrant_edge_index.py", "omne/storage/index_payload.py", "omne/storage/context.py"),
        tests=("tests/test_regressions_vector_index.py", "tests/test_core_records.py",
               "tests/test_default_read_path.py", "tests/test_storage_auto_optimize.py",
               "tests/test_contextual_vectors.py",  # contextual vectors and the upgrade of an older index
               "tests/test_core_verbs.py", "tests/test_regressions_mutation.py", "tests/test_shared_log_index.py",
               *_selection("subprocess", "postgres", "served", "minilm"))),
    # the PostgreSQL half: the shared log's follower and the migration between backends (its SQLite-to-SQLite
    # refusals included, hence no `not sqlite`), then the record store, its schema, dump and vectors
    "storage-follow": Module(mutate=("omne/storage/log_follower.py", "omne/storage/migration.py"), tests=(
        "tests/test_shared_log_index.py", "tests/test_storage_migration.py", *_WITH_POSTGRES), postgres=True),
    # the record store in two parts (9 and 18 minutes at --jobs 2): postgres_store.py, then the database, schema,
    # storage, vectors and dump under it (one selection: every test of the PostgreSQL store reaches both)
    "postgres-store": Module(mutate=("omne/storage/postgres_store.py",), tests=_POSTGRES_STORE_TESTS, postgres=True),
    "postgres-db": Module(mutate=(
        "omne/storage/postgres_db.py", "omne/storage/postgres_schema.py", "omne/storage/postgres_storage.py",
        "omne/storage/postgres_vectors.py", "omne/storage/postgres_dump.py"), tests=_POSTGRES_STORE_TESTS,
        postgres=True),
    "postgres-jobs": Module(mutate=("omne/storage/postgres_jobs.py",), tests=(
        "tests/test_construction_jobs.py", "tests/test_storage_protocols.py", *_POSTGRES_ONLY), postgres=True),
    "core": Module(mutate=("omne/core.py", "omne/index_upkeep.py"), tests=(
        "tests/test_core_records.py", "tests/test_core_isolation.py", "tests/test_core_input.py",
        "tests/test_core_verbs.py", "tests/test_core_contracts.py", "tests/test_regressions_log.py",
        "tests/test_regressions_mutation.py", "tests/test_regressions_vector_index.py", "tests/test_default_read_path.py",
        "tests/test_storage_protocols.py",
        "tests/test_agents_blocks.py", "tests/test_agents_context.py", "tests/test_construction_worker.py",
        "tests/test_ingest_errors.py", "tests/test_forgotten_reads.py", "tests/test_storage_auto_optimize.py",
        "tests/test_qdrant_server_config.py", "tests/test_contextual_vectors.py",
        *_selection("subprocess", "postgres", "served", "minilm"))),
    # the core's paths that only a shared (PostgreSQL) log reaches: its index follows the log (`IndexUpkeep`'s
    # follower, the vector log handed on by `MemoryCore.__init__`, `index_written` after a supersede or an import).
    # `core` covers the rest of both files on SQLite; this module tests only these functions' mutants.
    "core-follow": Module(mutate=("omne/core.py", "omne/index_upkeep.py"), tests=(
        "tests/test_shared_log_index.py", "tests/test_shared_log_upkeep.py", "tests/test_core_records.py",
        "tests/test_core_isolation.py", "tests/test_regressions_log.py", "tests/test_forgotten_reads.py",
        "tests/test_default_read_path.py",
        "tests/test_storage_protocols.py", *_selection("subprocess", "served", "sqlite", "minilm")), postgres=True,
        only=(*(f"omne.index_upkeep.xǁIndexUpkeepǁ{name}__mutmut_*" for name in (
            "__init__", "open", "stop", "pending", "index_written", "reconcile", "_follow_log",
            "_follower_lost_points", "_catch_up")),
            *(f"omne.core.xǁMemoryCoreǁ{name}__mutmut_*" for name in ("__init__", "supersede", "import_jsonl")))),
    # the job queue: the SQLite store's half, its typed rows and the policy over them
    "jobs": Module(mutate=("omne/storage/sqlite_jobs.py", "omne/storage/job_models.py",
                           "omne/construction/jobs.py"), tests=(
        "tests/test_construction_jobs.py", "tests/test_storage_protocols.py", "tests/test_construction_worker.py",
        "tests/reliability/test_concurrency.py", "tests/test_regressions_mutation.py", *_IN_PROCESS)),
    "validation": Module(mutate=("omne/validation.py",), tests=(
        "tests/test_core_input.py", "tests/reliability/test_hostile_input.py", "tests/test_core_records.py",
        "tests/test_ingest_errors.py", "tests/test_regressions_mutation.py", *_IN_PROCESS)),
    "rendering": Module(mutate=("omne/agents/rendering.py",), tests=(
        "tests/test_rendering_format.py", "tests/test_prompt_injection.py", "tests/test_regressions_prompt_and_model.py",
        "tests/test_agents_blocks.py", "tests/test_agents_context.py", "tests/test_agents_tools.py", *_IN_PROCESS)),
    # the context's rules first (fast); the served variants of test_agents_context are left out by `served`
    "context": Module(mutate=("omne/agents/context.py",), tests=(
        "tests/test_context_rules.py", "tests/test_context_lifecycle.py", "tests/test_agents_context.py",
        "tests/test_prompt_injection.py", *_IN_PROCESS)),
    # the service's key checks: their unit tests first, then the in-process API and inspector tests. The MCP and
    # component tests reach auth only inside a server subprocess, which mutmut's stats cannot see (and the MCP
    # stdio tests fail under its captured stderr); `omne inspect` and `omne serve --host` run as processes too.
    "auth": Module(mutate=("omne/service/auth.py",), tests=(
        "tests/test_service_auth.py", "tests/test_service_api.py", "tests/test_inspector.py", *_IN_PROCESS)),
}


def _narrowed_pyproject(text: str, module: Module) -> str:
    """The pyproject with its [tool.mutmut] table narrowed to one module (values written as JSON, valid TOML)."""
    settings = tomllib.loads(text).get("tool", {}).get("mutmut")
    table = re.search(r"^\[tool\.mutmut\]\n(?:(?!^\[).*\n?)*", text, re.MULTILINE)
    if settings is None or table is None:
        sys.exit("pyproject.toml has no [tool.mutmut] table")
    settings |= {"only_mutate": list(module.mutate), "do_not_mutate": list(module.skip),
                 "pytest_add_cli_args_test_selection": list(module.tests),
                 "pytest_add_cli_args": [*settings.get("pytest_add_cli_args", []), "-p", PLUGIN]}
    lines = ["[tool.mutmut]", *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    return text[:table.start()] + "\n".join(lines) + "\n" + text[table.end():]


def _case_only(diff: str) -> bool:
    """Whether a mutant's diff changes only letter case outside single-quoted SQL literals: in SQL keywords and
    identifiers (case-insensitive in SQLite) or sqlite3.Row keys (looked up case-insensitively), an equivalent
    mutant; elsewhere (a message, a dict key) it is not, so each is still read by hand."""
    lines = diff.splitlines()
    old = "\n".join(line[1:] for line in lines if line.startswith("-") and not line.startswith("---"))
    new = "\n".join(line[1:] for line in lines if line.startswith("+") and not line.startswith("+++"))
    return (old != new and old.lower() == new.lower()
            and re.findall(r"'[^']*'", old) == re.findall(r"'[^']*'", new))


def _copy_checkout(work: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the checkout, copied into `work` (mutants/ kept)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _mutmut(work: Path, *args: str, log: Path | None = None, env: dict[str, str] | None = None) -> str:
    command = [str(Path(sys.executable).with_name("mutmut")), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    if log is None:
        return subprocess.run(command, cwd=work, env=env, check=True, capture_output=True, text=True).stdout
    with log.open("w") as out:  # a session of its own: stopping the run (Ctrl-C, SIGTERM) ends its forked mutants too
        run = subprocess.Popen(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = run.wait()
        finally:
            if run.returncode is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    if code:
        sys.exit(f"mutmut failed (exit {code}); see {log}")
    return log.read_text()


def _statuses(work: Path) -> dict[str, str]:
    """mutant name -> mutmut's verdict (killed, survived, no tests, timeout, ...)."""
    statuses: dict[str, str] = {}
    for line in _mutmut(work, "results", "--all", "true").splitlines():
        if ":" in line:
            key, status = line.strip().rsplit(":", 1)
            statuses[key] = status.strip()
    return statuses


def run_module(name: str, module: Module, work_root: Path, *, mode: str, jobs: int, only: list[str]) -> dict[str, int]:
    """mode: "fresh" (every mutant), "resume" (those without a verdict), "survivors" (re-test those not killed),
    "report" (only write the summary of the verdicts so far, e.g. after stopping a run);
    `only`: mutant name globs to test (e.g. 'omne.core.xǁMemoryCoreǁreconcile*'), the rest keep their verdict."""
    work = work_root / name
    if mode == "fresh" and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if mode != "report":
        _copy_checkout(work)
        (work / "pyproject.toml").write_text(_narrowed_pyproject((ROOT / "pyproject.toml").read_text(), module))
    again: list[str] = []
    if mode == "survivors":
        again = [k for k, s in _statuses(work).items() if s in NOT_KILLED]
    again += only or ([] if mode == "report" else list(module.only))
    started = time.monotonic()
    if mode != "report":
        with ExitStack() as stack:
            # the tests' tmp_path folders (each test's store) in memory where there is /dev/shm: on this VM's disk
            # the mutants' pytests spent half their time waiting for writes (48 mutants: 5.2 min on disk, 1.5 in memory)
            temp_root = Path(tempfile.mkdtemp(prefix=f"omne-mutation-{name}-", dir=SHM if SHM.is_dir() else None))
            stack.callback(shutil.rmtree, temp_root, ignore_errors=True)
            env: dict[str, str] = {"PYTEST_DEBUG_TEMPROOT": str(temp_root)}
            if module.postgres:  # one cluster for the run, stopped however the run ends (Ctrl-C, SIGTERM too)
                from omne.testing import throwaway_cluster
                from tests.support.postgres import ATTACH_VARIABLE

                env[ATTACH_VARIABLE] = stack.enter_context(throwaway_cluster(install=True)).url
            _mutmut(work, "run", "--max-children", str(jobs), *again, log=work / "run.log", env=env)
    minutes = (time.monotonic() - started) / 60
    statuses = _statuses(work)
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    survivors = sorted(k for k, s in statuses.items() if s in NOT_KILLED)
    RESULTS.mkdir(parents=True, exist_ok=True)
    killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("segfault", 0)
    checked = len(statuses) - counts.get("not checked", 0) - counts.get("check was interrupted by user", 0)
    report = [f"# Mutation run: {name}", "",
              f"- code: {', '.join(module.mutate)}" + (f" (not {', '.join(module.skip)})" if module.skip else ""),
              f"- tests: {' '.join(module.tests)}",
              f"- {len(statuses)} mutants; this run ({mode}{' ' + ' '.join(again) if mode == 'resume' and again else ''}"
              + (f", {len(again)} re-tested" if mode == "survivors" else "") + f") took {minutes:.1f} min: "
              + ", ".join(f"{count} {status}" for status, count in sorted(counts.items())),
              f"- killed (timeouts and segfaults count as killed): {killed} of {checked} checked", "", "## Not killed", ""]
    for key in survivors:
        diff = _mutmut(work, "show", key).strip()
        note = ", letter case only" if _case_only(diff) else ""
        report += [f"### {key} ({statuses[key]}{note})", "", "```diff", diff, "```", ""]
    timeouts = sorted(k for k, s in statuses.items() if s == "timeout")
    if timeouts:  # tests that ran past the limit may have been passing, only slowly: check these by hand
        report += ["## Timeouts (counted as killed; a slow survivor ends here too: check each)", "",
                   *(f"- {key}" for key in timeouts), ""]
    (RESULTS / f"{name}.md").write_text("\n".join(report) + "\n")
    print(f"{name}: {killed}/{checked} checked mutants killed ({len(statuses)} in all), {len(survivors)} not killed, {minutes:.1f} min "
          f"-> {RESULTS / f'{name}.md'}", flush=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules to run (default: all not marked later): {', '.join(MODULES)}")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    parser.add_argument("--resume", action="store_true", help="keep earlier verdicts; test only mutants without one")
    parser.add_argument("--survivors", action="store_true",
                        help="re-test only the mutants an earlier run did not kill (after adding tests)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="mutants run at once (default: one per CPU; 1 on a shared machine)")
    parser.add_argument("--report", action="store_true",
                        help="run nothing: write the summary of the verdicts so far (e.g. after stopping a run)")
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="test only mutants whose name matches (repeatable; mutmut names them module.function)")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("MUTATION_WORK", "/tmp/omne-mutation")))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: the run's PostgreSQL cluster is stopped
    if args.list:
        for name, module in MODULES.items():
            print(f"{name}: {' '.join(module.mutate)} <- {' '.join(module.tests)}"
                  + ("  [starts a PostgreSQL cluster]" if module.postgres else "")
                  + (f"  [later: {module.later}]" if module.later else "")
                  + (f"  [only {' '.join(module.only)}]" if module.only else ""))
        return
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        sys.exit(f"unknown module(s) {unknown}; choose from {list(MODULES)}")
    chosen = args.modules or [name for name, module in MODULES.items() if not module.later]
    for name in chosen:
        if not any(Path(ROOT).glob(pattern) for pattern in MODULES[name].mutate):
            print(f"{name}: skipped, no file matches {MODULES[name].mutate} ({MODULES[name].later})")
            continue
        mode = ("report" if args.report else "survivors" if args.survivors else "resume" if args.resume
                else "fresh")
        run_module(name, MODULES[name], args.work, mode=mode, jobs=args.jobs, only=args.only)


if __name__ == "__main__":
    main()
