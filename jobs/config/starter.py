"""`openwatch init`: the commented starter `openwatch.toml` (text in `jobs/starter.toml`)."""

from __future__ import annotations

import os
import textwrap
from importlib import resources
from pathlib import Path

from crawler.events import event_types
from crawler.orgs import REGISTRY_PREFIX, OrgTable, default_orgs
from jobs.exceptions import ConfigError


# Notable labs of the US/China open-model race (DESIGN.md), as spelled in the registry.
STARTER_LABS = (
    (
        "us-labs",
        "US",
        "US open-model labs",
        ("meta-llama", "openai", "google", "microsoft", "nvidia", "allenai", "marin-community",
         "ibm-granite"),
    ),
    (
        "cn-labs",
        "CN",
        "Chinese open-model labs",
        ("deepseek-ai", "Qwen", "moonshotai", "zai-org", "MiniMaxAI", "baidu", "tencent",
         "ByteDance-Seed", "stepfun-ai", "XiaomiMiMo"),
    ),
)  # fmt: skip


def starter_config(registry: OrgTable | None = None) -> str:
    """A commented `openwatch.toml` that loads as is, with an empty environment.

    It watches named notable labs rather than `registry:US` / `registry:CN`: the selectors
    would poll every org of the registry (some with thousands of models) every 30 minutes, and
    a list shows at a glance what is watched. Orgs the registry lacks are left out.
    """
    registry = default_orgs() if registry is None else registry
    blocks = []
    for name, country, title, notable in STARTER_LABS:
        orgs = [org.hf_org for org in map(registry.lookup, notable) if org is not None]
        if not orgs:
            try:
                orgs = registry.select(f"{REGISTRY_PREFIX}{country}")[:8]
            except KeyError:
                continue
        listed = "".join(f'    "{org}",\n' for org in dict.fromkeys(orgs))
        blocks.append(
            f"# {title}. \"{REGISTRY_PREFIX}{country}\" would watch every {country} org "
            "of the registry.\n"
            f"[[watch]]\n"
            f'name = "{name}"\n'
            f'source = "huggingface"\n'
            f"orgs = [\n{listed}]\n"
            f'every = "30m"\n'
        )
    template = resources.files("jobs").joinpath("starter.toml").read_text(encoding="utf-8")
    # Every event type the sources declare (crawler/sources/), never a hand-kept list.
    types = textwrap.fill(", ".join(event_types()), width=95, initial_indent="#               ",
                          subsequent_indent="#               ", break_on_hyphens=False)
    return template.replace("@WATCHES@\n", "\n".join(blocks)).replace("@EVENT_TYPES@", types)


def write_starter(
    path: str | os.PathLike[str], registry: OrgTable | None = None, force: bool = False
) -> Path:
    """Write `starter_config()` to `path` (creating its folder); never overwrite unless `force`."""
    path = Path(path)
    text = starter_config(registry)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError as exc:
        raise ConfigError(
            "already exists",
            "pass --force to overwrite it, or --config PATH to write elsewhere",
            file=str(path),
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot be written ({exc.strerror or exc})",
            "choose another path with --config PATH",
            file=str(path),
        ) from exc
    return path

