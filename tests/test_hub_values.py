"""The Zero to JupyterHub values file (hub/z2jh-values.yaml), checked offline.

No chart or cluster is needed: the file must parse, use only keys of the `jupyterhub` chart (the key
paths below were read from the chart's values schema, chart 4.x; `helm lint` needs the chart and is not
run here), give every extra file a mount path and one kind of content, keep its Python snippets valid,
and give students' servers the same nbgrader settings as ``make hub`` does (``tools/hub.py``).
"""

from __future__ import annotations

import importlib.util
import json

import yaml

from conftest import ROOT

VALUES = ROOT / "hub" / "z2jh-values.yaml"

#: Key paths of the chart that the file may set; ``*`` is a free-form name (a dict the chart passes on).
CHART_KEYS = {
    "hub.config.*",
    "hub.extraConfig.*",
    "hub.extraEnv.*",
    "hub.db.type",
    "hub.db.url",
    "hub.cookieSecret",
    "singleuser.image.name",
    "singleuser.image.tag",
    "singleuser.image.pullPolicy",
    "singleuser.cmd",
    "singleuser.defaultUrl",
    "singleuser.cpu.guarantee",
    "singleuser.cpu.limit",
    "singleuser.memory.guarantee",
    "singleuser.memory.limit",
    "singleuser.startTimeout",
    "singleuser.extraEnv.*",
    "singleuser.extraFiles.*",
    "singleuser.storage.capacity",
    "singleuser.storage.extraVolumes",
    "singleuser.storage.extraVolumeMounts",
    "singleuser.storage.homeMountPath",
    "singleuser.uid",
    "singleuser.fsGid",
    "proxy.https.enabled",
    "proxy.https.hosts",
    "proxy.https.letsencrypt.contactEmail",
    "cull.enabled",
    "cull.timeout",
    "cull.every",
    "cull.users",
}
#: Below these, the chart passes the value through as it is.
FREE_FORM = {"hub.config", "hub.extraConfig", "hub.extraEnv", "singleuser.extraEnv", "singleuser.extraFiles"}


def values() -> dict:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def key_paths(node, prefix: str = "") -> list[str]:
    """Dotted key paths down to a leaf or to a free-form dict (``a.b.*``)."""
    if prefix in FREE_FORM:
        return [f"{prefix}.*"]
    if not isinstance(node, dict):
        return [prefix]
    paths = []
    for key, value in node.items():
        paths += key_paths(value, f"{prefix}.{key}" if prefix else str(key))
    return paths


def test_values_use_only_the_charts_keys():
    paths = key_paths(values())
    assert paths, "the values file is empty"
    assert not [p for p in paths if p not in CHART_KEYS], [p for p in paths if p not in CHART_KEYS]


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
