"""The in-context learners (SNAIL, the Transformer) on real Omniglot characters: each query answered from
the support set alone, SNAIL's shared support prefix equal to the paper's per-query sequences, the
Transformer's indifference to the support order and its consistent label wiring, and the way a model
was built for."""

from __future__ import annotations

import copy

import numpy as np
import pytest

IN_CONTEXT = ("snail", "transformer_icl")


def episode(class_sets, way=5, shot=5, query=3, first=0):
    """An episode of real test characters: classes `first`.. `first + way`, the first `shot` drawings
    of each as the support set (the first index is the label), the next `query` as queries."""
    images = class_sets["test"].images[first : first + way, : shot + query].astype(np.float32) / 255
    queries = images[:, shot:].reshape(way * query, *images.shape[2:])
    return {"support_images": images[:, :shot], "query_images": queries}


def build(name: str, **config):
    from tfmeta import methods

    return methods.get(name)(**config)


@pytest.mark.parametrize("name", IN_CONTEXT)
def test_a_query_is_answered_from_the_support_set_alone(class_sets, name):
    model = build(name)
    one = episode(class_sets)
    logits = np.asarray(model(one))
    changed = copy.deepcopy(one)
    changed["query_images"][4] = class_sets["test"].images[40, 0].astype(np.float32) / 255  # another class
    again = np.asarray(model(changed))
    np.testing.assert_allclose(
        np.delete(again, 4, axis=0), np.delete(logits, 4, axis=0), rtol=1e-4, atol=1e-5
    )
    assert not np.allclose(again[4], logits[4])
    alone = np.asarray(model({**one, "query_images": one["query_images"][7:8]}))
    np.testing.assert_allclose(alone[0], logits[7], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shot, sized_for", [(1, 1), (5, 1), (5, 5)])
def test_snail_answers_each_query_as_the_last_element_of_its_own_sequence(class_sets, shot, sized_for):
    """The support prefix computed once gives the logits of the paper's sequences (support, query), run
    through the causal blocks position by position (dilations reaching before the start included)."""
    from keras import ops

    model = build("snail", shot=sized_for)
    support, queries = model.embed_episode(episode(class_sets, shot=shot))
    logits = np.asarray(model.read(support, queries))
    items, tokens = model.sequence(support, queries)
    for i in (0, 7, 14):
        sequence, none = ops.concatenate([items, tokens[i : i + 1]], axis=0), tokens[:0]
        for block in model.sequence_blocks:
            sequence, none = block(sequence, none)
        last = np.asarray(model.output_layer(sequence[-1:]))[0]
        np.testing.assert_allclose(last, logits[i], rtol=1e-4, atol=1e-5)


def test_the_transformer_ignores_the_order_of_the_support_items(class_sets):
    model = build("transformer_icl")
    one = episode(class_sets)
    reordered = {**one, "support_images": one["support_images"][:, [3, 0, 4, 1, 2]]}
    np.testing.assert_allclose(model(reordered), model(one), rtol=1e-4, atol=1e-5)


def test_the_transformer_reads_each_support_item_with_its_label(class_sets):
    """Relabelling the support classes by a permutation, with the label embeddings and the logits' weights
    permuted alike, permutes the logits' columns the same way and changes nothing else."""
    model = build("transformer_icl")
    one = episode(class_sets)
    logits = np.asarray(model(one))
    order = [2, 0, 1, 4, 3]  # new class c is old class order[c]
    embeddings = model.label_embedding.get_weights()[0]
    kernel, bias = model.head.get_weights()
    model.label_embedding.set_weights([np.concatenate([embeddings[order], embeddings[5:]])])
    model.head.set_weights([kernel[:, order], bias[order]])
    relabelled = np.asarray(model({**one, "support_images": one["support_images"][order]}))
    np.testing.assert_allclose(relabelled, logits[:, order], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", IN_CONTEXT)
def test_an_episode_of_another_way_is_refused_naming_both(class_sets, name):
    model = build(name)
    with pytest.raises(
        ValueError, match=r"was built with way=5 .* but the episode is 20-way; train one with"
    ):
        model(episode(class_sets, way=20, shot=1, query=1))
    assert build(name, way=20)(episode(class_sets, way=20, shot=1, query=1)).shape == (20, 20)
