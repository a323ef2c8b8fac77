"""Training: SFT, midtraining, DPO and BDPO; Unsloth on a CUDA GPU, TRL + PEFT elsewhere (DESIGN §6)."""
