"""`interp run CONFIG.toml`: one config, every step it names, one run directory."""

from pathlib import Path

from interp.pipeline.config import STEPS, ConfigError, RunConfig, load_config, parse_config

#: The demo's configs, shipped with the package (`experiments/demo.toml` and `micro.toml`
#: link here): size -> path.
DEMO_CONFIGS = {size: Path(__file__).parent / "configs" / f"{name}.toml"
                for size, name in (("default", "demo"), ("micro", "micro"))}  # fmt: skip

__all__ = ["DEMO_CONFIGS", "STEPS", "ConfigError", "RunConfig", "load_config", "parse_config"]
