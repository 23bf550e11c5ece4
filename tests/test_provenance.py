"""Provenance records the hub commit a model id resolved to, from the local cache only."""

from xlie.pipeline.provenance import hub_revision, model_identity


def test_hub_revision_from_the_cache(tmp_path, monkeypatch):
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = tmp_path / "models--org--tiny" / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (tmp_path / "models--org--tiny" / "refs").mkdir()
    (tmp_path / "models--org--tiny" / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert hub_revision("org/tiny") == commit
    assert model_identity("org/tiny") == {"path": "org/tiny", "kind": "hub", "revision": commit}
    assert hub_revision("org/absent") is None
    assert "revision" not in model_identity(str(tmp_path))  # a local directory
