"""The checks of notebook 05: a correct knob encoding passes, the stub says "not written yet", an error in the
student's code is shown with its line, and each typical mistake, written by hand as a student would, gets its hint."""

import numpy as np

from helpers.checks.knobs import check_decode_values, check_encode_onehot, check_encode_values


def good_values(setting, space):
    return np.array([(setting[k.name] - k.minimum) / (k.maximum - k.minimum) for k in space.knobs], dtype=np.float32)


def good_onehot(setting, space):
    vec = np.zeros(len(space.knobs) + 1)
    for i, k in enumerate(space.knobs):
        if setting[k.name] != k.default:
            vec[i] = 1.0
            vec[-1] = (setting[k.name] - k.minimum) / (k.maximum - k.minimum)
    return vec


def stub(setting, space):
    # YOUR CODE HERE
    raise NotImplementedError()


# ------------------------------------------------------------------------------------------ values
def test_values_correct_passes():
    result = check_encode_values(good_values)
    assert result, result
    assert check_encode_values(lambda s, sp: [float(v) for v in good_values(s, sp)])  # a list is fine too


def test_values_stub_and_error():
    assert "not written yet" in check_encode_values(stub).message

    def broken(setting, space):
        return np.array([setting[k] for k in space.knobs])  # a Knob is not a key

    result = check_encode_values(broken)
    assert not result and "KeyError" in result.message and "line" in result.message


def test_values_mistake_raw():
    result = check_encode_values(lambda s, sp: np.array([s[n] for n in sp.names]))
    assert not result and "raw knob values" in result.message


def test_values_mistake_divided_by_max():
    result = check_encode_values(lambda s, sp: np.array([s[k.name] / k.maximum for k in sp.knobs]))
    assert not result and "divided by the maximum only" in result.message


def test_values_mistake_minimum_not_subtracted():
    result = check_encode_values(lambda s, sp: np.array([s[k.name] / (k.maximum - k.minimum) for k in sp.knobs]))
    assert not result and "did not subtract the minimum" in result.message


def test_values_mistake_dict_order():
    def dict_order(setting, space):
        out = []
        for name, value in setting.items():
            k = space[name]
            out.append((value - k.minimum) / (k.maximum - k.minimum))
        return np.array(out)

    result = check_encode_values(dict_order)
    assert not result and "setting dict's order" in result.message


def test_values_mistake_upside_down():
    result = check_encode_values(lambda s, sp: np.array([(k.maximum - s[k.name]) / (k.maximum - k.minimum)
                                                         for k in sp.knobs]))
    assert not result and "upside down" in result.message


# ------------------------------------------------------------------------------------------ one-hot + level
def test_onehot_correct_passes():
    result = check_encode_onehot(good_onehot)
    assert result, result


def test_onehot_stub_and_error():
    assert "not written yet" in check_encode_onehot(stub).message

    def broken(setting, space):
        vec = np.zeros(len(space) + 1)
        vec[space.names.index(setting)] = 1  # the dict, not a name
        return vec

    result = check_encode_onehot(broken)
    assert not result and "your code raised" in result.message and "line" in result.message


def test_onehot_mistake_level_raw():
    def raw(setting, space):
        vec = np.zeros(len(space) + 1)
        for i, k in enumerate(space.knobs):
            if setting[k.name] != k.default:
                vec[i], vec[-1] = 1.0, setting[k.name]
        return vec

    result = check_encode_onehot(raw)
    assert not result and "level is the raw knob value" in result.message


def test_onehot_mistake_level_divided_by_max():
    def by_max(setting, space):
        vec = np.zeros(len(space) + 1)
        for i, k in enumerate(space.knobs):
            if setting[k.name] != k.default:
                vec[i], vec[-1] = 1.0, setting[k.name] / k.maximum
        return vec

    result = check_encode_onehot(by_max)
    assert not result and "divided by the maximum only" in result.message


def test_onehot_mistake_wrong_knob_dict_order():
    def dict_order(setting, space):
        vec = np.zeros(len(space) + 1)
        for i, (name, value) in enumerate(setting.items()):
            k = space[name]
            if value != k.default:
                vec[i], vec[-1] = 1.0, (value - k.minimum) / (k.maximum - k.minimum)
        return vec

    result = check_encode_onehot(dict_order)
    assert not result and "marks the wrong knob" in result.message


def test_onehot_mistake_moved_from_zero():
    def from_zero(setting, space):
        vec = np.zeros(len(space) + 1)
        for i, k in enumerate(space.knobs):
            if setting[k.name] != 0:
                vec[i], vec[-1] = 1.0, (setting[k.name] - k.minimum) / (k.maximum - k.minimum)
        return vec

    result = check_encode_onehot(from_zero)
    assert not result and "differs from its DEFAULT" in result.message


def test_onehot_mistake_no_onehot():
    result = check_encode_onehot(good_values)
    assert not result and "no one-hot" in result.message


def test_onehot_mistake_level_first():
    result = check_encode_onehot(lambda s, sp: np.roll(good_onehot(s, sp), 1))
    assert not result and "level comes first" in result.message


def test_onehot_mistake_level_missing():
    result = check_encode_onehot(lambda s, sp: good_onehot(s, sp)[:-1])
    assert not result and "level is missing" in result.message


# ------------------------------------------------------------------------------------------ decode (an exercise)
def test_decode():
    assert check_decode_values(lambda v, sp: {k.name: k.minimum + float(x) * (k.maximum - k.minimum)
                                              for k, x in zip(sp.knobs, v)})
    assert "not written yet" in check_decode_values(stub).message
    result = check_decode_values(lambda v, sp: {k.name: float(x) * k.maximum for k, x in zip(sp.knobs, v)})
    assert not result and "maximum only" in result.message
    result = check_decode_values(lambda v, sp: {k.name: float(x) for k, x in zip(sp.knobs, v)})
    assert not result and "still the 0-1 values" in result.message
    result = check_decode_values(lambda v, sp: [k.minimum + float(x) * (k.maximum - k.minimum)
                                                for k, x in zip(sp.knobs, v)])
    assert not result and "return a dict" in result.message
