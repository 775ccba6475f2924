"""Recording plans, knob spaces and encodings, manifest validation, demo dataset, unseen-setting split."""

import json

import numpy as np
import pytest

from helpers.audio import save_wav
from helpers.capture.devices import get_device
from helpers.knobs.dataset import (
    KnobManifestError,
    ensure_demo_knob_dataset,
    grid_midpoints,
    load_knob_dataset,
    unseen_setting_split,
    validate_manifest,
)
from helpers.knobs.encoding import KnobEncodingError, make_encoding
from helpers.knobs.plans import (
    combinatorial_plan,
    compare_plans,
    expected_count,
    hybrid_plan,
    isolated_plan,
    latin_hypercube_plan,
)
from helpers.knobs.space import KnobError, KnobNameError, KnobSpace, KnobValueError, MissingKnobSettingsError

OD = get_device("overdrive")


@pytest.fixture
def space2():
    return KnobSpace.from_device(OD, ["drive", "tone"])


@pytest.mark.parametrize("names", [["drive"], ["drive", "tone"], ["drive", "tone", "level"]])
def test_plan_counts(names):
    space = KnobSpace.from_device(OD, names)
    k = len(names)
    dial_only = all(space[n].unit == "dial" for n in names)  # default 5 is one of 5 levels on 0..10
    iso = isolated_plan(space, levels=5)
    if dial_only:
        assert iso.count == expected_count("isolated", k, levels=5) == 1 + 4 * k
    assert combinatorial_plan(space, 3).count == expected_count("combinatorial", k, levels=3) == 3**k
    assert hybrid_plan(space).count == expected_count("hybrid", k) == 3**k + 2 * k
    assert latin_hypercube_plan(space, 7, seed=1).count == expected_count("latin_hypercube", k, samples=7) == 7 + 2**k
    for plan in (iso, combinatorial_plan(space, 3), hybrid_plan(space), latin_hypercube_plan(space, 7)):
        keys = [tuple(sorted(s.items())) for s in plan.settings]
        assert len(set(keys)) == plan.count  # no recording twice
        for s in plan.settings:
            space.check(s)  # every setting is complete and in range
        text = plan.format(seconds_per_recording=180)
        assert f"{plan.count} recordings" in text and len(text.splitlines()) == plan.count + 3


def test_plan_details(space2):
    iso = isolated_plan(space2, levels=3)
    moved = [sum(s[n] != space2[n].default for n in space2.names) for s in iso.settings]
    assert max(moved) == 1  # one knob at a time
    hyb = hybrid_plan(space2)
    assert {s["drive"] for s in hyb.settings} == {0.0, 2.0, 5.0, 8.0, 10.0}  # 7/9/12/3/5 o'clock
    assert "12h" in hyb.format()
    lhs = latin_hypercube_plan(space2, 10, seed=3)
    drives = sorted(s["drive"] for s in lhs.settings[:10])
    assert all(i <= d / 10 * 10 < i + 1.0001 for i, d in enumerate(drives))  # one sample per stratum
    assert latin_hypercube_plan(space2, 10, seed=3).settings == lhs.settings
    assert [r["recordings"] for r in compare_plans(space2, levels=5)] == [9, 25, 13, 14]
    with pytest.raises(KnobError, match="clock"):
        hybrid_plan(space2, key_positions=("13",))


def test_space_and_encodings(space2):
    with pytest.raises(KnobValueError, match="out of range"):
        space2.check({"drive": 11, "tone": 5})
    with pytest.raises(KnobNameError, match="unknown knob"):
        space2.check({"drive": 1, "tone": 5, "gain": 3})
    with pytest.raises(MissingKnobSettingsError, match="tone"):
        space2.check({"drive": 1})
    values, onehot = make_encoding("values", space2), make_encoding("onehot", space2)
    assert values.size == 2 and onehot.size == 3
    np.testing.assert_allclose(values.encode({"drive": 2.5, "tone": 10}), [0.25, 1.0])
    np.testing.assert_allclose(onehot.encode({"drive": 5, "tone": 2}), [0, 1, 0.2])
    np.testing.assert_allclose(onehot.encode_simple("drive", 10), [1, 0, 1.0])
    np.testing.assert_allclose(onehot.encode(space2.defaults()), [0, 0, 0])
    with pytest.raises(KnobEncodingError, match="values"):
        onehot.encode({"drive": 1, "tone": 2})
    with pytest.raises(KnobEncodingError):
        make_encoding("binary", space2)
    track = values.track([{"drive": 0, "tone": 0}, {"drive": 10, "tone": 0}], [10], 30, ramp=4)
    np.testing.assert_allclose(track[0, [9, 10, 11, 13, 20]], [0, 0.25, 0.5, 1.0, 1.0])
    assert np.all(track[1] == 0)


def _write_pair(folder, n=4000, sr=48_000):
    rng = np.random.default_rng(0)
    save_wav(folder / "in.wav", (0.1 * rng.standard_normal(n)).astype(np.float32), sr)
    save_wav(folder / "a.wav", (0.05 * rng.standard_normal(n)).astype(np.float32), sr)
    save_wav(folder / "b.wav", (0.05 * rng.standard_normal(n)).astype(np.float32), sr)


def _manifest(recordings):
    return {"sample_rate": 48_000,
            "knobs": [{"name": "drive", "minimum": 0, "maximum": 10, "default": 5},
                      {"name": "tone", "minimum": 0, "maximum": 10, "default": 5}],
            "recordings": recordings, "splits": {"train": [[0, 2000]], "validation": [[2500, 3000]],
                                                 "test": [[3000, 4000]]}}


def test_manifest_forms_and_errors(tmp_path):
    _write_pair(tmp_path)
    simple = {"input_file": "in.wav", "output_file": "a.wav", "knob_type": "drive", "knob_level": 8}
    general = {"input_file": "in.wav", "output_file": "b.wav", "knobs": {"drive": 1, "tone": 9}, "role": "heldout"}
    (tmp_path / "manifest.json").write_text(json.dumps(_manifest([simple, general])))
    data = load_knob_dataset(tmp_path)
    assert data.settings == [{"drive": 8.0, "tone": 5.0}, {"drive": 1.0, "tone": 9.0}]
    assert data.indices("train") == [0] and data.indices("heldout") == [1]
    assert data.inputs[0] is data.inputs[1]  # the shared input is read once
    cases = [
        ({**simple, "knob_level": 12}, KnobValueError, "out of range"),
        ({"input_file": "in.wav", "output_file": "a.wav"}, MissingKnobSettingsError, "no knob settings"),
        ({**simple, "knob_type": "gain"}, KnobNameError, "knob_type 'gain'"),
        ({"input_file": "in.wav", "output_file": "a.wav", "knobs": {"drive": 1, "Tone": 2}}, KnobNameError, "Tone"),
        ({"input_file": "in.wav", "output_file": "a.wav", "knobs": {"drive": 1}}, MissingKnobSettingsError, "tone"),
        ({**simple, "role": "test"}, KnobManifestError, "role"),
    ]
    for rec, error, message in cases:
        with pytest.raises(error, match=message):
            validate_manifest(_manifest([simple, rec]))
    with pytest.raises(KnobManifestError, match="knobs"):
        validate_manifest({k: v for k, v in _manifest([simple]).items() if k != "knobs"})
    with pytest.raises(KnobManifestError, match="no knob manifest"):
        load_knob_dataset(tmp_path / "missing")


def test_unseen_setting_split(space2):
    settings = combinatorial_plan(space2, 3).settings * 2  # every setting recorded twice
    train, held = unseen_setting_split(settings, 1, seed=0, space=space2)
    assert len(held) == 2 and settings[held[0]] == settings[held[1]] == {"drive": 5.0, "tone": 5.0}  # only interior
    assert not {tuple(sorted(settings[i].items())) for i in held} & {tuple(sorted(settings[i].items())) for i in train}
    a = unseen_setting_split(settings, 3, seed=4)
    assert a == unseen_setting_split(settings, 3, seed=4) and len(a[1]) == 6
    assert unseen_setting_split(settings, [0])[1] == [0, 9]
    with pytest.raises(KnobError, match="interior"):
        unseen_setting_split(settings, 2, space=space2)
    mids = grid_midpoints(space2, 3)
    assert mids == [{"drive": 2.5, "tone": 2.5}, {"drive": 2.5, "tone": 7.5}, {"drive": 7.5, "tone": 2.5},
                    {"drive": 7.5, "tone": 7.5}]


def test_demo_dataset_is_rendered_from_the_device_and_cached():
    path = ensure_demo_knob_dataset("overdrive", ("drive", "tone"), levels=2, heldout=1, quick=True, seed=0)
    data = load_knob_dataset(path)
    assert len(data.indices("train")) == 4 and len(data.indices("heldout")) == 1
    held = data.settings[data.indices("heldout")[0]]
    assert held not in [data.settings[i] for i in data.indices("train")]
    i = data.indices("train")[3]
    start, end = data.splits["test"][0]
    expected = OD.process(data.inputs[i], data.sample_rate, **data.settings[i])
    np.testing.assert_allclose(data.outputs[i][start:end], expected[start:end], atol=1e-6)
    mtime = path.stat().st_mtime_ns
    assert ensure_demo_knob_dataset("overdrive", ("drive", "tone"), levels=2, heldout=1, quick=True) == path
    assert path.stat().st_mtime_ns == mtime
