"""The config reference is the schema's own documentation: every field has a description, and the
generated page lists every field with it."""

from orchestrator.config_reference import config_fields, markdown_reference


def test_every_config_field_is_described():
    undocumented = [key for key, field in config_fields() if not (field.description or "").strip()]
    assert undocumented == []


def test_the_reference_lists_every_field_with_its_description():
    page = markdown_reference()
    fields = list(config_fields())
    assert len(fields) > 80
    for key, field in fields:
        assert f"| `{key}` |" in page and field.description[:30].replace("|", "\\|") in page
    assert "## curriculum" in page and "learning progress" in page.lower()


def test_a_section_lists_its_own_fields_before_those_it_inherits():
    keys = [key for key, _ in config_fields() if key.startswith("simulator.")]
    assert keys[:2] == ["simulator.name", "simulator.scenarios"]
    assert keys.index("simulator.serve.num_workers") < keys.index("simulator.profile")
