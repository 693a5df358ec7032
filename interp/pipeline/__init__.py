"""`interp run CONFIG.toml`: one config, every step it names, one run directory."""

from interp.pipeline.config import STEPS, ConfigError, RunConfig, load_config, parse_config

__all__ = ["STEPS", "ConfigError", "RunConfig", "load_config", "parse_config"]
