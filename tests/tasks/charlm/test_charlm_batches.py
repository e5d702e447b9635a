"""The charlm batch contract: stateful streams of character ids (or, with ``-o inputs=onehot``,
one-hot rows) and next-character targets."""

from __future__ import annotations

import numpy as np
import pytest
from seqframe_charlm.corpus import split_text
from seqframe_charlm.streams import StreamBatches, epoch_offset, eval_layout, one_hot
from seqframe_charlm.task import CharLMTask

# Random letters: no repeated stretches, so a slice identifies where it came from.
TEXT = "".join(np.random.default_rng(0).choice(list("abcdefghijklmnopqrstuvwxyz "), 3000)) + "\n"


def ids_of(inputs):
    """Character ids of a batch's inputs, token ids or one-hot rows."""
    return inputs if inputs.ndim == 2 else inputs.argmax(-1)


@pytest.mark.parametrize("inputs", ["tokens", "onehot"])
def test_model_spec_is_stateful_cross_entropy_with_the_training_counts(make_task, inputs):
    task = make_task(TEXT, inputs=inputs)
    spec = task.prepare()
    train = split_text(TEXT, task.opts["val_fraction"], task.opts["test_fraction"]).train
    chars = sorted(set(train))
    v = len(chars) + 1  # training characters + <unk>
    assert (spec.input_size, spec.output_size) == (v, v)
    assert (spec.readout, spec.loss, spec.stateful) == ("every_step", "cross_entropy", True)
    assert spec.tokens == (inputs == "tokens") and spec.padding_id is None
    assert spec.losses == ("sampled_softmax",)
    counts = [train.count(c) for c in chars] + [0]  # <unk> never occurs in training
    assert list(spec.class_frequencies) == counts


@pytest.mark.parametrize("inputs", ["tokens", "onehot"])
def test_shapes_dtypes_and_shifted_targets(make_task, inputs):
    task = make_task(TEXT, seq_len=20, inputs=inputs)
    batches = task.train_batches(epoch=0, batch_size=4, seed=0)
    batch = batches[0]
    v = task.vocab.size
    if inputs == "tokens":
        assert batch.inputs.shape == (4, 20) and batch.inputs.dtype == np.int64
    else:
        assert batch.inputs.shape == (4, 20, v) and batch.inputs.dtype == np.float32
        assert np.all(batch.inputs.sum(-1) == 1.0)
    assert batch.targets.shape == (4, 20) and batch.targets.dtype == np.int64
    assert batch.mask.shape == (4, 20) and batch.mask.dtype == bool and batch.mask.all()
    assert batch.reset.shape == (4,) and batch.reset.dtype == bool
    ids = ids_of(batch.inputs)
    assert np.array_equal(batch.targets[:, :-1], ids[:, 1:])  # target t = input t + 1
    other = make_task(TEXT, seq_len=20, inputs="onehot" if inputs == "tokens" else "tokens")
    np.testing.assert_array_equal(ids_of(other.train_batches(0, 4, 0)[0].inputs), ids)


def test_streams_are_contiguous_training_text_and_reset_only_first(make_task):
    task = make_task(TEXT, seq_len=16)
    batches = task.train_batches(epoch=3, batch_size=5, seed=7)
    train = task._ids["train"]
    rows = [[] for _ in range(5)]
    for k, batch in enumerate(batches):
        assert batch.reset.all() == (k == 0) and batch.reset.any() == (k == 0)
        if k:
            prev = batches[k - 1]
            assert np.array_equal(ids_of(batch.inputs)[:, 0], prev.targets[:, -1])
        for r in range(5):
            rows[r].extend(ids_of(batch.inputs)[r])
    starts = []
    for r in range(5):
        row = np.array(rows[r])
        hits = [s for s in range(len(train) - len(row) + 1)
                if np.array_equal(train[s : s + len(row)], row)]
        assert hits, f"row {r} is not a contiguous slice of the training text"
        starts.append(hits[0])
    stream_len = (len(train) - 1 - starts[0]) // 5  # equal, non-overlapping streams
    assert starts[0] < 16 and np.all(np.diff(starts) == stream_len)  # offset below seq_len
    assert len(batches) == stream_len // 16


def test_deterministic_in_epoch_batch_size_and_seed(make_task):
    task = make_task(TEXT, seq_len=10)
    a, b = task.train_batches(2, 4, 1), task.train_batches(2, 4, 1)
    assert len(a) == len(b)
    for k in (0, len(a) // 2, len(a) - 1):
        assert np.array_equal(a[k].inputs, b[k].inputs)
        assert np.array_equal(a[k].targets, b[k].targets)
    assert task.train_batches(2, 4, 1) is b  # cached: the trainer asks before every batch
    assert not np.array_equal(task.train_batches(2, 4, 2)[0].inputs, b[0].inputs)
    offsets = {epoch_offset(2700, 4, 10, e, 1) for e in range(20)}
    assert len(offsets) > 3 and offsets <= set(range(10))  # boundaries move between epochs
    assert epoch_offset(2700, 4, 10, 5, 1) == epoch_offset(2700, 4, 10, 5, 1)


def test_sequence_protocol():
    ids = np.arange(101) % 7
    batches = StreamBatches(ids, 7, batch_size=2, seq_len=10)
    assert len(batches) == 5 and len(list(batches)) == 5
    assert np.array_equal(batches[-1].targets, batches[4].targets)
    # Stream 1 starts at 50: its first window is ids 50..59, targets 51..60.
    assert np.array_equal(batches[0].targets[1], ids[51:61])
    with pytest.raises(IndexError):
        batches[5]


def test_offset_never_leaves_less_than_one_batch():
    # 41 characters: exactly one batch of 4 x 10 fits, so the offset must be 0 every epoch.
    assert {epoch_offset(41, 4, 10, e, 0) for e in range(10)} == {0}
    assert len(StreamBatches(np.zeros(41, np.int64), 2, 4, 10, offset=0)) == 1


def test_one_hot_and_eval_layout():
    out = one_hot(np.array([[2, 0]]), 3)
    assert np.array_equal(out, [[[0, 0, 1], [1, 0, 0]]]) and out.dtype == np.float32
    starts, lengths = eval_layout(10, 3)
    assert starts.tolist() == [0, 4, 7] and lengths.tolist() == [4, 3, 3]
    assert eval_layout(2, 5)[1].tolist() == [1, 1]


def test_default_data_is_the_builtin_tinyshakespeare():
    task = CharLMTask()
    spec = task.prepare()
    assert spec.input_size == 66  # 65 characters + <unk>
    assert task.source == "built-in tinyshakespeare"
    assert sum(len(task._ids[s]) for s in ("train", "val", "test")) == 1_115_394
    assert task.splits() == ("val", "test")
    assert task.vocab.decode(task._ids["test"][:14]) == "First Citizen:"


def test_state_dict_round_trip_keeps_the_vocabulary(make_task, tmp_path):
    task = make_task("abcabc" * 50 + "xyz")
    state = task.state_dict()
    other = tmp_path / "other.txt"
    other.write_text("zzzz" + "abc" * 100, encoding="utf-8")
    again = CharLMTask(data=str(other))
    again.prepare(state)
    assert again.vocab.chars == task.vocab.chars
    # 'z' was not a training character of the first text: it maps to <unk> (the text starts
    # with the test part)
    assert again._ids["test"][0] == again.vocab.unk_id == len(task.vocab.chars)


def test_unseen_validation_characters_map_to_unk(make_task):
    task = make_task("ab" * 500 + "Q")  # 'Q' only in the last 10%
    assert "Q" not in task.vocab.chars
    assert task._ids["val"][-1] == task.vocab.unk_id == 2


def test_test_split_is_the_start_and_validation_stays_the_last_part(make_task):
    task = make_task(TEXT, val_fraction=0.2, test_fraction=0.1)
    assert task.splits() == ("val", "test")
    sizes = [len(task._ids[s]) for s in ("train", "val", "test")]
    assert sizes == [2101, 600, 300]
    assert task.vocab.decode(task._ids["test"]) == TEXT[:300]
    assert task.vocab.decode(task._ids["train"]) == TEXT[300:2401]
    # the validation text is the same as without a test split (nanoGPT's split stays)
    without = make_task(TEXT, val_fraction=0.2, test_fraction=0.0)
    assert without.splits() == ("val",)
    np.testing.assert_array_equal(task._ids["val"], without._ids["val"])
    assert task.vocab.decode(task._ids["val"]) == TEXT[-600:-1] + "<unk>"  # final newline unseen


def test_a_test_split_is_held_out_by_default(make_task):
    task = make_task(TEXT)
    assert task.splits() == ("val", "test")
    assert [len(task._ids[s]) for s in ("test", "train", "val")] == [150, 2551, 300]


def test_max_chars_truncates_the_corpus(make_task):
    task = make_task(TEXT, max_chars=1000)
    assert sum(len(task._ids[s]) for s in ("train", "val", "test")) == 1000


def test_options_are_listed_with_types_defaults_and_help():
    opts = {o.name: o for o in CharLMTask.options}
    assert opts["seq_len"].default == 100 and opts["seq_len"].type is int
    assert opts["val_fraction"].default == 0.1 and opts["test_fraction"].default == 0.05
    assert opts["text_column"].default == "text"
    assert all(o.help for o in CharLMTask.options)
    assert CharLMTask.run_defaults["bptt"] == opts["seq_len"].default
    assert CharLMTask.metric == "loss" and CharLMTask.metric_mode == "min"


def test_registered_lazily_as_charlm():
    from seqframe_charlm import plugin

    seen = []
    plugin.seqframe_register_tasks(lambda *args: seen.append(args))
    assert seen[0][:2] == ("charlm", "seqframe_charlm.task:CharLMTask")
