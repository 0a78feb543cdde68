"""The Azure DevOps pipelines parse and reference only tasks, inputs and variables that exist.

Tasks and their inputs (names and aliases) are those of the tasks' definitions in Microsoft's
azure-pipelines-tasks repository: Tasks/UsePythonVersionV0/task.json,
Tasks/AzureCLIV2/task.json (2.265), Tasks/PublishPipelineArtifactV1/task.json (1.226) and
Tasks/DownloadPipelineArtifactV2/task.json (2.1). Predefined variables are those of Azure
Pipelines' "Use predefined variables" reference; each is also given to scripts as an
environment variable (upper case, dots become underscores).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PIPELINES = sorted((ROOT / "azure-pipelines").glob("*.yml"))

TASKS: dict[str, set[str]] = {
    "UsePythonVersion@0": {
        "versionSpec",
        "addToPath",
        "architecture",
        "disableDownloadFromRegistry",
        "allowUnstable",
        "githubToken",
    },
    "AzureCLI@2": {
        "connectedServiceNameARM",
        "azureSubscription",
        "scriptType",
        "scriptLocation",
        "scriptPath",
        "inlineScript",
        "scriptArguments",
        "arguments",
        "powerShellErrorActionPreference",
        "addSpnToEnvironment",
        "useGlobalConfig",
        "cwd",
        "workingDirectory",
        "failOnStandardError",
        "powerShellIgnoreLASTEXITCODE",
        "visibleAzLogin",
        "allowNoSubscriptions",
        "keepAzSessionActive",
    },
    "PublishPipelineArtifact@1": {
        "path",
        "targetPath",
        "artifactName",
        "artifact",
        "artifactType",
        "publishLocation",
        "fileSharePath",
        "parallel",
        "parallelCount",
        "properties",
    },
    "DownloadPipelineArtifact@2": {
        "source",
        "buildType",
        "project",
        "pipeline",
        "definition",
        "preferTriggeringPipeline",
        "specificBuildWithTriggering",
        "runVersion",
        "buildVersionToDownload",
        "runBranch",
        "branchName",
        "runId",
        "pipelineId",
        "buildId",
        "tags",
        "allowPartiallySucceededBuilds",
        "allowFailedBuilds",
        "artifact",
        "artifactName",
        "patterns",
        "itemPattern",
        "path",
        "targetPath",
        "downloadPath",
    },
}

PREDEFINED = {
    "Agent.TempDirectory",
    "Build.Reason",
    "Build.Repository.ID",
    "Build.SourcesDirectory",
    "Pipeline.Workspace",
    "System.AccessToken",
    "System.CollectionUri",
    "System.DefaultWorkingDirectory",
    "System.PullRequest.PullRequestId",
    "System.PullRequest.TargetBranch",
    "System.TeamProjectId",
}

MACRO = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.]*)\)")
RUNTIME = re.compile(r"variables\[\s*'([^']+)'\s*\]")
SHELL_VAR = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
SET_VARIABLE = re.compile(r"task\.setvariable variable=([A-Za-z_][A-Za-z0-9_.]*)(;isOutput=true)?")
OUTPUT_REF = re.compile(r"\.outputs\['([\w.]+)'\]")


def walk(node: Any) -> Iterator[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        yield from walk(child)


def strings(node: Any) -> Iterator[str]:
    for item in walk(node):
        if isinstance(item, str):
            yield item
        if isinstance(item, dict):
            yield from (k for k in item if isinstance(k, str))


def defined_variables(doc: Any) -> set[str]:
    names: set[str] = set()
    for item in walk(doc):
        if not isinstance(item, dict):
            continue
        block = item.get("variables")
        if isinstance(block, dict):
            names |= set(block)
        elif isinstance(block, list):
            names |= {v["name"] for v in block if isinstance(v, dict) and "name" in v}
        names |= set(item.get("env") or {})
    for text in strings(doc):
        names |= {m.group(1) for m in SET_VARIABLE.finditer(text)}
    names.add("ENV_NAME")  # the matrix rows: {"ENV_NAME": <name>} (made in the pipeline)
    return names


def env_form(name: str) -> str:
    return name.upper().replace(".", "_")


@pytest.fixture(params=PIPELINES, ids=lambda p: p.name)
def pipeline(request: pytest.FixtureRequest) -> Any:
    return yaml.safe_load(request.param.read_text())


def test_the_three_pipelines_exist() -> None:
    assert [p.name for p in PIPELINES] == ["deploy.yml", "drift.yml", "pull-request.yml"]


def test_tasks_and_their_inputs_exist(pipeline: Any) -> None:
    steps = [n for n in walk(pipeline) if isinstance(n, dict) and "task" in n]
    assert steps, "every pipeline runs tasks"
    for step in steps:
        assert step["task"] in TASKS, f"unknown task {step['task']}"
        unknown = set(step.get("inputs") or {}) - TASKS[step["task"]]
        assert not unknown, f"{step['task']} has no input {sorted(unknown)}"


def test_variables_referenced_are_defined_or_predefined(pipeline: Any) -> None:
    defined = defined_variables(pipeline)
    known = defined | PREDEFINED
    env_names = {env_form(n) for n in known}
    for text in strings(pipeline):
        for name in MACRO.findall(text) + RUNTIME.findall(text):
            assert name in known, f"$({name}) is neither defined nor predefined"
    for step in walk(pipeline):
        if not isinstance(step, dict):
            continue
        script = step.get("bash") or (step.get("inputs") or {}).get("inlineScript")
        if not isinstance(script, str):
            continue
        local = set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", script))
        for name in SHELL_VAR.findall(script):
            assert name in env_names | local | set(step.get("env") or {}), (
                f"${name} in a script is not a variable of the pipeline"
            )


def test_output_variables_read_by_conditions_are_set_by_a_named_step(pipeline: Any) -> None:
    outputs: set[tuple[str, str]] = set()
    for item in walk(pipeline):
        if isinstance(item, dict) and "name" in item and ("bash" in item or "task" in item):
            script = str(item.get("bash") or "")
            for match in SET_VARIABLE.finditer(script):
                if match.group(2):
                    outputs.add((str(item["name"]), match.group(1)))
    refs = [key for text in strings(pipeline) for key in OUTPUT_REF.findall(text)]
    assert refs, "each pipeline reads an output variable (matrix or changes)"
    for ref in refs:
        step, variable = ref.split(".")[-2:]
        assert (step, variable) in outputs, f"no step named {step} sets output {variable}"


def test_pull_requests_sign_in_only_with_the_read_only_connection() -> None:
    text = (ROOT / "azure-pipelines/pull-request.yml").read_text()
    connections = set(re.findall(r"azureSubscription:\s*(\S+)", text))
    assert connections == {"dwconf-plan"}
    deploy = (ROOT / "azure-pipelines/deploy.yml").read_text()
    assert set(re.findall(r"azureSubscription:\s*(\S+)", deploy)) == {
        "dwconf-plan",
        "dwconf-${{",
    }
    assert "environment: dwconf-${{ env.name }}" in deploy


def test_an_apply_stage_runs_only_when_its_plan_has_changes() -> None:
    deploy = yaml.safe_load((ROOT / "azure-pipelines/deploy.yml").read_text())
    each = next(v for k, v in deploy["stages"][1].items() if k.startswith("${{ each"))
    apply = next(s for s in each if s["stage"].startswith("apply_"))
    assert "outputs['plan.detect.changes'], 'true'" in apply["condition"]
    assert apply["lockBehavior"] == "sequential"
    assert apply["jobs"][0]["environment"] == "dwconf-${{ env.name }}"
