"""Property-based: whatever the input, the config loader and the --set parser give a
valid config or one ConfigError line, never another exception."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_trainer import presets
from tui_trainer.config import ALL_SECTIONS, SECTIONS, RunConfig, load_toml_text
from tui_trainer.errors import ConfigError
from tui_trainer.schema import fields_of

BASE = presets.load("digits-cnn")
KNOWN_KEYS = sorted({k for cls in SECTIONS.values() for k in fields_of(cls)} | {"arch", "widths", "hidden", "dropout"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["sgd", "adam", "cifar10", "digits", "crop", "hflip", "cpu", "none", "M"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=5))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=10))
sections = st.one_of(st.sampled_from(ALL_SECTIONS), st.text(min_size=1, max_size=8))
configs = st.dictionaries(sections, st.one_of(st.dictionaries(keys, values, max_size=5), values), max_size=4)


def accepted_or_one_line(fn):
    try:
        result = fn()
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return None
    assert isinstance(result, RunConfig)
    return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_any_table_is_a_config_or_a_config_error(data):
    config = accepted_or_one_line(lambda: RunConfig.from_dict(data))
    if config is not None:
        # an accepted config survives its own TOML
        assert RunConfig.from_dict(load_toml_text(config.to_toml(), "x")) == config


override_text = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda s, k, v: f"{s}.{k}={v}",
        sections,
        keys,
        st.one_of(
            st.text(alphabet=string.printable, max_size=20),
            st.sampled_from(["0.1", "-1", "[1,2]", '"x"', "true", "1e999", "nan", "[", "{a=1}", ""]),
        ),
    ),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(override_text, max_size=3))
def test_any_override_is_applied_or_rejected_in_one_line(overrides):
    accepted_or_one_line(lambda: BASE.with_overrides(overrides))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_toml_text_is_parsed_or_rejected_in_one_line(text):
    def load():
        return RunConfig.from_dict(load_toml_text(text, "preset.toml"))

    accepted_or_one_line(load)
