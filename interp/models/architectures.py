"""Which Hugging Face architectures load into TransformerLens hooks, and how.

Most architectures go through TransformerLens's own config and weight conversion, keyed by
the architecture in `config.json`. TransformerLens keys the Gemma families by official model
name instead, so a local Gemma, Gemma 2 or Gemma 3 gets its config built here from the
directory's own `config.json`, with each family's conventions: the embedding scaled by
√d_model and RMSNorm weights stored as offsets from 1 (both in TransformerLens's weight
conversion), GELU-tanh, logit soft-capping, sliding-window layers, query pre-attention
scaling, and for Gemma 3 query/key norms and a separate RoPE base for local layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from interp.models.errors import UnsupportedArchitectureError

#: Architectures TransformerLens converts with a config read by architecture; each is tested
#: against Hugging Face on a tiny random model (float32 log-probs within 1e-4).
CONVERTED_BY_ARCHITECTURE: tuple[str, ...] = (
    "GPT2LMHeadModel",
    "GPTNeoForCausalLM",
    "GPTJForCausalLM",
    "GPTNeoXForCausalLM",
    "OPTForCausalLM",
    "BloomForCausalLM",
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen3ForCausalLM",
    "PhiForCausalLM",
    "Phi3ForCausalLM",
    "MixtralForCausalLM",
    "Olmo3ForCausalLM",
)

_LAYER_TYPES = {"sliding_attention": "local", "full_attention": "global"}


def gemma_config(hf: dict) -> dict:
    """A TransformerLens config dict for a Gemma, Gemma 2 or Gemma 3 HF config dict."""
    arch = (hf.get("architectures") or ["GemmaForCausalLM"])[0]
    head = hf.get("head_dim") or hf["hidden_size"] // hf["num_attention_heads"]
    cfg = {
        "d_model": hf["hidden_size"],
        "d_head": head,
        "n_heads": hf["num_attention_heads"],
        "n_key_value_heads": hf.get("num_key_value_heads") or hf["num_attention_heads"],
        "d_mlp": hf["intermediate_size"],
        "n_layers": hf["num_hidden_layers"],
        "n_ctx": hf["max_position_embeddings"],
        "eps": hf["rms_norm_eps"],
        "d_vocab": hf["vocab_size"],
        "act_fn": hf.get("hidden_activation") or hf.get("hidden_act") or "gelu_pytorch_tanh",
        "normalization_type": "RMS",
        "positional_embedding_type": "rotary",
        "rotary_base": hf.get("rope_theta", 10_000.0),
        "rotary_dim": head,
        "use_attn_scale": True,
        "gated_mlp": True,
        "final_rms": True,
        "initializer_range": hf.get("initializer_range", 0.02),
    }
    if arch == "GemmaForCausalLM":
        return cfg
    cfg["use_normalization_before_and_after"] = True
    if hf.get("query_pre_attn_scalar"):
        cfg["attn_scale"] = math.sqrt(hf["query_pre_attn_scalar"])
    if hf.get("attn_logit_softcapping"):
        cfg["attn_scores_soft_cap"] = float(hf["attn_logit_softcapping"])
    if hf.get("final_logit_softcapping"):
        cfg["output_logits_soft_cap"] = float(hf["final_logit_softcapping"])
    layer_types = hf.get("layer_types") or ["sliding_attention", "full_attention"] * (
        (hf["num_hidden_layers"] + 1) // 2
    )
    cfg["attn_types"] = [_LAYER_TYPES[t] for t in layer_types[: hf["num_hidden_layers"]]]
    if hf.get("sliding_window") and "local" in cfg["attn_types"]:
        cfg["use_local_attn"] = True
        cfg["window_size"] = hf["sliding_window"]
    if arch == "Gemma3ForCausalLM":
        cfg["use_qk_norm"] = True
        cfg["rotary_base_local"] = hf.get("rope_local_base_freq", 10_000.0)
        scaling = hf.get("rope_scaling")
        if scaling:
            if scaling.get("rope_type", scaling.get("type")) != "linear":
                raise UnsupportedArchitectureError(
                    f"this Gemma 3 uses RoPE scaling {scaling}; interp converts linear scaling "
                    "(or none) only."
                )
            cfg["rotary_scaling_factor"] = float(scaling["factor"])
    return cfg


def adjust_config(cfg, hf_config) -> None:
    """Set what TransformerLens's by-architecture config leaves out: the RoPE base (it
    assumes 10,000 for Llama), Mixtral's renormalised top-k routing weights, and OLMo 3's
    sliding window."""
    rope_theta = getattr(hf_config, "rope_theta", None)
    if cfg.positional_embedding_type == "rotary" and rope_theta is not None:
        cfg.rotary_base = rope_theta
    if cfg.original_architecture == "MixtralForCausalLM":
        cfg.norm_topk_prob = True
    window = getattr(hf_config, "sliding_window", None)
    if (
        cfg.original_architecture == "Olmo3ForCausalLM"
        and window
        and "local" in (cfg.attn_types or ())
    ):
        cfg.use_local_attn, cfg.window_size = True, window


#: Architectures whose TransformerLens config interp builds itself: architecture -> builder.
CONFIG_BUILDERS: dict[str, Callable[[dict], dict]] = {
    "GemmaForCausalLM": gemma_config,
    "Gemma2ForCausalLM": gemma_config,
    "Gemma3ForCausalLM": gemma_config,
}

#: Every architecture `load_model` loads from a local directory.
SUPPORTED_ARCHITECTURES: tuple[str, ...] = CONVERTED_BY_ARCHITECTURE + tuple(CONFIG_BUILDERS)

#: Architectures TransformerLens 3.2 has a conversion for that do not compute what HF
#: computes (measured on tiny random models), refused with the reason.
REFUSED: dict[str, str] = {
    "ApertusForCausalLM": "its xIELU activation differs from HF's (log-probs off by 0.28)",
    "GptOssForCausalLM": "its attention sinks and expert routing differ from HF's (log-probs "
    "off by 0.38)",
    "OlmoeForCausalLM": "its weight conversion does not match this transformers version's "
    "expert layout",
    "OlmoForCausalLM": "TransformerLens builds its config from official model names only",
    "Olmo2ForCausalLM": "TransformerLens builds its config from official model names only",
}


def check_architecture(architecture: str, where: str) -> None:
    """Refuse an architecture `load_model` cannot convert, naming why and what it can."""
    if architecture in SUPPORTED_ARCHITECTURES:
        return
    why = f" ({REFUSED[architecture]})" if architecture in REFUSED else ""
    raise UnsupportedArchitectureError(
        f"{where} holds a {architecture}, which interp cannot convert to TransformerLens "
        f"hooks{why}. Supported architectures: {', '.join(SUPPORTED_ARCHITECTURES)}."
    )
