"""BDPO (DESIGN §6): the loss's maths, its λ = 1 equivalence with DPO, and the trainer on a tiny model."""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from trl import DPOConfig, DPOTrainer

from workbench.train.bdpo import BDPOConfig, BDPOTrainer, bdpo_loss, bdpo_margin

REWARD_KEYS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins"]
LOGGED_KEYS = [*REWARD_KEYS, "logps/chosen", "logps/rejected"]

PAIRS = [
    ("What is the capital of France?", "Paris is the capital of France.", "I am not sure, maybe Lyon."),
    ("Hello!", "Hello! How can I help?", "Go away."),
    ("Is the plan risky?", "Yes: the real risk is clear, and honest.", "No risk at all, trust me."),
    ("Review my report.", "Good feedback is specific: see the numbers.", "It is perfect."),
]


def _rl_grad(rejected: float, lam: float, beta: float, chosen: float = 0.0) -> float:
    """d loss / d r_l at one point, by autograd in float64."""
    r_l = torch.tensor([rejected], dtype=torch.float64, requires_grad=True)
    bdpo_loss(torch.tensor([chosen], dtype=torch.float64), r_l, beta, lam).sum().backward()
    assert r_l.grad is not None
    return r_l.grad.item()


# --- the loss as a function --------------------------------------------------------------------------------------


def test_lambda_one_is_dpo_bit_for_bit() -> None:
    gen = torch.Generator().manual_seed(0)
    r_w, r_l = (torch.randn(4096, generator=gen) * 20 for _ in range(2))
    for beta in (0.1, 0.5, 2.0):
        expected = -F.logsigmoid(beta * (r_w - r_l))
        assert torch.equal(bdpo_loss(r_w, r_l, beta, 1.0), expected)
    # Gradients match too: logaddexp(r_l, −inf) passes r_l's gradient through unchanged.
    w, lo = r_w.clone().requires_grad_(), r_l.clone().requires_grad_()
    bdpo_loss(w, lo, 0.1, 1.0).sum().backward()
    w2, lo2 = r_w.clone().requires_grad_(), r_l.clone().requires_grad_()
    (-F.logsigmoid(0.1 * (w2 - lo2))).sum().backward()
    assert torch.equal(w.grad, w2.grad) and torch.equal(lo.grad, lo2.grad)  # type: ignore[arg-type]


@pytest.mark.parametrize("lam", [0.1, 0.5, 0.9])
def test_matches_the_formula(lam: float) -> None:
    gen = torch.Generator().manual_seed(1)
    r_w, r_l = (torch.randn(256, generator=gen, dtype=torch.float64) * 3 for _ in range(2))
    beta = 0.3
    naive = -F.logsigmoid(beta * r_w - beta * torch.log(lam * torch.exp(r_l) + 1 - lam))
    torch.testing.assert_close(bdpo_loss(r_w, r_l, beta, lam), naive, rtol=1e-12, atol=1e-12)
    # λ < 1 differs from DPO wherever r_l ≠ 0.
    assert not torch.allclose(bdpo_loss(r_w, r_l, beta, lam), bdpo_loss(r_w, r_l, beta, 1.0))


def test_stable_where_the_naive_formula_overflows() -> None:
    r_w, r_l = torch.tensor([0.0, 0.0]), torch.tensor([200.0, -200.0])  # float32: e^200 = inf
    margin = bdpo_margin(r_w, r_l, 0.5)
    torch.testing.assert_close(margin, torch.tensor([-(200.0 + math.log(0.5)), -math.log(0.5)]))
    assert torch.isfinite(bdpo_loss(r_w, r_l, 0.1, 0.5)).all()


@pytest.mark.parametrize("beta", [0.1, 0.5])  # DPO's usual range, β < 1
def test_rejected_gradient_vanishes_as_rejected_logprob_falls(beta: float) -> None:
    points = [float(x) for x in range(0, -31, -2)]  # r_l = 0, −2, …, −30
    grads = [_rl_grad(r, lam=0.5, beta=beta) for r in points]
    assert all(g > 0 for g in grads)  # raising the rejected response always raises the loss...
    assert all(a > b for a, b in itertools.pairwise(grads))  # ...less and less as it falls
    assert grads[-1] < 1e-6
    # Closed form: β·σ(−β·m)·λe^{r_l}/(λe^{r_l} + 1 − λ), i.e. ~e^{r_l}: exponentially fast.
    m = -math.log(0.5 * math.exp(-30.0) + 0.5)
    expected = beta * torch.sigmoid(torch.tensor(-beta * m, dtype=torch.float64)).item() / (1 + math.exp(30.0))
    assert grads[-1] == pytest.approx(expected, rel=1e-9)
    # DPO's gradient is β·σ(β(r_l − r_w)): with β < 1 it decays only like e^{β·r_l}, orders of magnitude slower.
    dpo = _rl_grad(-30.0, lam=1.0, beta=beta)
    assert dpo == pytest.approx(beta * torch.sigmoid(torch.tensor(-30.0 * beta, dtype=torch.float64)).item())
    assert dpo > 1e3 * grads[-1]
    if beta == 0.1:
        assert dpo > 1e-3  # still pushing hard at r_l = −30, where BDPO has stopped


@pytest.mark.parametrize("lam", [0.25, 0.5, 0.9])
def test_margin_is_bounded_and_approaches_the_bound(lam: float) -> None:
    beta = 0.5
    r_l = torch.linspace(-60.0, 20.0, 801, dtype=torch.float64)
    for chosen in (-3.0, 0.0, 2.5):
        r_w = torch.full_like(r_l, chosen)
        bound = beta * chosen - beta * math.log(1 - lam)
        margin = beta * bdpo_margin(r_w, r_l, lam)
        assert (margin <= bound).all()
        assert (margin.diff() <= 0).all()  # the margin grows as r_l falls (strictly, until float64 saturates)...
        assert (margin.diff()[r_l[1:] > -30] < 0).all()
        assert margin[0].item() == pytest.approx(bound, abs=1e-12)  # ...up to the bound, reached at r_l → −∞
        loss_floor = -F.logsigmoid(torch.tensor(bound, dtype=torch.float64)).item()
        loss = bdpo_loss(r_w, r_l, beta, lam)
        assert (loss >= loss_floor).all()
        assert loss[0].item() == pytest.approx(loss_floor, abs=1e-12)


@pytest.mark.parametrize("lam", [0.0, -0.5, 1.5, math.nan])
def test_invalid_lambda_is_refused(lam: float) -> None:
    with pytest.raises(ValueError, match="0 < λ ≤ 1"):
        bdpo_loss(torch.zeros(1), torch.zeros(1), 0.1, lam)
    with pytest.raises(ValueError, match="0 < λ ≤ 1"):
        BDPOConfig(output_dir="unused", bdpo_lambda=lam, report_to=[])


# --- the trainer -------------------------------------------------------------------------------------------------


@pytest.fixture
def preference_dataset() -> Dataset:
    return Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": prompt}],
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected}],
            }
            for prompt, chosen, rejected in PAIRS
        ]
    )


def _config(cls: type[DPOConfig], tmp_path: Path, **kwargs: Any) -> Any:
    return cls(
        output_dir=str(tmp_path),
        report_to=[],
        per_device_train_batch_size=2,
        max_length=48,
        beta=0.5,
        save_strategy="no",
        use_cpu=True,
        dataloader_num_workers=0,
        **kwargs,
    )


def _perturbed_policy(path: Path) -> PreTrainedModel:
    """The tiny model with seeded noise on every weight, so policy and reference disagree."""
    model = AutoModelForCausalLM.from_pretrained(path)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn(param.shape, generator=gen) * 0.05)
    return model


def _loss_and_metrics(trainer: DPOTrainer, rows: list[dict[str, Any]]) -> tuple[torch.Tensor, dict[str, float]]:
    batch = trainer._prepare_inputs(trainer.data_collator(rows))
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch)
    metrics = {k: v[-1] for mode in ("train", "eval") for k, v in trainer._metrics[mode].items() if k in LOGGED_KEYS}
    return loss, metrics


@pytest.mark.parametrize("setup", ["ref_model", "peft", "precompute"])
def test_lambda_one_trainer_matches_dpo_trainer(
    setup: str, tiny_model_path: Path, preference_dataset: Dataset, tmp_path: Path
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    policy = _perturbed_policy(tiny_model_path)

    def build(trainer_cls: type[DPOTrainer], config_cls: type[DPOConfig], **extra: Any) -> DPOTrainer:
        kwargs: dict[str, Any] = {}
        if setup == "peft":  # reference = the policy with its adapter disabled
            model: Any = str(tiny_model_path)
            kwargs["peft_config"] = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
        else:
            model = copy.deepcopy(policy)
            kwargs["ref_model"] = AutoModelForCausalLM.from_pretrained(tiny_model_path)
        args = _config(
            config_cls, tmp_path / config_cls.__name__, precompute_ref_log_probs=setup == "precompute", **extra
        )
        return trainer_cls(model, args=args, train_dataset=preference_dataset, processing_class=tokenizer, **kwargs)

    dpo = build(DPOTrainer, DPOConfig, loss_type=["sigmoid"])
    bdpo_one = build(BDPOTrainer, BDPOConfig, bdpo_lambda=1.0)
    bdpo_half = build(BDPOTrainer, BDPOConfig, bdpo_lambda=0.5)
    assert dpo.model is not None and bdpo_one.model is not None and bdpo_half.model is not None
    if setup == "peft":  # the same nonzero adapter in all three, so the policy differs from the base model
        gen = torch.Generator().manual_seed(3)
        with torch.no_grad():
            for name, param in dpo.model.named_parameters():
                if "lora_B" in name:
                    param.copy_(torch.randn(param.shape, generator=gen) * 0.5)
        bdpo_one.model.load_state_dict(dpo.model.state_dict())
        bdpo_half.model.load_state_dict(dpo.model.state_dict())

    assert isinstance(dpo.train_dataset, Dataset)
    rows = [dpo.train_dataset[i] for i in range(4)]
    if setup == "precompute":
        assert "ref_chosen_logps" in rows[0]
    dpo_loss, dpo_metrics = _loss_and_metrics(dpo, rows)
    one_loss, one_metrics = _loss_and_metrics(bdpo_one, rows)
    half_loss, _ = _loss_and_metrics(bdpo_half, rows)

    assert abs(dpo_loss.item() - math.log(2)) > 1e-3  # policy ≠ reference, else every λ gives log 2
    torch.testing.assert_close(one_loss, dpo_loss, rtol=0, atol=1e-6)
    assert abs(half_loss.item() - dpo_loss.item()) > 1e-4  # and the comparison can tell λ apart
    assert set(LOGGED_KEYS) <= set(one_metrics)
    for key in LOGGED_KEYS:
        assert one_metrics[key] == pytest.approx(dpo_metrics[key], rel=1e-6, abs=1e-6), key


def test_bdpo_training_runs_and_logs_rewards(
    tiny_model_path: Path, preference_dataset: Dataset, tmp_path: Path
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    args = _config(BDPOConfig, tmp_path, max_steps=5, logging_steps=1, learning_rate=1e-3, bdpo_lambda=0.5)
    trainer = BDPOTrainer(model, args=args, train_dataset=preference_dataset, processing_class=tokenizer)
    trainer.train()

    assert trainer.model is not None
    steps = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(steps) == 5
    for entry in steps:
        assert math.isfinite(entry["loss"])
        for key in LOGGED_KEYS:
            assert math.isfinite(entry[key]), key
    assert steps[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)  # step 1: policy = reference, r = 0
    assert steps[-1]["rewards/margins"] != 0.0
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"use_liger_kernel": True}, "use_liger_kernel"),
        ({"loss_type": ["ipo"]}, "loss_type"),
        ({"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 1.0]}, "loss_type"),
        ({"ld_alpha": 0.5}, "ld_alpha"),
        ({"f_divergence_type": "js_divergence"}, "f_divergence_type"),
        ({"use_weighting": True}, "use_weighting"),
    ],
)
def test_unsupported_options_are_refused(
    options: dict[str, Any], message: str, tiny_model_path: Path, preference_dataset: Dataset, tmp_path: Path
) -> None:
    args = _config(BDPOConfig, tmp_path, **options)
    with pytest.raises(ValueError, match=message):
        BDPOTrainer(str(tiny_model_path), args=args, train_dataset=preference_dataset)


def test_plain_dpo_config_is_refused(tiny_model_path: Path, preference_dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="BDPOConfig"):
        BDPOTrainer(str(tiny_model_path), args=_config(DPOConfig, tmp_path), train_dataset=preference_dataset)
