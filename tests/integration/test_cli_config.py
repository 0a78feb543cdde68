"""validate, render, schema and the error boundary, through the entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dwconf import __version__
from tests.conftest import TEST_MAP
from tests.support import Result

SCHEMA = (Path(__file__).parents[1] / "unit/validate/cases/_schema.yaml").read_text()
MAP = TEST_MAP
WARNING_MAP = MAP + "  - {finops: LONGNAME, dataverse: tst_name, direction: to_dataverse}\n"
BROKEN_MAP = MAP.replace("version: 1.0.0.0", "version: 1.0").replace("tst_account}", "tst_acount}")

Repo = Callable[..., Path]
Cli = Callable[..., Result]


@pytest.fixture
def repo(make_repo: Repo) -> Path:
    return make_repo(
        {"solutions/base/schema/test.yaml": SCHEMA, "solutions/base/maps/customers.yaml": MAP}
    )


def test_validate_clean(repo: Path, dwconf: Cli) -> None:
    result = dwconf("validate", str(repo))
    assert result.exit_code == 0
    assert "0 error(s), 0 warning(s) (dev)" in result.out


def test_validate_reports_every_problem_at_once(make_repo: Repo, dwconf: Cli) -> None:
    repo = make_repo(
        {
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/customers.yaml": BROKEN_MAP,
            "environments/qa.yaml": "name: qa\nstage: qa\nprovdier: {type: local}\n",
        }
    )
    result = dwconf("validate", str(repo), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.out)
    assert report["errors"] == 2 and report["warnings"] == 0
    found = [(d["file"], d["line"], d["column"], d["code"]) for d in report["diagnostics"]]
    assert found == [  # both files, in one run, sorted by file
        ("environments/qa.yaml", 3, 1, "DW1101"),
        ("solutions/base/maps/customers.yaml", 2, 10, "DW1103"),
    ]
    for each in report["diagnostics"]:
        assert set(each) == {"code", "severity", "message", "file", "line", "column", "hint"}


def test_validate_all_rule_problems_together(make_repo: Repo, dwconf: Cli) -> None:
    bad = MAP.replace("tst_account}", "tst_acount}").replace("ACCOUNT,", "ACCOUNTT,")
    repo = make_repo(
        {"solutions/base/schema/test.yaml": SCHEMA, "solutions/base/maps/customers.yaml": bad}
    )
    result = dwconf("validate", str(repo))
    assert result.exit_code == 1
    lines = [line for line in result.out.splitlines() if " error " in line]
    assert [line.split()[0] for line in lines] == [
        "solutions/base/maps/customers.yaml:5:19:",  # key column no longer mapped
        "solutions/base/maps/customers.yaml:6:1:",  # required column no longer mapped
        "solutions/base/maps/customers.yaml:7:14:",  # unknown F&O field
        "solutions/base/maps/customers.yaml:7:35:",  # unknown Dataverse column
    ]
    assert "hint: did you mean 'ACCOUNT'?" in result.out


def test_warnings_pass_unless_strict(make_repo: Repo, dwconf: Cli) -> None:
    repo = make_repo(
        {
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/customers.yaml": WARNING_MAP,
        }
    )
    assert dwconf("validate", str(repo)).exit_code == 0
    assert dwconf("validate", str(repo), "--strict").exit_code == 1


def test_github_annotations(make_repo: Repo, dwconf: Cli) -> None:
    repo = make_repo(
        {
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/customers.yaml": BROKEN_MAP,
        }
    )
    out = dwconf("validate", str(repo), "--format", "github").out
    assert out.startswith(
        "::error file=solutions/base/maps/customers.yaml,line=2,col=10,title=DW1103::DW1103 "
    )


def test_unknown_environment(repo: Path, dwconf: Cli) -> None:
    result = dwconf("validate", str(repo), "--env", "qa")
    assert result.exit_code == 1
    assert "unknown environment 'qa'" in result.err and "known environments: dev" in result.err


def test_validating_an_environment_whose_file_has_errors_shows_them(
    make_repo: Repo, dwconf: Cli
) -> None:
    repo = make_repo({"environments/qa.yaml": "name: qa\nstage: qa\nprovider: {type: cloud}\n"})
    result = dwconf("validate", str(repo), "--env", "qa", "--format", "json")
    assert result.exit_code == 1
    found = [(d["file"], d["line"], d["code"]) for d in json.loads(result.out)["diagnostics"]]
    assert ("environments/qa.yaml", 3, "DW1104") in found
    assert "unknown environment" not in result.err


def test_render_yaml_and_json(repo: Path, dwconf: Cli) -> None:
    as_yaml = yaml.safe_load(dwconf("-C", str(repo), "render", "dev").out)
    as_json = json.loads(dwconf("-C", str(repo), "render", "dev", "--format", "json").out)
    assert as_yaml == as_json
    objects = as_json["objects"]
    assert list(objects) == sorted(objects)
    fields = objects["map.test-customers"]["definition"]["fields"]
    assert fields[1]["default"] == 3, "the template rendered to dev's integer var"
    assert objects["link.legal_entities"]["legal_entities"] == ["USMF"]
    assert objects["solution.tst_Base"]["pin"] == "workspace"


def test_render_refuses_an_invalid_configuration(make_repo: Repo, dwconf: Cli) -> None:
    repo = make_repo(
        {
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/customers.yaml": BROKEN_MAP,
        }
    )
    result = dwconf("-C", str(repo), "render", "dev")
    assert result.exit_code == 1
    assert "customers.yaml:2:10: error DW1103" in result.err


def test_schema_out(tmp_path: Path, dwconf: Cli) -> None:
    result = dwconf("schema", "--out", str(tmp_path / "schemas"))
    assert result.exit_code == 0
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == [
        "dwconf.schema.json",
        "environment.schema.json",
        "map.schema.json",
        "solution.schema.json",
    ]
    schema = json.loads((tmp_path / "schemas/map.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert "fields" in schema["required"]
    environment = json.loads((tmp_path / "schemas/environment.schema.json").read_text())
    defs = environment["$defs"]
    assert "gateway_auth" in defs["Provider"]["properties"]
    assert defs["GatewayMethod"]["enum"] == [
        "user",
        "refresh_token",
        "username_password",
        "token",
        "app_only",
    ]


def test_version_and_help(dwconf: Cli) -> None:
    assert dwconf("--version").out.strip() == f"dwconf, version {__version__}"
    for args in (["--help"], ["validate", "--help"], ["render", "--help"], ["schema", "--help"]):
        result = dwconf(*args)
        assert result.exit_code == 0 and "Usage:" in result.out


def test_unknown_option_is_a_usage_error(dwconf: Cli) -> None:
    result = dwconf("validate", "--frmat", "json")
    assert result.exit_code in {1, 2}
    assert "No such option" in result.err


def test_missing_directory(dwconf: Cli, tmp_path: Path) -> None:
    result = dwconf("-C", str(tmp_path / "nope"), "render", "dev")
    assert result.exit_code == 1 and "no such directory" in result.err


def test_internal_errors_write_a_log_and_exit_3(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dwconf.cli.config_cmds as commands

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(commands, "validate", boom)
    result = dwconf("validate", str(repo))
    assert result.exit_code == 3
    assert "internal error: RuntimeError" in result.err
    assert "Traceback" not in result.err
    log = Path(result.err.split("details are in ")[1].split()[0])
    assert "RuntimeError: unexpected" in log.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "dev", "--out", "{blocked}/dev.dwplan"),
        ("graph", "dev", "--out", "{blocked}/maps.mmd"),
        ("docs", "--offline", "--out", "{blocked}/site"),
    ],
    ids=lambda a: a[0],
)
def test_an_output_path_that_cannot_be_written_is_a_user_error(
    args: tuple[str, ...], repo: Path, tmp_path: Path, dwconf: Cli
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder\n")
    result = dwconf("-C", str(repo), *(a.format(blocked=blocked) for a in args))
    assert result.exit_code == 1, result.err
    assert str(blocked) in result.err.splitlines()[-2] and "internal error" not in result.err


def test_graph_out_makes_its_folder_as_plan_out_does(
    repo: Path, tmp_path: Path, dwconf: Cli
) -> None:
    out = tmp_path / "new" / "maps.mmd"
    result = dwconf("-C", str(repo), "graph", "dev", "--out", str(out))
    assert result.exit_code == 0, result.err
    assert out.read_text().startswith("flowchart LR")


def test_python_dash_m_and_console_script(repo: Path) -> None:
    for command in (
        [sys.executable, "-m", "dwconf"],
        [str(Path(sys.executable).parent / "dwconf")],
    ):
        done = subprocess.run(
            [*command, "validate", str(repo)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "0 error(s)" in done.stdout


OUTSIDE = [
    ["plan", "dev"],
    ["apply", "dev", "--auto-approve"],
    ["drift", "dev"],
    ["history", "dev"],
    ["rollback", "dev"],
    ["lock", "status", "dev"],
    ["env", "show", "dev"],
    ["env", "reset", "dev", "--yes"],
    ["env", "list"],
    ["render", "dev"],
    ["validate"],
    ["graph"],
    ["graph", "dev"],
    ["docs"],
    ["compare", "dev", "test"],
    ["doctor", "dev"],
    ["import", "dev"],
    ["bootstrap", "dev"],
    ["login", "dev"],
    ["logout", "dev"],
]


@pytest.mark.parametrize("args", OUTSIDE, ids=" ".join)
def test_a_command_outside_a_configuration_says_so_and_how_to_start_one(
    args: list[str], dwconf: Callable[..., Result], tmp_path: Path
) -> None:
    empty = tmp_path / "not-a-config"
    empty.mkdir()
    result = dwconf("-C", str(empty), *args)
    assert result.exit_code == 1
    assert (
        f"not a dwconf configuration (no dwconf.yaml, environments/ or solutions/ found in {empty})"
        in result.err
    ), result.err
    assert "dwconf init" in result.err and "-C DIR" in result.err
    assert "unknown environment" not in result.err
    assert list(empty.iterdir()) == [], "nothing is written"


@pytest.mark.parametrize("name", ["DWCONF_SPEEDUPS", "DWCONF_CACHE"])
def test_a_speed_switch_set_to_neither_on_nor_off_is_refused(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "of")  # meant off: running with speed-ups on would hide it
    result = dwconf("-C", str(repo), "validate")
    assert result.exit_code == 1 and result.out == ""
    assert f"{name} is 'of': it takes on or off." in result.err
    assert f"Set {name}=off" in result.err
    assert dwconf("--version").exit_code == 0  # help and the version are still answered
    assert dwconf("validate", "--help").exit_code == 0
    for accepted in ("OFF", " off ", "on", "1", ""):
        monkeypatch.setenv(name, accepted)
        assert dwconf("-C", str(repo), "validate").exit_code == 0, accepted
