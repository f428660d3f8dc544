"""One typed definition per group of settings: constraints, script options, and the config schema."""

import argparse
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from fixedpoints.certification import CertificationSettings
from fixedpoints.connections import ConnectionSettings
from fixedpoints.continuation import ContinuationSettings
from fixedpoints.finder import FinderSettings, FixedPointFinder, SearchSettings
from fixedpoints.memory import CensusSettings
from fixedpoints.settings import Constraint, add_arguments, from_args, json_schema, values
from fixedpoints.tasks import DataSettings
from fixedpoints.training import TrainingSettings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
SECTIONS = {"data": [DataSettings], "training": [TrainingSettings],
            "fixed_points": [SearchSettings, (FinderSettings, ["random_seed"]),    # the run's seed is given apart
                             CertificationSettings],
            "memory": [(CensusSettings, ["dtype"])],                # the census computes in the finder's dtype
            "topology": [(ConnectionSettings, ["chunk_steps", "verbose"])],
            "continuation": [(ContinuationSettings, ["newton_max_iters", "tol_newton", "max_turn", "match_tol",
                                                     "locate_iters", "steps_per_print", "verbose"])]}


def section_schema(classes):
    out = {}
    for entry in classes:
        cls, exclude = entry if isinstance(entry, tuple) else (entry, [])
        out.update(json_schema(cls, exclude))
    return out


@pytest.mark.parametrize("section", list(SECTIONS))
def test_config_schema_is_the_library_definition(section):
    # every key of the section, with its type, bounds, choices, description and default
    assert SCHEMA["properties"][section]["properties"] == section_schema(SECTIONS[section])
    assert SCHEMA["properties"][section]["additionalProperties"] is False


@pytest.mark.parametrize("section", list(SECTIONS))
def test_the_default_config_is_valid_for_the_library(section):
    given = CONFIG[section]
    for entry in SECTIONS[section]:
        cls = entry[0] if isinstance(entry, tuple) else entry
        names = set(json_schema(cls))
        cls(**{k: v for k, v in given.items() if k in names})


@pytest.mark.parametrize("constraint,good,bad,words", [
    (Constraint("int", ge=1), [1, 7, 3.0, np.int64(2)], [0, 2.5, True, "3", None, math.inf, math.nan],
     "an integer >= 1"),
    (Constraint("float", gt=0), [1e-9, 2, np.float32(0.5)], [0, -1, math.nan, math.inf, False], "a number > 0"),
    (Constraint("float", gt=0, le=1), [1, 0.5], [0, 1.01], "a number in (0, 1]"),
    (Constraint("float", ge=0, le=1), [0, 1], [-0.1, 1.1], "a number in [0, 1]"),
    (Constraint("float", gt=0, lt=1), [0.5], [0, 1], "a number in (0, 1)"),
    (Constraint("int", ge=1, infinite=True), [1, 5, math.inf], [0.5, -math.inf, 0], "an integer >= 1 or inf"),
    (Constraint("float", gt=0, nullable=True), [None, 1e-5], [0, "x"], "a number > 0 or None"),
    (Constraint("bool"), [True, False, np.bool_(True)], [0, 1, "yes", None], "true or false"),
    (Constraint("choice", choices=("a", "b")), ["a", "b"], ["c", None, 1], "one of a, b"),
])
def test_constraints_accept_and_refuse_and_say_what_they_expect(constraint, good, bad, words):
    assert all(constraint.check(v) for v in good), good
    assert not any(constraint.check(v) for v in bad), [v for v in bad if constraint.check(v)]
    assert constraint.describe() == words


@pytest.mark.parametrize("cls", [DataSettings, TrainingSettings, SearchSettings, FinderSettings, CensusSettings,
                                 ConnectionSettings, ContinuationSettings, CertificationSettings])
def test_script_options_round_trip_every_setting(cls):
    parser = argparse.ArgumentParser()
    add_arguments(parser, cls)
    # no options: the defaults
    assert values(from_args(cls, parser.parse_args([]))) == values(cls())
    # every setting given on the command line, as the workflow passes it, comes back the same
    argv = []
    for name, spec in json_schema(cls).items():
        value = spec["default"]
        flag = "--" + name.replace("_", "-")
        argv += [flag if value else "--no-" + name.replace("_", "-")] if isinstance(value, bool) else [flag, str(value)]
    assert values(from_args(cls, parser.parse_args(argv))) == values(cls())


def test_bad_settings_are_refused_with_one_line_naming_them():
    with pytest.raises(ValueError, match=r"^batch_size must be an integer >= 1, got 0$"):
        TrainingSettings(batch_size=0)
    with pytest.raises(ValueError, match=r"^p must be a number in \[0, 1\], got 1.5$"):
        DataSettings(p=1.5)
    with pytest.raises(TypeError, match="learning_rat"):
        TrainingSettings(learning_rat=0.1)


def test_finder_signature_and_help_show_every_setting():
    import inspect
    import pydoc
    signature = inspect.signature(FixedPointFinder)
    names = [f for f in json_schema(FinderSettings)]
    assert list(signature.parameters) == ["rnn", *names]
    assert all(signature.parameters[n].default == FinderSettings.__dataclass_fields__[n].default for n in names)
    text = pydoc.render_doc(FixedPointFinder)
    for name, spec in json_schema(FinderSettings).items():
        assert f"{name} = {spec['default']!r}: {spec['description']}" in text
