"""Malformed configs and `--set` overrides, generated: every one is a valid config or a
ConfigError naming what is wrong - never a traceback from inside pydantic, yaml or our code."""

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator.config import ConfigError, ExperimentConfig, flatten, load_config

KEYS = sorted(flatten(load_config()))
SECTIONS = sorted({k.split(".")[0] for k in KEYS})
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6
)


def load_or_config_error(path=None, overrides=None) -> ExperimentConfig | None:
    try:
        return load_config(path, overrides)
    except ConfigError as exc:
        assert str(exc).strip()
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from([*KEYS, *SECTIONS, "bogus", "algo.bogus"]), values, max_size=6))
def test_yaml_files_with_arbitrary_values_at_real_and_bogus_keys(tmp_path, raw):
    nested: dict = {}
    for dotted, value in raw.items():
        node = nested
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[last] = value
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(nested, allow_unicode=True))
    load_or_config_error(path)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=string.printable, max_size=40), max_size=3))
def test_arbitrary_override_strings(overrides):
    load_or_config_error(None, overrides)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(KEYS), st.text(alphabet=string.printable, max_size=30))
def test_arbitrary_values_for_every_real_key(key, raw):
    cfg = load_or_config_error(None, [f"{key}={raw}"])
    if cfg is None:
        return
    assert key in flatten(cfg)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_config_files_of_arbitrary_bytes(tmp_path, data):
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    load_or_config_error(path)
