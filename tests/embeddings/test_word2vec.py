"""Word2Vec training: it learns planted structure, repeats for a seed, and reports loss per epoch."""

from __future__ import annotations

import numpy as np
import pytest

from seqdl import KeyedVectors, Word2Vec
from seqdl.embeddings.jobs import make_jobs
from seqdl.embeddings.params import Word2VecParams
from seqdl.errors import CorpusError, ParameterError, TrainingError
from seqdl.text.vocab import WordIndex

from .conftest import planted_sentences, topic_separation

# Every word of the tiny planted corpus is "frequent", so subsampling is off except where tested.
SMALL = dict(dim=24, min_count=1, epochs=5, seed=3, sample=0)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
@pytest.mark.parametrize("loss,negative", [("negative", 5), ("sampled-softmax", 12), ("softmax", 5)])
def test_training_learns_the_planted_topics_and_the_loss_falls(planted, model, loss, negative):
    w2v = Word2Vec(model=model, loss=loss, negative=negative, workers=1, **SMALL).train(planted)
    assert isinstance(w2v.wv, KeyedVectors) and len(w2v.wv) == 6 * 8 + 4
    assert topic_separation(w2v.wv) > 0.3
    assert len(w2v.loss_history) == 5 and all(np.isfinite(w2v.loss_history))
    # The loss of the same model before it learns anything (learning rate ~0).
    untrained = Word2Vec(model=model, loss=loss, negative=negative, workers=1,
                         **{**SMALL, "epochs": 1, "alpha": 1e-9, "min_alpha": 1e-9}).train(planted)
    assert w2v.loss_history[-1] < 0.8 * untrained.loss_history[0]


def test_untrained_vectors_show_no_topic_structure(planted):
    w2v = Word2Vec(workers=1, **{**SMALL, "epochs": 1, "alpha": 1e-9, "min_alpha": 1e-9}).train(planted)
    assert abs(topic_separation(w2v.wv)) < 0.1


def test_subsampling_drops_frequent_words(planted):
    kept = Word2Vec(workers=1, **SMALL).train(planted).predictions_per_epoch
    subsampled = Word2Vec(workers=1, **{**SMALL, "sample": 1e-3}).train(planted).predictions_per_epoch
    # Every word has frequency ~1/50 here: word2vec's rule keeps about a third of them.
    assert 0.1 * sum(kept) < sum(subsampled) < 0.5 * sum(kept)


def test_same_seed_with_one_worker_gives_identical_vectors(planted):
    first = Word2Vec(workers=1, **SMALL).train(planted)
    again = Word2Vec(workers=1, **SMALL).train(planted)
    other = Word2Vec(workers=1, **{**SMALL, "seed": 4}).train(planted)
    np.testing.assert_array_equal(first.wv.vectors, again.wv.vectors)
    assert first.loss_history == again.loss_history
    assert not np.array_equal(first.wv.vectors, other.wv.vectors)


def test_a_file_trains_exactly_like_the_same_token_lists(planted, planted_file):
    from_list = Word2Vec(workers=1, **SMALL).train(planted)
    from_file = Word2Vec(workers=1, **SMALL).train(planted_file)
    assert from_file.wv.index_to_key == from_list.wv.index_to_key
    np.testing.assert_array_equal(from_file.wv.vectors, from_list.wv.vectors)


def test_loss_history_with_two_workers_counts_every_job():
    sentences = planted_sentences(n_sentences=3000)  # several jobs per epoch
    one = Word2Vec(workers=1, **SMALL).train(sentences)
    two = Word2Vec(workers=2, **SMALL).train(sentences)
    # Which pairs are trained depends only on the seed, never on the threads...
    assert two.predictions_per_epoch == one.predictions_per_epoch
    assert sum(two.predictions_per_epoch) > 5 * 3000 * 12
    # ...so the per-epoch means agree up to Hogwild's update order.
    np.testing.assert_allclose(two.loss_history, one.loss_history, rtol=0.05)
    assert topic_separation(two.wv) > 0.3


def test_jobs_keep_every_word_of_a_long_sentence():
    index = WordIndex({"a": 0, "b": 1})
    sentences = [["a"] * 5, ["b", "x"] * 130, ["a", "b"]]
    jobs = list(make_jobs(sentences, index, epoch=0, first_number=4, words_before=0, job_words=100))
    assert [j.number for j in jobs] == list(range(4, 4 + len(jobs)))
    assert all(j.words <= 100 for j in jobs)
    ids = np.concatenate([j.ids for j in jobs])
    assert ids.tolist() == [0] * 5 + [1, -1] * 130 + [0, 1]
    assert [j.words_before for j in jobs] == np.cumsum([0] + [j.words for j in jobs[:-1]]).tolist()
    assert all(j.sentence_ends[-1] == j.words for j in jobs)


def test_nothing_left_after_min_count_is_a_corpus_error(planted_file):
    with pytest.raises(CorpusError) as info:
        Word2Vec(min_count=10_000, workers=1).train(planted_file)
    assert str(planted_file) in str(info.value) and "min-count" in str(info.value)


def test_a_generator_corpus_is_refused(planted):
    with pytest.raises(TypeError, match="re-iterable"):
        Word2Vec(workers=1, **SMALL).train(s for s in planted)


def test_divergence_is_a_training_error(planted):
    with pytest.raises(TrainingError, match="NaN"):
        Word2Vec(workers=1, **{**SMALL, "alpha": 1e30, "min_alpha": 1e30}).train(planted)


@pytest.mark.parametrize("bad", [dict(model="glove"), dict(loss="hs"), dict(dim=0), dict(workers=0), dict(seed=-1),
                                 dict(alpha=float("nan")), dict(sample=float("inf")), dict(window=2.5)])
def test_bad_parameters_are_refused_naming_the_parameter(bad):
    with pytest.raises(ParameterError) as info:
        Word2Vec(**bad)
    assert info.value.param == next(iter(bad))


def test_params_object_and_keywords_are_the_same_model():
    params = Word2VecParams(dim=7, model="cbow")
    assert Word2Vec(params).params == Word2Vec(dim=7, model="cbow").params == params
    assert Word2Vec(params, window=3).params.window == 3 and params.window == 5
    assert Word2Vec(model="cbow").alpha == 0.05 and Word2Vec().alpha == 0.025


# Values the implementation before the kernels were split into per-architecture kernels
# (commit ef4e56b) produced: the refactor must train exactly the same vectors for a seed.
PINNED = {
    ("skipgram", "negative", 5): ([0.4186971187591553, -0.25804635882377625, -0.0895552784204483],
                                  [0.18011173605918884, -0.19979265332221985, 0.028997991234064102]),
    ("cbow", "sampled-softmax", 8): ([0.046246785670518875, -0.06807234138250351, -0.026016395539045334],
                                     [-0.03119019791483879, -0.11019187420606613, 0.0844089463353157]),
    ("skipgram", "softmax", 5): ([0.04630528390407562, -0.042420644313097, -0.032659005373716354],
                                 [-0.03727565333247185, -0.0933423638343811, 0.07578923553228378]),
}


@pytest.mark.parametrize("model,loss,negative", list(PINNED))
def test_one_worker_trains_the_vectors_the_implementation_before_the_refactor_did(planted, model, loss, negative):
    w2v = Word2Vec(model=model, loss=loss, negative=negative, dim=16, min_count=1, epochs=2, workers=1,
                   seed=3).train(planted)
    first, last = PINNED[model, loss, negative]
    # Equal bits on the machine they were recorded on; fastmath may reassociate differently elsewhere.
    np.testing.assert_allclose(w2v.wv.vectors[0, :3], first, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w2v.wv.vectors[40, :3], last, rtol=1e-4, atol=1e-6)


def test_save_and_load_round_trip(planted, tmp_path):
    w2v = Word2Vec(workers=1, **{**SMALL, "epochs": 2}).train(planted)
    w2v.save(tmp_path / "model.npz")
    back = Word2Vec.load(tmp_path / "model.npz")
    assert back.params == w2v.params and back.loss_history == w2v.loss_history
    assert back.wv.index_to_key == w2v.wv.index_to_key
    np.testing.assert_array_equal(back.wv.vectors, w2v.wv.vectors)
    np.testing.assert_array_equal(back.syn1, w2v.syn1)
    np.testing.assert_array_equal(back.wv.counts, w2v.wv.counts)


def test_job_cache_replays_the_first_epochs_jobs_and_cleans_up():
    from seqdl.embeddings.jobcache import JobCache

    index = WordIndex({"a": 0, "b": 1, "c": 2})
    sentences = [["a", "b", "zz"] * 40, ["c"], ["b", "a"] * 70]
    first = list(make_jobs(sentences, index, epoch=0, first_number=0, words_before=0, job_words=100))
    with JobCache() as cache:
        for job in first:
            cache.add(job)
        folder = cache._ids_path.parent
        total = sum(j.words for j in first)
        again = list(cache.replay(epoch=1, first_number=len(first), words_before=total))
        assert list(cache.replay(epoch=2, first_number=0, words_before=0))[-1].ids.tolist() == first[-1].ids.tolist()
    assert not folder.exists()
    assert [j.number for j in again] == list(range(len(first), 2 * len(first)))
    assert all(j.epoch == 1 for j in again)
    assert [j.words_before for j in again] == [total + j.words_before for j in first]
    for old, new in zip(first, again):
        np.testing.assert_array_equal(new.ids, old.ids)
        np.testing.assert_array_equal(new.sentence_ends, old.sentence_ends)


def test_an_interrupted_training_stops_its_threads_and_leaves_no_temporary_files(monkeypatch, tmp_path):
    import tempfile
    import threading

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sentences = planted_sentences(n_sentences=3000)

    class Interrupt:
        def update(self, done, total=None, **fields):
            raise KeyboardInterrupt

    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        Word2Vec(workers=2, **{**SMALL, "epochs": 50}).train(sentences, progress=Interrupt())
    assert threading.active_count() == before
    assert list(tmp_path.iterdir()) == []
