"""LoRA on a Hugging Face causal LM: set-up (seeded) and saving the adapter alone."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from interp.training.config import TrainConfig, TrainingError

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def lora_model(base_dir: Path, config: TrainConfig, device: torch.device):
    """(peft model, tokenizer): the base in `base_dir` with a fresh LoRA adapter on layers
    `config.first_trained_layer` and above, initialised from `config.seed`."""
    from peft import LoraConfig, get_peft_model

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        hf = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
        n_layers = hf.config.num_hidden_layers
        if not 0 <= config.first_trained_layer < n_layers:
            raise TrainingError(
                f"first_trained_layer={config.first_trained_layer} but the base has "
                f"{n_layers} layers; pick 0..{n_layers - 1}."
            )
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=2 * config.lora_rank,
            lora_dropout=0.0,
            target_modules=list(LORA_TARGETS),
            layers_to_transform=list(range(config.first_trained_layer, n_layers)),
        )
        model = get_peft_model(hf, lora).to(device)
    return model, tokenizer


def save_adapter(model, out: Path, base_spec: str) -> None:
    """Write the adapter (safetensors + config) to `out`, its base named by spec, not path."""
    model.save_pretrained(out, save_embedding_layers=False)  # never resized; no lookup online
    (out / "README.md").unlink(missing_ok=True)  # a model-card template, not ours
    config_file = out / "adapter_config.json"
    config = json.loads(config_file.read_text())
    config["base_model_name_or_path"] = base_spec
    config_file.write_text(json.dumps(config, indent=2))
