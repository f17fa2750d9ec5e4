"""word2vec on a Dask LocalCluster: same vocabulary, same quality, survives a killed worker, one-line errors."""

from __future__ import annotations

import contextlib
import gzip
import os
import signal

import numpy as np
import pytest

import seqdl

pytest.importorskip("distributed")

from seqdl.distributed import ClusterError, connect, train_word2vec
from seqdl.distributed import tasks
from seqdl.distributed import word2vec as cluster_word2vec
from seqdl.distributed.word2vec import block_rows, group_segments, plan_rounds
from seqdl.errors import CorpusError
from seqdl.text.corpus import Corpus
from seqdl.text.vocab import Vocabulary

SMALL = dict(dim=24, window=3, epochs=2, seed=3, workers=1)


def test_vocabulary_merged_across_shards_equals_one_process_count(client, tmp_path):
    lines = [" ".join(f"w{(i * 7 + j * 13) % 97}" for j in range(i % 11 + 1)) for i in range(3000)]
    (tmp_path / "a.txt").write_text("\n".join(lines[:2000]) + "\n")
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(("\n".join(lines[2000:]) + "\n").encode()))
    model = train_word2vec(seqdl.Word2Vec(min_count=1, epochs=1, dim=8), tmp_path, client, sync_words=500)
    expected = Vocabulary.build(Corpus.open(tmp_path), min_count=1)
    assert model.wv.index_to_key == expected.words            # same words, same order (ties by first appearance)
    assert model.wv.counts.tolist() == expected.counts.tolist()
    assert sum(model.predictions_per_epoch) > 0


def test_segments_are_grouped_into_equal_units_of_about_sync_words():
    assert group_segments([50] * 6, 100) == [[0, 1], [2, 3], [4, 5]]
    assert group_segments([50] * 5, 100) == [[0, 1], [2, 3, 4]]        # 250 words: two units, not 2 + 2 + 1
    assert group_segments([10] * 40, 100) == [list(range(i, i + 10)) for i in range(0, 40, 10)]
    assert group_segments([30, 80, 10, 200, 5], 100) == [[0, 1], [2], [3, 4]]  # a large segment stays whole
    assert group_segments([7, 7, 7], 1) == [[0], [1], [2]]
    assert group_segments([7, 7, 7], 10_000) == [[0, 1, 2]]
    assert group_segments([], 100) == []
    for words in ([3, 9, 1, 4, 4, 8, 2, 6, 5, 7] * 7, [1] * 1000):
        groups = group_segments(words, 50)
        assert [i for group in groups for i in group] == list(range(len(words)))  # every segment, in order
        sizes = [sum(words[i] for i in group) for group in groups]
        assert max(sizes) - min(sizes) <= 2 * max(words)


def test_a_folder_of_small_files_trains_sync_words_per_round_not_a_file(client, tmp_path):
    rng = np.random.default_rng(0)
    for i in range(40):  # 40 files of 500 words: 20,000 words an epoch
        lines = (" ".join(f"w{j}" for j in rng.integers(0, 50, 25)) for _ in range(20))
        (tmp_path / f"part{i:02d}.txt").write_text("\n".join(lines) + "\n")

    class Rounds:
        last, words = None, 0

        def update(self, done, total=None, **fields):
            self.last, self.words = fields.get("round", self.last), done

        def write(self, line):
            pass

        def close(self):
            pass

    rounds = Rounds()
    train_word2vec(seqdl.Word2Vec(min_count=1, epochs=2, dim=8), tmp_path, client, sync_words=5_000,
                   progress=rounds)
    # Units of 10 files (5,000 words): 4 an epoch, 8 in all, 2 a round; one file a unit would make 40 rounds.
    assert rounds.last == "4/4"
    assert rounds.words == 2 * 20_000


def test_distributed_vectors_are_as_good_as_one_process(client, tmp_path, demo_corpus, analogy_accuracy):
    path = tmp_path / "demo.txt"
    demo_corpus(path, 0.15)
    single = seqdl.Word2Vec(**{**SMALL, "epochs": 3, "dim": 32}).train(path)
    spread = train_word2vec(seqdl.Word2Vec(**{**SMALL, "epochs": 3, "dim": 32}), path, client, sync_words=10_000)
    assert spread.wv.index_to_key == single.wv.index_to_key
    one, many = analogy_accuracy(single.wv), analogy_accuracy(spread.wv)
    assert one > 0.3                      # the planted relations are learnt at all...
    assert many >= one - 0.08, (one, many)  # ...and as well by the cluster
    assert np.isfinite(spread.loss_history).all() and spread.loss_history[-1] < spread.loss_history[0]


def test_plain_model_averaging_is_available_and_slower_to_learn(client, tmp_path, demo_corpus):
    path = tmp_path / "demo.txt"
    demo_corpus(path, 0.05)
    summed = train_word2vec(seqdl.Word2Vec(**SMALL), path, client, sync_words=5_000)
    averaged = train_word2vec(seqdl.Word2Vec(**SMALL), path, client, sync_words=5_000, merge="mean")
    assert averaged.loss_history[-1] > summed.loss_history[-1]


def test_a_run_is_reproducible_and_a_killed_worker_changes_nothing(tmp_path, demo_corpus):
    path = tmp_path / "demo.txt"
    demo_corpus(path, 0.05)
    with connect("local:2") as dask_client:
        dask_client.wait_for_workers(2, timeout=60)
        first = train_word2vec(seqdl.Word2Vec(**SMALL), path, dask_client, sync_words=3_000)
        victims = list(dask_client.run(os.getpid).values())

        class KillAtRoundThree:
            killed = False

            def update(self, done, total=None, **fields):
                if fields.get("round", "").startswith("3/") and not self.killed:
                    os.kill(victims[0], signal.SIGKILL)  # a worker process dies mid-run
                    self.killed = True

            def write(self, line):
                pass

            def close(self):
                pass

        killer = KillAtRoundThree()
        second = train_word2vec(seqdl.Word2Vec(**SMALL), path, dask_client, sync_words=3_000, progress=killer)
        assert killer.killed
        assert victims[0] not in dask_client.run(os.getpid).values()  # the process really is gone
    assert second.wv.index_to_key == first.wv.index_to_key
    np.testing.assert_array_equal(second.wv.vectors, first.wv.vectors)  # rerun tasks give the same result
    np.testing.assert_array_equal(second.syn1, first.syn1)


def test_rounds_give_every_worker_a_unit_down_to_the_last():
    groups, words = [[0, 1, 2], [3, 4], [5, 6, 7, 8]], [10] * 9
    rounds = plan_rounds(groups, words, epochs=2, workers=4)  # 6 units: the last round would hold 2 of 4
    assert rounds == [[(0, [0, 1, 2]), (0, [3, 4]), (0, [5, 6, 7, 8]), (1, [0, 1, 2])],
                      [(1, [3]), (1, [4]), (1, [5, 6]), (1, [7, 8])]]   # the largest cut first, at its middle
    assert plan_rounds([[0, 1, 2, 3]], [100, 1, 1, 1], 1, 2) == [[(0, [0]), (0, [1, 2, 3])]]
    assert plan_rounds([[0]], [5], 3, 2) == [[(0, [0]), (1, [0])], [(2, [0])]]  # one segment cannot be cut
    assert plan_rounds([[0, 1], [2, 3]], [5] * 4, 3, 1) == [[(e, g)] for e in range(3) for g in ([0, 1], [2, 3])]
    for workers in (2, 3, 5):
        rounds = plan_rounds(groups, words, 3, workers)
        trained = [(epoch, s) for units in rounds for epoch, segments in units for s in segments]
        assert trained == [(e, s) for e in range(3) for s in range(9)]  # every segment once an epoch, in order
        assert all(len(units) == workers for units in rounds)


def test_the_weights_are_cut_into_one_block_of_rows_per_worker():
    for vocab_size, workers in [(10, 1), (10, 2), (10, 3), (18_890, 4), (3, 5), (1, 1)]:
        rows = block_rows(vocab_size, workers)
        assert len(rows) == min(workers, vocab_size)
        assert rows[0][0] == 0 and rows[-1][1] == vocab_size
        assert all(stop == start for (_, stop), (start, _) in zip(rows, rows[1:]))  # consecutive, no gap
        sizes = [stop - start for start, stop in rows]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_a_block_merges_whole_changes_and_cut_rows_alike_in_unit_order():
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((7, 3), dtype=np.float32) for _ in range(2)]
    changes = [tuple(rng.standard_normal((7, 3), dtype=np.float32) for _ in range(2)) for _ in range(3)]
    results = [(change, [f"stats {k}"]) for k, change in enumerate(changes)]
    start, stop = 2, 5
    block = tuple(w[start:stop] for w in weights)
    parts = [results[0], tasks.rows_of(results[1], start, stop, True), tasks.rows_of(results[2], start, stop, False)]
    assert parts[2][1] == [] and parts[1][0][0].shape == (3, 3)
    for merge, scale in (("sum", 1), ("mean", 3)):
        merged = tasks.merge_block(block, parts, start, 3, merge)
        for i in (0, 1):  # the bits of ((a + b) + c), added over the whole matrices
            whole = weights[i] + ((changes[0][i] + changes[1][i]) + changes[2][i]) / np.float32(scale)
            np.testing.assert_array_equal(merged[i], whole[start:stop])
    assert tasks.stats_of(parts) == ["stats 0", "stats 1"]


@pytest.mark.parametrize("workers", [2, 3])
def test_merging_by_blocks_gives_the_bits_of_merging_whole_matrices(workers, client, tmp_path, demo_corpus,
                                                                    monkeypatch):
    path = tmp_path / "demo.txt"
    demo_corpus(path, 0.03)
    with contextlib.ExitStack() as stack:
        dask_client = client if workers == 2 else stack.enter_context(connect(f"local:{workers}"))
        dask_client.wait_for_workers(workers, timeout=60)
        blocks = train_word2vec(seqdl.Word2Vec(**SMALL), path, dask_client, sync_words=2_000)
        with monkeypatch.context() as patch:  # one block: every change travels whole to one worker
            patch.setattr(cluster_word2vec, "block_rows", lambda vocab_size, _: [(0, vocab_size)])
            whole = train_word2vec(seqdl.Word2Vec(**SMALL), path, dask_client, sync_words=2_000)
    np.testing.assert_array_equal(blocks.wv.vectors, whole.wv.vectors)
    np.testing.assert_array_equal(blocks.syn1, whole.syn1)
    assert blocks.loss_history == whole.loss_history


def test_a_path_a_worker_cannot_read_is_named(client, tmp_path):
    (tmp_path / "a.txt").write_text("one two three\n" * 50)
    (tmp_path / "b.txt").write_text("four five six\n" * 50)
    corpus = Corpus.open(tmp_path)                      # resolved here...
    (tmp_path / "b.txt").unlink()                       # ...but gone by the time a worker reads it
    with pytest.raises(CorpusError) as info:
        train_word2vec(seqdl.Word2Vec(**SMALL), corpus, client)
    assert str(tmp_path / "b.txt") in str(info.value) and "no such corpus file" in str(info.value)


def test_a_shard_that_is_not_utf8_is_named_with_its_offset(client, tmp_path):
    good = b"alpha beta gamma delta\n" * 4000
    path = tmp_path / "big.txt"
    path.write_bytes(good + b"bad \xff byte\n" + good)
    with pytest.raises(CorpusError) as info:
        train_word2vec(seqdl.Word2Vec(**SMALL), path, client)
    assert info.value.path == str(path) and info.value.offset == len(good) + 4
    assert f"byte {len(good) + 4}" in str(info.value) and "invalid UTF-8" in str(info.value)


def test_an_unreachable_scheduler_is_one_line_naming_it():
    with pytest.raises(ClusterError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        with connect("127.0.0.1:9", timeout=1):
            pass


def test_bad_cluster_specs_are_refused():
    with pytest.raises(ClusterError, match="local:N"):
        with connect("local:zero"):
            pass


def test_tasks_may_train_with_several_threads(client, tmp_path, demo_corpus):
    path = tmp_path / "demo.txt"
    demo_corpus(path, 0.05)
    one = seqdl.Word2Vec(**SMALL).train(path, client=client, sync_words=30_000)  # 3 jobs per task
    two = seqdl.Word2Vec(**{**SMALL, "workers": 2}).train(path, client=client, sync_words=30_000)
    assert two.wv.index_to_key == one.wv.index_to_key
    assert two.loss_history[-1] == pytest.approx(one.loss_history[-1], rel=0.05)  # the same training, threaded


def test_token_lists_cannot_be_trained_on_a_cluster(client):
    with pytest.raises(TypeError, match="reads the corpus on the workers"):
        seqdl.Word2Vec(**SMALL).train([["a", "b"], ["c", "d"]], client=client)


def test_the_local_cluster_leaves_the_callers_environment_as_it_was(monkeypatch):
    """Dask's nannies write the workers' variables into this process's environment; connect puts them back."""
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "12345")
    for name in ("MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with connect("local:1") as one:
        assert set(one.run(lambda: os.environ.get("OMP_NUM_THREADS")).values()) == {"1"}
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") == "12345"
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ and "OMP_NUM_THREADS" not in os.environ


def test_the_local_cluster_listens_on_loopback_only_and_keeps_freed_memory(client):
    """local:N binds nothing but 127.0.0.1 (its scheduler's HTTP server included), and its workers run with
    malloc keeping freed memory while keeping Dask's one-thread BLAS/OpenMP settings."""
    import psutil

    me = psutil.Process()
    listening = [conn.laddr.ip for process in (me, *me.children(recursive=True))
                 for conn in getattr(process, "net_connections", process.connections)(kind="tcp")
                 if conn.status == psutil.CONN_LISTEN]
    assert listening and set(listening) == {"127.0.0.1"}
    environments = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")))
    assert set(environments.values()) == {(str(256 << 20), "1")}
