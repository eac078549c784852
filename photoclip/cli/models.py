"""`photoclip models`: the architectures and weights open_clip can download, and the user's
own architectures (open_clip configs in the folders importing.user_config_locations names)
with the checkpoint file chosen for each, if any."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photoclip.cli.context import Context
from photoclip.cli.values import add_json
from photoclip.core import paths
from photoclip.core.db import display_path
from photoclip.core.errors import one_line

# A config is ~1 KB; anything far larger is not one (and is not read whole to find out).
_CONFIG_LIMIT = 1 << 20
# What open_clip requires of a config before it registers it (factory._rescan_model_configs).
_REQUIRED_KEYS = ("embed_dim", "vision_cfg", "text_cfg")


@dataclass
class OwnArchitecture:
    name: str
    config: str
    checkpoint: str | None  # the file the current choice (settings, environment, --weights) names for it
    checkpoint_problem: str | None  # why that file cannot be used ("does not exist"), None when it can


def own_configs() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """({architecture: config file}, [(file, why it is not one)]) in the user's folders.

    Read as open_clip reads them when photoclip registers them (register_extra_model_configs):
    a location is one .json file or a folder of them, a file without the three keys is
    left out, and a later location's file wins over an earlier one's of the same name.
    """
    from photoclip.core.model.importing import user_config_locations

    found: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for location in _config_files(user_config_locations()):
        problem = _config_problem(location)
        if problem is None:
            found[location.stem] = str(location)
        else:
            problems.append((str(location), problem))
    return found, problems


def _config_files(locations: list[str]) -> list[Path]:
    files: list[Path] = []
    for location in map(Path, locations):
        if location.is_dir():
            files += sorted(location.glob("*.json"))
        elif location.suffix == ".json" and location.exists():
            files.append(location)
    return files


def _config_problem(path: Path) -> str | None:
    try:
        config = json.loads(paths.read_regular_file(path, _CONFIG_LIMIT))
    except paths.NotAPlainFile as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    except ValueError as exc:
        return f"is not valid JSON ({exc})"
    missing = [key for key in _REQUIRED_KEYS if not isinstance(config, dict) or key not in config]
    if missing:
        return f"is not an open_clip model config (no {', '.join(missing)}): open_clip leaves it out"
    return None


def own_architectures(ctx: Context) -> tuple[list[OwnArchitecture], list[tuple[str, str]]]:
    from photoclip.core.model.choice import checkpoint_problem

    configs, problems = own_configs()
    choice = ctx.model_choice()
    own = []
    for name in sorted(configs):
        checkpoint = choice.weights_file if choice.name == name else None
        problem = checkpoint_problem(checkpoint) if checkpoint else None
        own.append(OwnArchitecture(name, configs[name], checkpoint, problem))
    return own, problems


def _describe(arch: OwnArchitecture) -> str:
    where = f"your own architecture ({display_path(arch.config)})"
    if arch.checkpoint is None:
        return f"{where}: no checkpoint file chosen (--model {arch.name} --weights FILE)"
    if arch.checkpoint_problem is not None:
        return f"{where}: checkpoint {display_path(arch.checkpoint)} {arch.checkpoint_problem}"
    return f"{where}: checkpoint {display_path(arch.checkpoint)}"


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    from photoclip.core.model import describe_models

    downloadable = describe_models()
    own, problems = own_architectures(ctx)
    if args.json:
        ctx.json(
            {
                "downloadable": [{"model": name, "weights": tag} for name, tag in downloadable],
                "own": [
                    {
                        "model": arch.name,
                        "config": display_path(arch.config),
                        "checkpoint": display_path(arch.checkpoint) if arch.checkpoint else None,
                        "checkpoint_present": arch.checkpoint is not None and arch.checkpoint_problem is None,
                    }
                    for arch in own
                ],
                "problems": [{"path": display_path(path), "reason": reason} for path, reason in problems],
            }
        )
        return 0
    for name, tag in downloadable:
        ctx.out(f"{name}\t{tag}")
    for arch in own:
        ctx.out(one_line(f"{arch.name}\t{_describe(arch)}", keep="\t"))
    for path, reason in problems:
        ctx.err(f"  problem: {display_path(path)} {reason}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "models",
        help="the model names and weights --model and --weights accept (downloaded on first use), and your own architectures",
        description=(
            "The open_clip architectures and pretrained weights --model and --weights accept (the weights are downloaded "
            "on first use), then your own architectures: open_clip JSON configs in "
            f"{display_path(os.path.join(str(paths.config_dir()), 'models'))} or PHOTOCLIP_MODEL_CONFIGS, "
            "used with a checkpoint file (--model NAME --weights FILE)."
        ),
    )
    add_json(p)
    p.set_defaults(handler=cmd_models)
