"""Corpus: locate irish.abc without importing mitdeeplearning, split on X: headers, clean, dedupe, split by tune."""

import subprocess
import sys

import pytest

from helpers.abc import corpus

TWO_TUNES = "%abc-2.1\n% a file header\n\nX:7\nT:First\nZ: id:1\nM:6/8\nL:1/8\nK:D\nABc def|]\n\n" \
            "X:8\nT:Last\nM:3/4\nL:1/8\nK:G\n% comment\nGA Bc d2  \n|]"


@pytest.fixture(scope="module")
def irish_text():
    return corpus.read_abc_text(corpus.irish_abc_path())


def test_irish_abc_is_found_without_importing_the_package():
    code = ("import sys; from helpers.abc.corpus import irish_abc_path; p = irish_abc_path(); "
            "assert p.name == 'irish.abc' and p.exists(); assert 'mitdeeplearning' not in sys.modules; "
            "assert 'tensorflow' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_split_keeps_first_and_last_tune_once():
    tunes = corpus.split_tunes(TWO_TUNES)
    assert [t.splitlines()[1] for t in tunes] == ["T:First", "T:Last"]
    assert tunes[0].startswith("X:7") and tunes[0].endswith("ABc def|]")
    assert tunes[1].endswith("|]")


def test_split_on_the_real_corpus_beats_the_lab_regex(irish_text):
    ours = corpus.split_tunes(irish_text)
    lab = corpus.lab_regex_split(irish_text)
    assert len(ours) == irish_text.count("\nX:") + irish_text.startswith("X:")
    assert all(t.startswith("X:") for t in ours)
    assert len(set(ours)) == len(ours)
    # The lab's split returns more "songs" than there are tunes, some of them header-less fragments,
    # and misses the last tune.
    assert len(lab) > len(ours)
    assert any(not s.lstrip("\n").startswith("X:") for s in lab) or len({s.strip() for s in lab}) < len(lab)
    assert ours[-1].strip() not in {s.strip() for s in lab}


def test_clean_tune_keeps_the_musical_header_and_renumbers():
    tune = corpus.split_tunes(TWO_TUNES)[1]
    cleaned = corpus.clean_tune(tune)
    assert cleaned.splitlines() == ["X:1", "T:Last", "M:3/4", "L:1/8", "K:G", "GA Bc d2", "|]"]
    first = corpus.clean_tune(corpus.split_tunes(TWO_TUNES)[0], number=None)
    assert first.startswith("X:7\n") and "Z:" not in first


def test_dedupe_ignores_titles_and_layout():
    a = "X:1\nT:One\nM:6/8\nL:1/8\nK:D\nABc def|!\nfed cBA|]"
    b = "X:2\nT:Other name\nM:6/8\nL:1/8\nK:D\nABc  def|\nfed cBA|]"
    c = "X:3\nT:New\nM:6/8\nL:1/8\nK:D\nABc dee|]"
    assert corpus.dedupe([a, b, c]) == [a, c]


def test_load_corpus_cleans_dedupes_and_adds_user_files(tmp_path):
    user = tmp_path / "mine.abc"
    user.write_text("X:1\nT:Mine\nM:2/4\nL:1/8\nK:A\nAB cd|ef ga|]\n\nX:2\nT:broken, no key\nABC|\n", encoding="utf-8")
    c = corpus.load_corpus(user_files=[user], include_user_folder=False)
    assert 780 < len(c) <= 805
    assert c.sources[-1] == "mine.abc" and "T:Mine" in c.tunes[-1]
    assert c.dropped_unusable >= 1
    assert len({corpus.music_key(t) for t in c.tunes}) == len(c)
    assert all(t.startswith("X:1\n") and "\nZ:" not in t for t in c.tunes)


def test_user_folder_is_read(monkeypatch, tmp_path):
    monkeypatch.setenv("NAL_DATA", str(tmp_path))
    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "a.abc").write_text("X:1\nT:A\nM:2/4\nL:1/8\nK:A\nAB cd|]\n", encoding="utf-8")
    assert corpus.user_abc_files() == [tmp_path / "abc" / "a.abc"]
    c = corpus.load_corpus(include_irish=False)
    assert len(c) == 1
    (tmp_path / "abc" / "a.abc").write_text("just text\n", encoding="utf-8")
    with pytest.raises(corpus.CorpusError, match="no usable tune"), pytest.warns(corpus.CorpusWarning, match="a.abc"):
        corpus.load_corpus(include_irish=False)


def test_split_by_tune_is_disjoint_and_repeatable():
    tunes = [f"X:1\nT:t{i}\nM:2/4\nL:1/8\nK:D\nA{i}|]" for i in range(50)]
    train, val = corpus.split_by_tune(tunes, 0.2, seed=3)
    assert len(val) == 10 and len(train) == 40
    assert not set(train) & set(val) and set(train) | set(val) == set(tunes)
    assert corpus.split_by_tune(tunes, 0.2, seed=3) == (train, val)
    assert corpus.split_by_tune(tunes, 0.2, seed=4)[1] != val
    with pytest.raises(ValueError):
        corpus.split_by_tune(tunes, 1.5)


def test_stats_describe_keys_and_meters():
    c = corpus.load_corpus(include_user_folder=False)
    stats = corpus.tune_stats(c.tunes[:60])
    assert len(stats) == 60
    assert stats["header_complete"].all()
    assert set(stats["meter"]) <= {"C|", "C", "6/8", "2/4", "3/4", "9/8", "4/4"}
    assert (stats["notes"] > 10).all() and (stats["chars"] > 50).all()


def test_split_round_trips_through_files(tmp_path):
    tunes = corpus.load_corpus(include_user_folder=False).tunes[:30]
    train, val = corpus.split_by_tune(tunes, 0.2)
    assert corpus.load_split(tmp_path) is None
    corpus.save_split(train, val, tmp_path)
    assert corpus.load_split(tmp_path) == (train, val)
