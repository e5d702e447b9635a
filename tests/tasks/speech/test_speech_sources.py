"""FSDD folders, manifests, label sets and splits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from seqframe_speech import sources

from seqframe.errors import ConfigError, DataError
from tests.tasks.speech._audio import SUBSET

SPEAKERS = {"george", "jackson", "lucas", "nicolas", "yweweler"}


def split(recs, kind="fsdd", test_speakers=None, test_fraction=0.1, val_fraction=0.1, seed=0):
    return sources.split(recs, kind, test_speakers=test_speakers, test_fraction=test_fraction,
                         val_fraction=val_fraction, seed=seed)


def test_the_shipped_subset():
    recs, kind = sources.load(None)
    assert kind == "fsdd" and len(recs) == 150
    assert {r.speaker for r in recs} == SPEAKERS
    assert Counter(r.label for r in recs) == {w: 15 for w in sources.DIGIT_WORDS}
    assert {r.take for r in recs} == {0, 5, 6}
    first = recs[0]
    assert (first.path.name, first.label, first.speaker, first.take) == ("0_george_0.wav",
                                                                         "zero", "george", 0)
    assert (SUBSET / "README.md").read_text().count("CC BY-SA 4.0") >= 1


def test_official_split_of_the_subset():
    recs, _ = sources.load(None)
    parts = split(recs)
    assert {recs[i].take for i in parts["test"]} == {0} and len(parts["test"]) == 50
    assert {recs[i].take for i in parts["train"] + parts["val"]} == {5, 6}
    # 10 training recordings per digit: round(0.1 * 10) = 1 of each digit for validation
    assert Counter(recs[i].label for i in parts["val"]) == {w: 1 for w in sources.DIGIT_WORDS}
    assert len(parts["train"]) == 90
    assert not set(parts["train"]) & set(parts["val"])
    assert split(recs) == parts and split(recs, seed=1)["val"] != parts["val"]


def test_held_out_speakers_are_the_whole_test_set():
    recs, _ = sources.load(None)
    parts = split(recs, test_speakers="George,lucas")
    assert {recs[i].speaker for i in parts["test"]} == {"george", "lucas"}
    assert len(parts["test"]) == 60  # every take of theirs, test and training takes alike
    trained = {recs[i].speaker for i in parts["train"] + parts["val"]}
    assert trained == SPEAKERS - {"george", "lucas"}


def test_unknown_or_all_speakers(tmp_path):
    recs, _ = sources.load(None)
    with pytest.raises(ConfigError, match=r"speaker 'bob' has no recording; the data's speakers "
                                          r"are 'george', 'jackson'"):
        split(recs, test_speakers="george,bob")
    with pytest.raises(ConfigError, match="leaves no speaker to train on"):
        split(recs, test_speakers=",".join(sorted(SPEAKERS)))


def test_full_fsdd_official_and_speaker_splits(shared_data):
    folder = shared_data / "fsdd" / "recordings"
    recs, kind = sources.load(str(folder))
    assert kind == "fsdd" and len(recs) == 2500
    parts = split(recs)
    assert len(parts["test"]) == 250  # takes 0-4 of 10 digits x 5 speakers
    # 225 training recordings per digit: round(22.5) = 23 of each for validation
    assert len(parts["val"]) == 230 and len(parts["train"]) == 2020
    held = split(recs, test_speakers="jackson")
    assert len(held["test"]) == 500 and len(held["train"]) + len(held["val"]) == 2000


def test_bad_fsdd_folders(tmp_path):
    (tmp_path / "README.txt").write_text("not a recording")
    with pytest.raises(DataError, match="holds no .wav recordings"):
        sources.load(str(tmp_path))
    (tmp_path / "hello.wav").write_bytes(b"")
    with pytest.raises(DataError, match=r"hello.wav' does not follow the FSDD naming convention "
                                        r"\{digit\}_\{speaker\}_\{index\}.wav"):
        sources.load(str(tmp_path))


def test_data_paths_that_are_neither(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(DataError, match="is a file but not a .csv manifest"):
        sources.load(str(tmp_path / "x.txt"))
    with pytest.raises(DataError, match="does not exist"):
        sources.load(str(tmp_path / "nowhere"))


def write_manifest(folder: Path, rows: list[str], header="path,transcript,speaker") -> Path:
    path = folder / "manifest.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_manifest_rows_relative_to_the_csv(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("0_george_0.wav", "1_lucas_5.wav"):
        (audio / name).write_bytes((SUBSET / name).read_bytes())
    csv = write_manifest(tmp_path, ["audio/0_george_0.wav, Zero ,george",
                                    f"{audio / '1_lucas_5.wav'},one,"])
    recs, kind = sources.load(str(csv))
    assert kind == "manifest"
    assert [(r.path, r.label, r.speaker, r.take) for r in recs] == [
        (audio / "0_george_0.wav", "zero", "george", None),
        (audio / "1_lucas_5.wav", "one", "", None)]
    assert recs[1].where == f"{csv}, row 3"


@pytest.mark.parametrize("rows, header, match", [
    (["a.wav,zero"], "file,text", r"has columns \['file', 'text'\]; expected a header "
                                  r"path,transcript\[,speaker\]"),
    (["missing.wav,zero"], "path,transcript", r"manifest.csv, row 2: the audio file "
                                              r"'.*missing.wav' does not exist"),
    ([",zero"], "path,transcript", r"row 2: empty path or transcript"),
    ([], "path,transcript", "has no rows after its header"),
])
def test_bad_manifests(tmp_path, rows, header, match):
    with pytest.raises(DataError, match=match):
        sources.load(str(write_manifest(tmp_path, rows, header)))


def test_transcripts_outside_the_label_set(tmp_path):
    (tmp_path / "a.wav").write_bytes((SUBSET / "0_george_0.wav").read_bytes())
    recs, _ = sources.load(str(write_manifest(tmp_path, ["a.wav,zero,g", "a.wav,ten,g"])))
    with pytest.raises(DataError, match=r"row 3: transcript 'ten' is not in the label set "
                                        r"\(zero, one, .*nine\).*-o labels=WORD,WORD"):
        sources.check_labels(recs, sources.DIGIT_WORDS)
    sources.check_labels(recs, sources.parse_labels("zero,ten"))


def test_label_sets():
    assert sources.parse_labels("digits") == sources.DIGIT_WORDS
    assert sources.parse_labels(" Yes, no ,up") == ("yes", "no", "up")
    for bad in ("yes", "yes,yes", "yes,no no"):
        with pytest.raises(ConfigError, match="expected 'digits' or two or more distinct"):
            sources.parse_labels(bad)


def test_manifest_split_is_stratified_and_seeded(tmp_path):
    (tmp_path / "a.wav").write_bytes((SUBSET / "0_george_0.wav").read_bytes())
    rows = [f"a.wav,{w},{'s' + str(i % 3)}" for w in ("yes", "no") for i in range(20)]
    recs, kind = sources.load(str(write_manifest(tmp_path, rows)))
    parts = split(recs, kind, test_fraction=0.25, val_fraction=0.2, seed=3)
    assert Counter(recs[i].label for i in parts["test"]) == {"yes": 5, "no": 5}
    assert Counter(recs[i].label for i in parts["val"]) == {"yes": 3, "no": 3}  # 0.2 x 15
    assert sorted(parts["train"] + parts["val"] + parts["test"]) == list(range(40))
    assert split(recs, kind, test_fraction=0.25, val_fraction=0.2, seed=3) == parts
    by_speaker = split(recs, kind, test_speakers="s1")
    assert {recs[i].speaker for i in by_speaker["test"]} == {"s1"}


def test_manifest_without_speakers_cannot_hold_speakers_out(tmp_path):
    (tmp_path / "a.wav").write_bytes((SUBSET / "0_george_0.wav").read_bytes())
    recs, kind = sources.load(str(write_manifest(tmp_path, ["a.wav,yes", "a.wav,no"] * 4,
                                                 header="path,transcript")))
    with pytest.raises(ConfigError, match="the manifest has no speaker column"):
        split(recs, kind, test_speakers="george")


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1])
def test_fractions_must_be_inside_zero_one(value):
    recs, _ = sources.load(None)
    with pytest.raises(ConfigError, match=r"-o val_fraction must be between 0 and 1"):
        split(recs, val_fraction=value)
