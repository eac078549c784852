"""A faster text tower pass for CLIP-style models: only the token positions a prompt uses.

Used only after `OpenClipEmbedder.load` has checked, for the loaded model, that it gives
the model's own answer (cosine >= 0.9999); otherwise open_clip's full path is kept.
"""

from __future__ import annotations

from typing import Any


def can_trim_text(model: object) -> bool:
    # A CLIP-style text tower: token and position embeddings, a causal mask, and features
    # read at the end-of-text token. Its output there never depends on the padding after it.
    return (
        all(hasattr(model, name) for name in ("token_embedding", "positional_embedding", "transformer", "ln_final"))
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) in ("argmax", "eos")
    )


def encode_text_trimmed(model: Any, tokens: Any) -> Any:
    """The model's text features, computed over the used positions only.

    Tokenizers pad every prompt to the full context (77); label prompts use 8-20 of
    them. With a causal mask, the end-of-text position never attends to the padding
    after it, so cutting the padding off gives the same features for a fraction of
    the work (attention is quadratic in the length). `load` checks the agreement.
    """
    import torch

    used = tokens != 0
    positions = torch.arange(tokens.shape[1], device=tokens.device)
    length = int((used * (positions + 1)).max().item()) if used.any() else 1
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    rows = torch.arange(x.shape[0], device=x.device)
    x = x[rows, tokens.argmax(dim=-1)] if model.text_pool_type == "argmax" else x[rows, (tokens == model.text_eos_id).int().argmax(dim=-1)]
    projection = model.text_projection
    if projection is None:
        return x
    return projection(x) if isinstance(projection, torch.nn.Module) else x @ projection
