"""The Zero to JupyterHub values file (hub/z2jh-values.yaml), validated offline against the chart's own schema.

The chart's ``values.schema.yaml`` and default ``values.yaml`` are copied unmodified into hub/z2jh-chart/
(provenance and sha256 sums in its README). As ``helm`` does before rendering, the course's values are laid
over the chart's defaults and the result is validated with ``jsonschema`` (draft 7). No chart rendering or
cluster is involved: what is checked is what the schema says, no more (free-form sections such as
``hub.extraConfig`` are checked here by compiling their Python). The file also has to give every extra file
one kind of content, keep its Python snippets valid, and give students' servers the same nbgrader settings
as ``make hub`` does (``tools/hub.py``).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import re

import jsonschema
import pytest
import yaml

from conftest import ROOT

VALUES = ROOT / "hub" / "z2jh-values.yaml"
CHART = ROOT / "hub" / "z2jh-chart"


def values() -> dict:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def coalesce(defaults: dict, user: dict) -> dict:
    """Helm's merge of user values over a chart's defaults: maps merge key by key, anything else replaces,
    and a null removes the default."""
    out = copy.deepcopy(defaults)
    for key, value in user.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = coalesce(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def schema_errors(user: dict) -> list[str]:
    schema = yaml.safe_load((CHART / "values.schema.yaml").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(coalesce(defaults, user))]


def test_the_chart_files_are_the_ones_the_readme_names():
    readme = (CHART / "README.md").read_text(encoding="utf-8")
    for name in ("values.schema.yaml", "values.yaml", "LICENSE"):
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}`"))
        expected = re.search(r"sha256 `([0-9a-f]{64})`", row).group(1)
        assert hashlib.sha256((CHART / name).read_bytes()).hexdigest() == expected, name
    assert "48ea50e34daddde55d76e30df6ecd47e4abd4d8e" in readme


def test_the_values_pass_the_charts_schema():
    assert schema_errors(values()) == []


@pytest.mark.parametrize("mistake", [
    {"singleuser": {"memory": {"limt": "3G"}}},                       # a misspelt key
    {"singleuser": {"startTimeout": "300"}},                          # a string for a number
    {"singleuser": {"extraFiles": {"x": {"mountPath": "/x", "strngData": "c = 1"}}}},
    {"cull": {"enabled": "yes"}},
    {"hubb": {"config": {}}},                                         # an unknown section
])
def test_the_schema_rejects_a_mistake_in_the_values(mistake):
    assert schema_errors(coalesce(values(), mistake)), mistake


def test_extra_files_and_config_snippets_are_well_formed():
    v = values()
    for name, spec in v["singleuser"]["extraFiles"].items():
        assert spec["mountPath"].startswith("/"), name
        assert sum(k in spec for k in ("data", "stringData", "binaryData")) == 1, name
        if spec["mountPath"].endswith(".py"):
            compile(spec["stringData"], name, "exec")
    for name, snippet in v["hub"]["extraConfig"].items():
        compile(snippet, name, "exec")
    mounts = {m["name"] for m in v["singleuser"]["storage"]["extraVolumeMounts"]}
    assert mounts <= {vol["name"] for vol in v["singleuser"]["storage"]["extraVolumes"]}


def test_students_servers_match_make_hub(tmp_path):
    """The values give students' servers the settings that tools/hub.py writes for make hub."""
    spec = importlib.util.spec_from_file_location("hub_tool", ROOT / "tools" / "hub.py")
    hub_tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hub_tool)
    hub_tool.write_role_config(tmp_path, "dl-keras", tmp_path / "exchange", "instructor", tmp_path / "course")
    files = values()["singleuser"]["extraFiles"]
    lab = json.loads((tmp_path / "etc" / "student" / "labconfig" / "page_config.json").read_text())
    assert files["student-lab"]["data"] == lab
    server = json.loads((tmp_path / "etc" / "student" / "jupyter_server_config.json").read_text())
    disabled = {k for k, on in server["ServerApp"]["jpserver_extensions"].items() if not on}
    values_disabled = {k for k, on in files["student-server"]["data"]["ServerApp"]["jpserver_extensions"].items()
                       if not on}
    assert disabled == values_disabled
    common = files["nbgrader-common"]["stringData"]
    assert 'course_id = "dl-keras"' in common and "c.Exchange.root" in common
    assert f'c.ExchangeFactory.submit = "{hub_tool.SUBMIT_CLASS}"' in common
    assert repr(hub_tool.SUBMIT_CLASS) in (tmp_path / "etc" / "common" / "nbgrader_config.py").read_text()
