"""The one registry: papers register task types, methods and hooks by dotted path; nothing is imported
until used, a malformed entry fails at registration, a loaded one is checked against its interface."""

from __future__ import annotations

import sys

import pytest

from xlie.pipeline import registry
from xlie.pipeline.registry import MethodSpec


def test_builtin_papers_register_their_tasks_and_methods():
    assert {"panx", "udpos", "ace05", "wmt_xre", "codeie"} <= set(registry.known_tasks())
    assert {"vanilla", "topro", "pt", "llm", "prompt", "alignxie"} <= set(registry.known_methods())
    assert registry.method_spec("topro", "xlmr").name == "topro_encoder"
    assert registry.method_spec("topro", "mt5").name == "topro_seq2seq"
    assert registry.method_spec("topro", "causal") is None


def test_params_come_from_torch_free_modules():
    """The DAG reads every method's Params fields: no torch import for that."""
    import subprocess

    code = (
        "import sys; from xlie.pipeline import registry\n"
        "[registry.param_fields(s) for s in registry.all_methods().values()]\n"
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "path, message",
    [
        ("no_colon_here", "is not a 'module:attribute' path"),
        ("xlie.papers.nowhere:THING", "does not exist"),
    ],
)
def test_a_bad_path_fails_at_registration(path, message):
    with pytest.raises(ValueError, match=message):
        registry.register_task("bad_task", path)
    with pytest.raises(ValueError, match=message):
        registry.register_hook("tokenizer_texts", path)


def test_a_method_is_checked_at_registration():
    spec = MethodSpec("m", "xlie.pipeline.methods", "xlie.pipeline.params:Nothing", "m", frozenset({"mt5"}))
    with pytest.raises(ValueError, match=r"families \['mt5'\] are not encoder families"):
        registry.register_method("m", "encoder", spec)
    with pytest.raises(ValueError, match="unknown family kind"):
        registry.register_method("m", "decoder", spec)
    with pytest.raises(ValueError, match="does not exist"):
        registry.register_method(
            "m", "seq2seq", MethodSpec("m", "xlie.nowhere", "xlie.nowhere:P", "m", frozenset({"mt5"}))
        )
    with pytest.raises(ValueError, match="unknown hook kind"):
        registry.register_hook("nonsense", "xlie.pipeline.registry:hooks")


def test_an_entry_that_lacks_the_interface_fails_when_loaded(monkeypatch):
    monkeypatch.setitem(registry._TASKS, "half_task", "xlie.pipeline.registry:MethodSpec")
    with pytest.raises(TypeError, match="task 'half_task' .* lacks .*data_options"):
        registry.task_type("half_task")


def test_unknown_names_list_the_known_ones():
    with pytest.raises(KeyError, match="known tasks: ace05, codeie"):
        registry.task_type("nope")


def test_a_package_named_in_the_config_is_loaded(monkeypatch, tmp_path):
    package = tmp_path / "registry_probe_paper"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from xlie.pipeline.registry import register_task\nregister_task('probe_task', 'registry_probe_paper.tasks:TASK')\n"
    )
    (package / "tasks.py").write_text("TASK = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))
    monkeypatch.setattr(registry, "_PACKAGES", set(registry._PACKAGES))
    registry.load_papers({"papers": {"mine": {"package": "registry_probe_paper"}}})
    assert "probe_task" in registry.known_tasks()
