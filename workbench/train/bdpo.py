"""BDPO: DPO whose rejected term is measured against a mixture of the policy and the reference (DESIGN §6).

With r = log π_θ(y|x) − log π_ref(y|x) summed over a whole response, DPO minimises
−log σ(β·r_w − β·r_l). BDPO replaces the rejected response's policy likelihood by the mixture
λ·π_θ + (1 − λ)·π_ref, whose log-ratio to the reference is log(λ·e^{r_l} + 1 − λ):

    L = −log σ(β·r_w − β·log(λ·e^{r_l} + 1 − λ)),    0 < λ ≤ 1 (0.5 by default).

The mixture never falls below (1 − λ)·π_ref, so for λ < 1 the effective margin is bounded by
β·r_w − β·log(1 − λ): pushing the rejected response further down stops paying (its gradient decays
like e^{r_l}), and the only way left to lower the loss is to raise the chosen response. That curbs
DPO's habit of driving both likelihoods down together. For λ = 1 the mixture *is* π_θ,
log(1·e^{r_l} + 0) = r_l and the loss is DPO's sigmoid loss; `bdpo_loss` computes the log with
`torch.logaddexp(log λ + r_l, log(1 − λ))`, which for λ = 1 returns r_l bit for bit
(logaddexp(a, −inf) = a), so DPO is reproduced exactly, not approximately.

`BDPOTrainer` reuses TRL's `DPOTrainer` for everything (data preparation, collation, reference
model or disabled PEFT adapter, precomputed reference log-probs, logging) and replaces only the loss:
its `_compute_loss` is TRL's standard path (no Liger chunking, no LD-DPO, no f-divergences, no WPO
weighting, no MoE aux loss), and options outside that path are refused when the trainer is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from trl import DPOConfig, DPOTrainer
from trl.trainer.utils import selective_log_softmax

_NON_MODEL_KEYS = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}


def _check_lambda(lam: float) -> None:
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"BDPO's λ (bdpo_lambda) must satisfy 0 < λ ≤ 1 (λ = 1 is DPO); got {lam}.")


def bdpo_margin(chosen_logratios: Tensor, rejected_logratios: Tensor, lam: float) -> Tensor:
    """The BDPO margin before scaling by β: r_w − log(λ·e^{r_l} + 1 − λ).

    Args:
        chosen_logratios: r_w, log π_θ − log π_ref of each chosen response, shape (batch,).
        rejected_logratios: r_l, the same for each rejected response, shape (batch,).
        lam: Mixture weight λ of the policy, 0 < λ ≤ 1; λ = 1 gives r_w − r_l exactly.

    Returns:
        The per-sequence margin, shape (batch,). For λ < 1 it is below r_w − log(1 − λ).

    Raises:
        ValueError: If λ is outside (0, 1].
    """
    _check_lambda(lam)
    log_one_minus_lam = math.log1p(-lam) if lam < 1.0 else -math.inf
    log_mixture = torch.logaddexp(
        rejected_logratios + math.log(lam), torch.full_like(rejected_logratios, log_one_minus_lam)
    )
    return chosen_logratios - log_mixture


def bdpo_loss(chosen_logratios: Tensor, rejected_logratios: Tensor, beta: float, lam: float) -> Tensor:
    """Per-sequence BDPO loss −log σ(β·(r_w − log(λ·e^{r_l} + 1 − λ))).

    Written as β·(margin), like TRL's β·(r_w − r_l), so that λ = 1 matches DPO's sigmoid loss bit for bit.

    Args:
        chosen_logratios: r_w, log π_θ − log π_ref of each chosen response, shape (batch,).
        rejected_logratios: r_l, the same for each rejected response, shape (batch,).
        beta: Inverse temperature β of the implicit reward.
        lam: Mixture weight λ of the policy, 0 < λ ≤ 1 (1 is DPO).

    Returns:
        The loss of each pair, shape (batch,).

    Raises:
        ValueError: If λ is outside (0, 1].
    """
    return -F.logsigmoid(beta * bdpo_margin(chosen_logratios, rejected_logratios, lam))


@dataclass
class BDPOConfig(DPOConfig):
    """`trl.DPOConfig` plus BDPO's mixture weight λ (`bdpo_lambda`)."""

    bdpo_lambda: float = field(
        default=0.5,
        metadata={
            "help": "Weight λ of the policy in the mixture λ·π_θ + (1 − λ)·π_ref that scores the rejected response. "
            "Must lie in (0, 1]: smaller values bound the margin more tightly, and `bdpo_lambda=1.0` is exactly DPO's "
            "sigmoid loss."
        },
    )

    def __post_init__(self) -> None:
        _check_lambda(self.bdpo_lambda)
        super().__post_init__()


def _unsupported(args: BDPOConfig) -> list[str]:
    """Names of the options set in `args` that BDPO's standard loss path does not implement."""
    checks = {
        "use_liger_kernel=True": args.use_liger_kernel,
        f"loss_type={args.loss_type} (only ['sigmoid'])": list(args.loss_type) != ["sigmoid"],
        f"loss_weights={args.loss_weights}": args.loss_weights not in (None, [1.0]),
        "ld_alpha": args.ld_alpha is not None,
        f"f_divergence_type={args.f_divergence_type!r} (only 'reverse_kl')": args.f_divergence_type != "reverse_kl",
        "use_weighting=True": args.use_weighting,
        f"router_aux_loss_coef={args.router_aux_loss_coef}": bool(args.router_aux_loss_coef),
    }
    return [name for name, bad in checks.items() if bad]


class BDPOTrainer(DPOTrainer):
    """`trl.DPOTrainer` with the BDPO loss in place of DPO's; takes a `BDPOConfig`, otherwise the same arguments."""

    def __init__(self, model: Any, ref_model: Any = None, args: BDPOConfig | None = None, **kwargs: Any) -> None:
        """Build the trainer, refusing options the BDPO loss path does not support.

        Args:
            model: Model id, `PreTrainedModel` or `PeftModel`, as for `trl.DPOTrainer`.
            ref_model: Optional reference model; by default a copy of `model` (or the model with its adapter off).
            args: BDPO settings; a default `BDPOConfig` (λ = 0.5) if omitted.
            **kwargs: Passed to `trl.DPOTrainer` (train_dataset, processing_class, peft_config, ...).

        Raises:
            TypeError: If `args` is not a `BDPOConfig`.
            ValueError: If `args` asks for a DPO option that BDPO does not implement, or the model is a
                Mixture-of-Experts model with a load-balancing auxiliary loss.
        """
        args = args if args is not None else BDPOConfig(output_dir="bdpo")
        if not isinstance(args, BDPOConfig):
            raise TypeError(f"BDPOTrainer needs a BDPOConfig (which carries bdpo_lambda), got {type(args).__name__}.")
        _check_lambda(args.bdpo_lambda)
        if bad := _unsupported(args):
            raise ValueError(f"BDPOTrainer implements only TRL's standard sigmoid path; unsupported: {', '.join(bad)}.")
        super().__init__(model, ref_model=ref_model, args=args, **kwargs)
        if self.aux_loss_enabled:
            raise ValueError("BDPOTrainer does not add the MoE load-balancing loss; set router_aux_loss_coef=0.0.")
        self.bdpo_lambda = args.bdpo_lambda

    def _compute_loss(self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool) -> Any:
        """BDPO loss on one [chosen; rejected] batch, logging TRL's reward and log-prob metrics.

        Args:
            model: The (possibly wrapped) policy.
            inputs: A batch from TRL's `DataCollatorForPreference`: input_ids, attention_mask and completion_mask
                with the chosen rows first, and optionally precomputed ref_chosen_logps / ref_rejected_logps.
            return_outputs: Whether to also return the policy's forward outputs.

        Returns:
            The mean loss, or (loss, outputs) if `return_outputs`.
        """
        mode = "train" if model.training else "eval"
        model_kwargs = {k: v for k, v in inputs.items() if k not in _NON_MODEL_KEYS}
        outputs = model(**model_kwargs, use_cache=False)
        shift_mask = inputs["completion_mask"][..., 1:]
        per_token_logps = selective_log_softmax(
            outputs.logits[..., :-1, :], inputs["input_ids"][..., 1:], row_mask=shift_mask
        )
        chosen_logps, rejected_logps = per_token_logps.sum(dim=1).chunk(2, dim=0)

        if self.precompute_ref_logps:
            ref_chosen_logps, ref_rejected_logps = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
        else:  # no_grad, and with a PEFT policy and no ref_model, the adapter disabled (or the "ref" adapter on)
            ref_model = self.ref_model if self.ref_model is not None else self.model
            ref_chosen_logps, ref_rejected_logps = self.compute_ref_log_probs(ref_model, inputs)

        chosen_logratios = chosen_logps - ref_chosen_logps
        rejected_logratios = rejected_logps - ref_rejected_logps
        loss = bdpo_loss(chosen_logratios, rejected_logratios, self.beta, self.bdpo_lambda).mean()

        # The same keys and reductions as DPOTrainer, so BDPO and DPO runs chart side by side.
        metrics = self._metrics[mode]
        if mode == "train":
            num_tokens = self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
            self._total_train_tokens += num_tokens // self._tp_size
        metrics["num_tokens"] = [self._total_train_tokens]
        chosen_rewards = self.beta * chosen_logratios.detach()
        rejected_rewards = self.beta * rejected_logratios.detach()
        gather = self.accelerator.gather
        metrics["rewards/chosen"].append(gather(chosen_rewards).mean().item())
        metrics["rewards/rejected"].append(gather(rejected_rewards).mean().item())
        metrics["rewards/accuracies"].append(gather((chosen_rewards > rejected_rewards).float()).mean().item())
        metrics["rewards/margins"].append(gather(chosen_rewards - rejected_rewards).mean().item())
        metrics["logps/chosen"].append(gather(chosen_logps.detach()).mean().item())
        metrics["logps/rejected"].append(gather(rejected_logps.detach()).mean().item())
        return (loss, outputs) if return_outputs else loss
