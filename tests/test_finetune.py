"""The encoder's fine-tuning data and its honest measurement (tools/finetune_encoder.py,
bench/finetune_cv.py): a held-out writer's words never reach the encoder that reads them, and the
supervised-contrastive batches give every message a partner of its label. The fine-tune itself
needs torch (the bench extra) and is measured by the bench; only the loss is checked here, and
only where torch is installed."""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

import pytest

from chatbot.understand import corpus, crossval
from chatbot.understand.corpus import Example
from chatbot.understand.features import fold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from bench.finetune_cv import deal, held_out  # noqa: E402
from finetune_encoder import (Recipe, Row, add_recipe_options, recipe_from, supcon,  # noqa: E402
                              supcon_batches, training_data, training_rows)

FOLDS = 5


@pytest.fixture(scope="module")
def data() -> tuple[list[Example], list[Example]]:
    return training_data(ROOT)


def test_every_supcon_batch_gives_each_label_a_partner(data: tuple[list[Example], list[Example]]) -> None:
    topics, flags = data
    rows = training_rows(topics, flags)
    recipe = Recipe.of("supcon", redflags=True)
    batches = supcon_batches(rows, recipe, random.Random(0))
    assert len(batches) == int(len(topics) * recipe.epochs) // recipe.batch
    for batch in batches:
        topic_labels = Counter(rows[i].topic for i in batch if rows[i].topic is not None)
        bank_labels = Counter(rows[i].redflag for i in batch if rows[i].topic is None)
        assert len(topic_labels) == recipe.labels_per_batch and min(topic_labels.values()) >= 2
        # The second task: calm and urgent kinds of the bank, each with a partner too.
        assert corpus.CALM in bank_labels and len(bank_labels) == recipe.redflag_labels_per_batch
        assert min(bank_labels.values()) >= 2
        assert len(set(batch)) == len(batch)
    assert supcon_batches(rows, recipe, random.Random(0)) == batches


def test_topic_only_supcon_batches_hold_no_red_flag_messages(data: tuple[list[Example], list[Example]]) -> None:
    topics, _ = data
    rows = training_rows(topics, [])
    for batch in supcon_batches(rows, Recipe.of("supcon"), random.Random(1)):
        assert all(rows[i].topic is not None and rows[i].redflag is None for i in batch)
        assert min(Counter(rows[i].topic for i in batch).values()) >= 2


def test_a_label_with_a_single_message_is_never_drawn() -> None:
    rows = [Row(f"message {i}", f"label{i % 3}", None, "w") for i in range(30)] + [Row("alone", "lonely", None, "w")]
    recipe = Recipe.of("supcon", epochs=20.0, batch=8, labels_per_batch=4)
    drawn = {rows[i].topic for b in supcon_batches(rows, recipe, random.Random(0)) for i in b}
    assert drawn == {"label0", "label1", "label2"}


def test_no_held_out_writers_text_is_in_its_folds_training_data(data: tuple[list[Example], list[Example]]) -> None:
    topics, flags = data
    fold_of = deal(topics, flags, FOLDS)
    assert {e.writer for e in [*topics, *flags]} == set(fold_of)
    for f in range(FOLDS):
        t_held, r_held = held_out(topics, fold_of, f), held_out(flags, fold_of, f)
        train_t = [e for e, h in zip(topics, t_held) if not h]
        train_r = [e for e, h in zip(flags, r_held) if not h]
        held_writers = {w for w, g in fold_of.items() if g == f}
        rows = training_rows(train_t, train_r)
        assert not {r.writer for r in rows} & held_writers
        # Texts only the held-out writers wrote (the same words from another writer may be trained on).
        theirs = {fold(e.text) for e, h in zip([*topics, *flags], [*t_held, *r_held]) if h}
        others = {fold(e.text) for e, h in zip([*topics, *flags], [*t_held, *r_held]) if not h}
        trained = {rows[i].text for b in supcon_batches(rows, Recipe.of("supcon", redflags=True), random.Random(f))
                   for i in b}
        assert trained and not (trained & theirs) - others
        # Every fold holds out urgent messages, so the red-flag figures are held-out ones.
        assert any(e.label.startswith(corpus.URGENT_PREFIX) for e, h in zip(flags, r_held) if h)


def test_the_command_line_picks_supcon_with_its_best_settings() -> None:
    ap = argparse.ArgumentParser()
    add_recipe_options(ap)
    supcon_recipe = recipe_from(ap.parse_args(["--recipe", "supcon"]))
    assert (supcon_recipe.loss, supcon_recipe.epochs, supcon_recipe.redflags) == ("supcon", 0.15, False)
    assert recipe_from(ap.parse_args(["--recipe", "supcon", "--redflags"])).redflags
    ce = recipe_from(ap.parse_args([]))
    assert (ce.loss, ce.epochs, ce.redflags) == ("ce", 1.0, True)
    assert not recipe_from(ap.parse_args(["--no-redflags", "--epochs", "0.5"])).redflags
    with pytest.raises(SystemExit, match="unknown fine-tuning recipe"):
        Recipe.of("triplet")


def test_supcon_loss_is_low_when_each_label_sits_together() -> None:
    torch = pytest.importorskip("torch")
    a, b, c = torch.eye(3)
    labels = ["x", "x", "y", "y"]
    together = supcon(torch.stack([a, a, b, b]), labels, 0.1)
    mixed = supcon(torch.stack([a, b, a, b]), labels, 0.1)
    assert float(together) < 0.1 < float(mixed)
    # Unlabelled rows sit out; rows that are not anchors are not pulled, only pulled to or pushed from.
    assert float(supcon(torch.stack([a, a, b, b, a]), [*labels, None], 0.1)) == pytest.approx(float(together))
    assert float(supcon(torch.stack([a, a, b, b]), [None, None, None, None], 0.1)) == 0.0
    half = torch.stack([a, a, b, c])                     # x sits together, y does not
    assert float(supcon(half, labels, 0.1, anchors=[True, True, False, False])) < 0.1
    assert float(supcon(half, labels, 0.1, anchors=[False, False, True, True])) > 1.0


def test_a_fine_tuned_encoder_takes_both_models_bars_from_its_grouped_cross_validation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the encoder has seen every writer, leave-one-writer-out bars would flatter it: the
    answer bars and the red-flag bars both come from bench/finetune_cv.py --write, made on these
    very examples; a record made on other examples stops the build instead of being used."""
    import json

    import finetune_encoder
    import train_understanding as tu
    record, cv = tmp_path / "minilm.json", tmp_path / "encoder-cv.json"
    monkeypatch.setattr(finetune_encoder, "RECORD_FILE", record)
    monkeypatch.setattr(finetune_encoder, "CV_FILE", cv)
    examples = [Example("what is radiotherapy", "radiotherapy", "w1")]
    assert tu.fine_tuned_bars(examples) is None and tu.fine_tuned_safety_bars("x") is None   # stock encoder
    bars = {"answer": 0.9, "margin": 0.0, "option": 0.05, "clarify": 0.4}
    made = {"fingerprint": corpus.fingerprint(examples), "bars": bars, "cv": {"accuracy": 0.8},
            "redflags_fingerprint": "flags", "redflag_bars": {"urgent": 0.9, "checkin": 0.2},
            "redflags_cv": {"recall": 0.97}, "recipe": {"loss": "supcon"},
            "safety_rules": finetune_encoder.safety_rules_fingerprint(),
            "composed_weight": tu.knowledge.load(tu.ROOT).matching.composed_weight}
    record.write_text(json.dumps({"recipe": {"loss": "supcon"}}), encoding="utf-8")
    cv.write_text(json.dumps(made), encoding="utf-8")
    got = tu.fine_tuned_bars(examples)
    assert got is not None and got[0].to_dict() == bars
    assert tu.fine_tuned_safety_bars("flags") == ({"urgent": 0.9, "checkin": 0.2}, {"recall": 0.97})
    with pytest.raises(SystemExit, match="finetune_cv.py --write"):
        tu.fine_tuned_safety_bars("other flags")
    with pytest.raises(SystemExit, match="these examples"):
        tu.fine_tuned_bars([*examples, Example("chemo?", "chemotherapy", "w1")])
    # Bars chosen for another fine-tune, with other red-flag rules, or on follow-ups mixed with
    # their composed reading at another weight, are refused too.
    for key, other, why in (("recipe", {"loss": "ce"}, "recipe"), ("safety_rules", "0" * 16, "config/safety.yml"),
                            ("composed_weight", -1.0, "composed_weight")):
        cv.write_text(json.dumps({**made, key: other}), encoding="utf-8")
        with pytest.raises(SystemExit, match=why):
            tu.fine_tuned_safety_bars("flags")


def test_kept_readings_are_used_again_only_for_the_same_examples_recipe_and_folds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--from-readings chooses bars again without fine-tuning, never on readings of other data."""
    import numpy as np

    import bench.finetune_cv as cv
    monkeypatch.setattr(cv, "READINGS_FILE", tmp_path / "finetune_cv.npz")
    topics = [Example("what is chemo", "chemotherapy", "w1"), Example("and after?", "checkups", "w2", context="surgery")]
    flags = [Example(f"message {n}", "calm", "w3") for n in range(4)]
    with pytest.raises(SystemExit, match="without --from-readings"):
        cv.kept_readings("a:b:recipe:3", topics, flags)           # nothing kept yet
    t, r = np.array([[0.1, 0.9], [0.8, 0.2]], np.float32), np.full((4, 2), 0.25, np.float32)
    np.savez(cv.READINGS_FILE, key=np.array("a:b:recipe:3"), t_rows=crossval.row_keys(topics),
             r_rows=crossval.row_keys(flags), t_read=np.ones(2, bool), r_read=np.ones(4, bool),
             t_stock=t, t_tuned=t * 2, t_stock_composed=t / 2, t_tuned_composed=t / 4, r_stock=r, r_tuned=r * 2)
    t_probs, t_comp, r_probs, t_read, r_read = cv.kept_readings("a:b:recipe:3", topics, flags)
    assert np.array_equal(t_probs["fine-tuned"], t * 2) and np.array_equal(r_probs["stock"], r) and t_read.all()
    assert np.array_equal(t_comp["fine-tuned"], t / 4)
    # The same examples listed in another order (a file rewritten) get their own readings back.
    swapped, swapped_comp, _, _, _ = cv.kept_readings("a:b:recipe:3", topics[::-1], flags)
    assert np.array_equal(swapped["stock"], t[::-1]) and np.array_equal(swapped_comp["stock"], t[::-1] / 2)
    with pytest.raises(SystemExit, match="without --from-readings"):
        cv.kept_readings("a:b:recipe:3", [*topics, Example("more", "surgery", "w4")], flags)   # other examples
    with pytest.raises(SystemExit, match="without --from-readings"):
        cv.kept_readings("a:b:recipe:5", topics, flags)           # other folds
