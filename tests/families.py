"""Tiny random Hugging Face configs, one per architecture `load_model` supports: 64 wide,
2 layers, grouped-query attention where the family has it, a sliding window of 4 tokens
where it has one (so the test prompts cross it)."""

from __future__ import annotations

import transformers as t


def tiny_configs(vocab: int, bos: int, eos: int, pad: int) -> dict[str, t.PretrainedConfig]:
    ids = dict(vocab_size=vocab, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)
    llama_like = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        **ids,
    )
    return {
        "GPT2LMHeadModel": t.GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=128, **ids),
        "GPTNeoForCausalLM": t.GPTNeoConfig(
            hidden_size=64,
            num_layers=2,
            num_heads=4,
            max_position_embeddings=128,
            attention_types=[[["global", "local"], 1]],
            window_size=4,
            **ids,
        ),
        "GPTJForCausalLM": t.GPTJConfig(
            n_embd=64, n_layer=2, n_head=4, rotary_dim=8, n_positions=128, **ids
        ),
        "GPTNeoXForCausalLM": t.GPTNeoXConfig(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            rotary_pct=0.25,
            max_position_embeddings=128,
            **ids,
        ),
        "OPTForCausalLM": t.OPTConfig(
            hidden_size=64,
            ffn_dim=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            word_embed_proj_dim=64,
            max_position_embeddings=128,
            **ids,
        ),
        "BloomForCausalLM": t.BloomConfig(hidden_size=64, n_layer=2, n_head=4, **ids),
        "LlamaForCausalLM": t.LlamaConfig(rope_theta=50_000.0, **llama_like),
        "MistralForCausalLM": t.MistralConfig(sliding_window=None, **llama_like),
        "MixtralForCausalLM": t.MixtralConfig(
            num_local_experts=4, num_experts_per_tok=2, sliding_window=None, **llama_like
        ),
        "Qwen2ForCausalLM": t.Qwen2Config(**llama_like),
        "Qwen3ForCausalLM": t.Qwen3Config(head_dim=16, **llama_like),
        "PhiForCausalLM": t.PhiConfig(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            partial_rotary_factor=0.5,
            max_position_embeddings=128,
            **ids,
        ),
        "Phi3ForCausalLM": t.Phi3Config(**llama_like),
        "Olmo3ForCausalLM": t.Olmo3Config(
            sliding_window=4, layer_types=["sliding_attention", "full_attention"], **llama_like
        ),
        "GemmaForCausalLM": t.GemmaConfig(head_dim=16, **llama_like),
        "Gemma2ForCausalLM": t.Gemma2Config(
            head_dim=16,
            sliding_window=4,
            query_pre_attn_scalar=24,
            attn_logit_softcapping=50.0,
            final_logit_softcapping=30.0,
            **llama_like,
        ),
        "Gemma3ForCausalLM": t.Gemma3TextConfig(
            head_dim=16,
            sliding_window=4,
            query_pre_attn_scalar=24,
            layer_types=["sliding_attention", "full_attention"],
            rope_local_base_freq=10_000.0,
            rope_theta=1_000_000.0,
            **llama_like,
        ),
    }
