"""A realistic demo world: US and Chinese labs' models as they look on the Hub, and a script
of changes for the demo's second crawl.

Ids, licence ids (`llama3.1`, `mit`, `apache-2.0`, `other` + `license_name` `qwen`,
`modified-mit`, `mrl`, …), gating and creation dates follow the real repos; download counts
and parameter totals are rounded. LICENSE texts are abridged and say so. The change script is
fiction built from real patterns (a licence moving to MIT, gating lifted, a model made private).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .times import SENTINEL_CREATED_AT, SENTINEL_CREATED_AT_05, UTC
from .world import HubWorld

MIT = """MIT License

Copyright (c) {year} {holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
"""

APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

(Abridged for the openwatch demo; full text at https://www.apache.org/licenses/LICENSE-2.0.txt)
"""

MODIFIED_MIT = MIT.replace("MIT License", "Modified MIT License") + """
Our only modification part is that, if the Software (or any derivative works
thereof) is used for any of your commercial products or services that have
more than 100 million monthly active users, or more than 20 million US dollars
(or equivalent in other currencies) in monthly revenue, you shall prominently
display "Kimi K2" on the user interface of such product or service.
"""


def _llama(version: str, date: str) -> str:
    return (f"LLAMA {version} COMMUNITY LICENSE AGREEMENT\nLlama {version} Version Release Date: {date}\n\n"
            "(Abridged for the openwatch demo; full text at https://www.llama.com/)\n")


def _custom(title: str) -> str:
    return f"{title}\n\n(Abridged for the openwatch demo.)\n"


def _d(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


USE_POLICY = "Acceptable Use Policy\n\n(Abridged for the openwatch demo.)\n"

# (id, created, licence keyword arguments, other keyword arguments, files)
DEMO_MODELS = [
    ("meta-llama/Llama-3.1-8B", "2024-07-14", dict(license="llama3.1"),
     dict(gated="manual", downloads=5_600_000, likes=1_900, parameters=8_030_261_248),
     {"LICENSE": _llama("3.1", "July 23, 2024"), "USE_POLICY.md": USE_POLICY}),
    ("meta-llama/Llama-3.1-8B-Instruct", "2024-07-18", dict(license="llama3.1"),
     dict(gated="manual", downloads=7_100_000, likes=4_600, parameters=8_030_261_248,
          base_model="meta-llama/Llama-3.1-8B"),
     {"LICENSE": _llama("3.1", "July 23, 2024"), "USE_POLICY.md": USE_POLICY}),
    ("meta-llama/Llama-3.2-1B", "2024-09-18", dict(license="llama3.2"),
     dict(gated="manual", downloads=2_300_000, likes=2_000, parameters=1_235_814_400),
     {"LICENSE.txt": _llama("3.2", "September 25, 2024"), "USE_POLICY.md": USE_POLICY}),
    ("meta-llama/Llama-3.3-70B-Instruct", "2024-11-26", dict(license="llama3.3"),
     dict(gated="manual", downloads=1_100_000, likes=2_500, parameters=70_553_706_496),
     {"LICENSE": _llama("3.3", "December 6, 2024"), "USE_POLICY.md": USE_POLICY}),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "2025-04-02", dict(license="llama4"),
     dict(gated="manual", downloads=400_000, likes=1_100, parameters=108_641_793_536, pipeline_tag="image-text-to-text"),
     {"LICENSE": _llama("4", "April 5, 2025"), "USE_POLICY.md": USE_POLICY}),
    ("deepseek-ai/DeepSeek-V3", "2024-12-25",
     dict(license="other", license_name="deepseek", license_link="LICENSE-MODEL"),
     dict(downloads=650_000, likes=3_900, parameters=684_531_386_000),
     {"LICENSE-CODE": MIT.format(year=2023, holder="DeepSeek"), "LICENSE-MODEL": _custom("DEEPSEEK LICENSE AGREEMENT Version 1.0")}),
    ("deepseek-ai/DeepSeek-R1", "2025-01-20", dict(license="mit"),
     dict(downloads=1_500_000, likes=12_500, parameters=684_531_386_000, arxiv=("2501.12948",)),
     {"LICENSE": MIT.format(year=2023, holder="DeepSeek")}),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "2025-01-20", dict(license="mit"),
     dict(downloads=900_000, likes=700, parameters=7_615_616_512, base_model="Qwen/Qwen2.5-Math-7B", arxiv=("2501.12948",)),
     {"LICENSE": MIT.format(year=2023, holder="DeepSeek")}),
    ("deepseek-ai/DeepSeek-V3-0324", "2025-03-24", dict(license="mit"),
     dict(downloads=300_000, likes=3_000, parameters=684_531_386_000),
     {"LICENSE": MIT.format(year=2023, holder="DeepSeek")}),
    ("deepseek-ai/deepseek-coder-6.7b-instruct", "2023-10-29",
     dict(license="other", license_name="deepseek", license_link="LICENSE"),
     dict(downloads=60_000, likes=450, parameters=6_740_512_768),
     {"LICENSE": _custom("DEEPSEEK LICENSE AGREEMENT Version 1.0")}),
    ("Qwen/Qwen2.5-7B-Instruct", "2024-09-16",
     dict(license="apache-2.0", license_link="https://huggingface.co/Qwen/Qwen2.5-7B-Instruct/blob/main/LICENSE"),
     dict(downloads=3_800_000, likes=800, parameters=7_615_616_512, base_model="Qwen/Qwen2.5-7B", arxiv=("2412.15115",)),
     {"LICENSE": APACHE}),
    ("Qwen/Qwen2.5-72B-Instruct", "2024-09-16",
     dict(license="other", license_name="qwen", license_link="https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE"),
     dict(downloads=400_000, likes=850, parameters=72_706_203_648, base_model="Qwen/Qwen2.5-72B"),
     {"LICENSE": _custom("Qwen LICENSE AGREEMENT")}),
    ("Qwen/Qwen2.5-3B-Instruct", "2024-09-17",
     dict(license="other", license_name="qwen-research", license_link="https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE"),
     dict(downloads=1_200_000, likes=260, parameters=3_085_938_688, base_model="Qwen/Qwen2.5-3B"),
     {"LICENSE": _custom("Qwen RESEARCH LICENSE AGREEMENT")}),
    ("Qwen/Qwen3-8B", "2025-04-27",
     dict(license="apache-2.0", license_link="https://huggingface.co/Qwen/Qwen3-8B/blob/main/LICENSE"),
     dict(downloads=2_000_000, likes=700, parameters=8_190_735_360, base_model="Qwen/Qwen3-8B-Base"),
     {"LICENSE": APACHE}),
    ("Qwen/Qwen3-235B-A22B", "2025-04-27",
     dict(license="apache-2.0", license_link="https://huggingface.co/Qwen/Qwen3-235B-A22B/blob/main/LICENSE"),
     dict(downloads=150_000, likes=1_000, parameters=235_093_634_560),
     {"LICENSE": APACHE}),
    ("Qwen/Qwen-7B-Chat", "2023-08-03", dict(license="other", license_name="tongyi-qianwen"),
     dict(downloads=40_000, likes=770, parameters=7_721_324_544),
     {"LICENSE": _custom("Tongyi Qianwen LICENSE AGREEMENT")}),
    ("moonshotai/Kimi-K2-Instruct", "2025-07-11", dict(license="other", license_name="modified-mit"),
     dict(downloads=350_000, likes=2_200, parameters=1_026_408_232_448),
     {"LICENSE": MODIFIED_MIT.format(year=2025, holder="Moonshot AI")}),
    ("moonshotai/Kimi-K2-Base", "2025-07-11", dict(license="other", license_name="modified-mit"),
     dict(downloads=20_000, likes=400, parameters=1_026_408_232_448),
     {"LICENSE": MODIFIED_MIT.format(year=2025, holder="Moonshot AI")}),
    ("openai/gpt-oss-120b", "2025-08-04", dict(license="apache-2.0"),
     dict(downloads=3_000_000, likes=4_000, parameters=120_412_337_472, arxiv=("2508.10925",)),
     {"LICENSE": APACHE, "USAGE_POLICY": "gpt-oss usage policy\n\n(Abridged for the openwatch demo.)\n"}),
    ("openai/gpt-oss-20b", "2025-08-04", dict(license="apache-2.0"),
     dict(downloads=5_000_000, likes=3_700, parameters=21_511_953_984, arxiv=("2508.10925",)),
     {"LICENSE": APACHE, "USAGE_POLICY": "gpt-oss usage policy\n\n(Abridged for the openwatch demo.)\n"}),
    ("openai/whisper-large-v3", "2023-11-07", dict(license="apache-2.0"),
     dict(downloads=4_500_000, likes=4_900, pipeline_tag="automatic-speech-recognition", arxiv=("2212.04356",)), {}),
    # Older than the Hub's createdAt field: one of its two legacy instants, no licence in the card.
    ("openai/clip-vit-base-patch32", None, dict(license=None),
     dict(downloads=15_000_000, likes=750, pipeline_tag="zero-shot-image-classification"), {}),
    ("microsoft/DialoGPT-medium", "legacy-05", dict(license="mit"),
     dict(downloads=300_000, likes=350, pipeline_tag="text-generation", card_extra={"tags": ["conversational"]}), {}),
    ("allenai/OLMo-2-1124-7B", "2024-11-19", dict(license="apache-2.0"),
     dict(downloads=60_000, likes=120, parameters=7_298_011_136, datasets=("allenai/olmo-mix-1124",), arxiv=("2501.00656",)),
     {}),
    ("allenai/OLMo-2-0325-32B-Instruct", "2025-03-11", dict(license="apache-2.0"),
     dict(downloads=25_000, likes=160, parameters=32_234_279_936, base_model="allenai/OLMo-2-0325-32B"), {}),
    ("allenai/Llama-3.1-Tulu-3-8B", "2024-11-20", dict(license="llama3.1"),
     dict(downloads=20_000, likes=170, parameters=8_030_261_248, base_model="meta-llama/Llama-3.1-8B",
          datasets=("allenai/RLVR-GSM-MATH-IF-Mixed-Constraints",)),
     {"LICENSE": _llama("3.1", "July 23, 2024")}),
    ("mistralai/Mistral-7B-Instruct-v0.3", "2024-05-22", dict(license="apache-2.0"),
     dict(gated="auto", downloads=1_000_000, likes=2_000, parameters=7_248_023_552), {"LICENSE": APACHE}),
    ("mistralai/Mistral-Small-3.1-24B-Instruct-2503", "2025-03-11", dict(license="apache-2.0"),
     dict(downloads=150_000, likes=1_300, parameters=24_011_361_280, pipeline_tag="image-text-to-text"), {}),
    ("mistralai/Mistral-Large-Instruct-2411", "2024-11-14", dict(license="other", license_name="mrl",
                                                                  license_link="https://mistral.ai/licenses/MRL-0.1.md"),
     dict(gated="auto", downloads=15_000, likes=230, parameters=122_610_069_504), {}),
    ("mistralai/Codestral-22B-v0.1", "2024-05-29", dict(license="other", license_name="mnpl",
                                                         license_link="https://mistral.ai/licences/MNPL-0.1.md"),
     dict(gated="auto", downloads=9_000, likes=1_300, parameters=22_247_282_688), {}),
    ("zai-org/GLM-4.5", "2025-07-20", dict(license="mit"),
     dict(downloads=60_000, likes=1_300, parameters=358_337_791_296, arxiv=("2508.06471",)), {}),
    ("zai-org/GLM-4.5-Air", "2025-07-20", dict(license="mit"),
     dict(downloads=200_000, likes=500, parameters=110_468_824_832, arxiv=("2508.06471",)), {}),
    ("marin-community/marin-8b-base", "2025-05-15", dict(license="apache-2.0"),
     dict(downloads=3_000, likes=60, parameters=8_030_261_248), {}),
    ("marin-community/marin-8b-instruct", "2025-05-15", dict(license="apache-2.0"),
     dict(downloads=2_000, likes=40, parameters=8_030_261_248, base_model="marin-community/marin-8b-base"), {}),
    ("google/gemma-3-27b-it", "2025-03-01", dict(license="gemma"),
     dict(gated="manual", downloads=900_000, likes=1_500, parameters=27_432_406_640, pipeline_tag="image-text-to-text"), {}),
    ("microsoft/phi-4", "2024-12-11", dict(license="mit",
                                          license_link="https://huggingface.co/microsoft/phi-4/resolve/main/LICENSE"),
     dict(downloads=500_000, likes=2_000, parameters=14_659_507_200, arxiv=("2412.08905",)),
     {"LICENSE": MIT.format(year=2024, holder="Microsoft Corporation")}),
]


def seed_demo_world(world: HubWorld, registry=None) -> list[str]:
    """Add the demo models whose organisation `registry` knows (default: the shipped one); ids."""
    if registry is None:
        from crawler.orgs import default_orgs

        registry = default_orgs()
    ids = []
    clock = world.clock
    now = clock()
    try:
        for model_id, created, license_kwargs, kwargs, files in DEMO_MODELS:
            if registry.lookup(model_id.split("/", 1)[0]) is None:
                continue
            created_at = {None: SENTINEL_CREATED_AT, "legacy-05": SENTINEL_CREATED_AT_05}.get(created) or _d(created)
            # The initial commit is dated shortly after creation, as on the real repos.
            committed = min(max(created_at, _d("2023-06-01")) + timedelta(days=3), now)
            world.clock = lambda committed=committed: committed
            world.add_model(model_id, created_at=min(created_at, now), files=dict(files), **license_kwargs, **kwargs)
            ids.append(model_id)
    finally:
        world.clock = clock
    return ids


def apply_demo_changes(world: HubWorld) -> list[str]:
    """What happens between the demo's crawls; one line per change (what openwatch should see)."""
    changes = []

    def present(model_id):
        return model_id in world.model_ids(model_id.split("/", 1)[0])

    if present("deepseek-ai/DeepSeek-V3"):
        world.commit(
            "deepseek-ai/DeepSeek-V3",
            files={"LICENSE": MIT.format(year=2023, holder="DeepSeek")},
            delete=("LICENSE-MODEL", "LICENSE-CODE"),
            card={"license": "mit", "license_name": None, "license_link": None},
            message="Switch to MIT license",
        )
        changes.append("deepseek-ai/DeepSeek-V3: licence other (deepseek) -> mit")
    if present("Qwen/Qwen2.5-3B-Instruct"):
        world.relicense("Qwen/Qwen2.5-3B-Instruct", "apache-2.0", license_text=APACHE)
        changes.append("Qwen/Qwen2.5-3B-Instruct: licence other (qwen-research) -> apache-2.0")
    if present("mistralai/Mistral-7B-Instruct-v0.3"):
        world.set_gated("mistralai/Mistral-7B-Instruct-v0.3", False)
        changes.append("mistralai/Mistral-7B-Instruct-v0.3: gating auto -> off")
    if present("moonshotai/Kimi-K2-Instruct"):
        text = MODIFIED_MIT.format(year=2025, holder="Moonshot AI").replace("100 million", "150 million")
        world.commit("moonshotai/Kimi-K2-Instruct", files={"LICENSE": text}, message="Update LICENSE")
        changes.append("moonshotai/Kimi-K2-Instruct: LICENSE file text changed")
    if present("allenai/OLMo-2-1124-7B"):
        world.commit("allenai/OLMo-2-1124-7B", files={"README.md": "# OLMo 2 7B\n\nUpdated evaluation table.\n"},
                     message="Update README.md")
        changes.append("allenai/OLMo-2-1124-7B: new commit (README)")
    if present("deepseek-ai/deepseek-coder-6.7b-instruct"):
        world.set_private("deepseek-ai/deepseek-coder-6.7b-instruct", True)
        changes.append("deepseek-ai/deepseek-coder-6.7b-instruct: made private (gone for anonymous clients)")
    if present("zai-org/GLM-4.5") and "zai-org/GLM-4.6" not in world.model_ids("zai-org"):
        world.add_model("zai-org/GLM-4.6", license="mit", downloads=0, likes=0, parameters=356_785_898_496,
                        files={"LICENSE": MIT.format(year=2025, holder="Zhipu AI")})
        changes.append("zai-org/GLM-4.6: new model")
    return changes


# -- the other sources: GitHub, arXiv, feeds, ModelScope, daily papers ------------------------
#
# Repos, paper ids and titles, ModelScope ids and licence display names are the real ones;
# release notes, abstracts and blog posts are abridged or invented and say so where it matters.

DEMO_REPOS = [
    # (full name, SPDX id as GitHub reports it, description, created)
    ("deepseek-ai/DeepSeek-R1", "MIT", "DeepSeek-R1: reasoning via reinforcement learning", "2025-01-20"),
    ("deepseek-ai/DeepSeek-V3", "MIT", "DeepSeek-V3", "2024-12-26"),
    ("QwenLM/Qwen3", "Apache-2.0", "Qwen3 is the large language model series developed by Qwen team, Alibaba Cloud.",
     "2025-04-28"),
    ("openai/gpt-oss", "Apache-2.0", "gpt-oss-120b and gpt-oss-20b are two open-weight language models by OpenAI",
     "2025-08-05"),
    ("meta-llama/llama-models", "NOASSERTION", "Utilities intended for use with Llama models.", "2024-06-27"),
    ("allenai/OLMo", "Apache-2.0", "Modeling, training, eval, and inference code for OLMo", "2023-02-09"),
    ("moonshotai/Kimi-K2", "NOASSERTION", "Kimi K2 is the large language model series developed by Moonshot AI team",
     "2025-07-11"),
    ("zai-org/GLM-4.5", "Apache-2.0", "GLM-4.5: An open-source large language model designed for intelligent agents",
     "2025-07-28"),
    ("mistralai/mistral-inference", "Apache-2.0", "Official inference library for Mistral models", "2023-09-27"),
]

DEMO_RELEASES = [
    # (repo, tag, name, body, prerelease, published)
    ("openai/gpt-oss", "v0.0.7", "v0.0.7", "## What's Changed\n\n* Fix tokenizer loading in the reference "
     "implementation\n\nWeights: https://huggingface.co/openai/gpt-oss-120b and "
     "https://huggingface.co/openai/gpt-oss-20b\n", False, "2025-08-20"),
    ("openai/gpt-oss", "v0.0.8", "v0.0.8", "## What's Changed\n\n* Triton MoE kernels\n* Harmony format fixes\n",
     False, "2025-09-03"),
    ("meta-llama/llama-models", "v0.2.0", "v0.2.0", "Llama 4 models: https://huggingface.co/meta-llama\n",
     False, "2025-04-05"),
    ("allenai/OLMo", "v0.6.0", "v0.6.0", "OLMo 2 release. Models: https://huggingface.co/allenai/OLMo-2-1124-7B\n",
     False, "2024-11-26"),
    ("mistralai/mistral-inference", "v1.6.0", "v1.6.0", "* Support for Mistral Small 3.1\n", False, "2025-03-17"),
    ("mistralai/mistral-inference", "v1.7.0rc1", "v1.7.0rc1", "Release candidate.\n", True, "2025-06-02"),
    ("deepseek-ai/DeepSeek-R1", "v1.0", "DeepSeek-R1", "Model weights: https://huggingface.co/deepseek-ai/DeepSeek-R1\n"
     "Paper: https://arxiv.org/abs/2501.12948\n(Release notes invented for the openwatch demo.)\n", False, "2025-01-20"),
]

DEMO_PAPERS = [
    # (id, title, authors, categories, published, abstract (abridged), comment)
    ("2501.12948", "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
     ["DeepSeek-AI"], ["cs.CL", "cs.AI", "cs.LG"], "2025-01-22T15:19:35",
     "We introduce our first-generation reasoning models, DeepSeek-R1-Zero and DeepSeek-R1. (Abridged.) To support "
     "the research community, we open-source DeepSeek-R1-Zero, DeepSeek-R1, and six dense models distilled from "
     "DeepSeek-R1 based on Qwen and Llama.", "Code and weights: https://github.com/deepseek-ai/DeepSeek-R1 , "
     "https://huggingface.co/deepseek-ai/DeepSeek-R1"),
    ("2412.15115", "Qwen2.5 Technical Report", ["An Yang", "Baosong Yang", "Beichen Zhang", "Qwen Team"],
     ["cs.CL"], "2024-12-19T17:40:36",
     "In this report, we introduce Qwen2.5, a comprehensive series of large language models. (Abridged.) "
     "Open-weight offerings include base models and instruction-tuned models in seven sizes.", None),
    ("2501.00656", "2 OLMo 2 Furious", ["Team OLMo", "Pete Walsh", "Luca Soldaini", "Dirk Groeneveld"],
     ["cs.CL", "cs.LG"], "2024-12-31T21:55:10",
     "We present OLMo 2, the next generation of our fully open language models. (Abridged.) All artifacts are "
     "released at https://huggingface.co/allenai and https://github.com/allenai/OLMo", None),
    ("2508.10925", "gpt-oss-120b & gpt-oss-20b Model Card", ["OpenAI"], ["cs.CL", "cs.AI"], "2025-08-08T19:24:38",
     "We present gpt-oss-120b and gpt-oss-20b, two open-weight reasoning models. (Abridged.)", None),
    ("2508.06471", "GLM-4.5: Agentic, Reasoning, and Coding (ARC) Foundation Models", ["GLM-4.5 Team"],
     ["cs.CL"], "2025-08-08T17:21:06",
     "We present GLM-4.5, an open-source Mixture-of-Experts (MoE) large language model. (Abridged.) Code and "
     "models: https://github.com/zai-org/GLM-4.5", None),
    ("2412.08905", "Phi-4 Technical Report", ["Marah Abdin", "Jyoti Aneja", "Sebastien Bubeck"], ["cs.CL", "cs.AI"],
     "2024-12-12T18:48:00", "We present phi-4, a 14-billion parameter language model. (Abridged.)", None),
]

DEMO_MS_MODELS = [
    # (ModelScope id, licence display name, Chinese name, created)
    ("Qwen/Qwen3-8B", "Apache License 2.0", "通义千问3-8B", "2025-04-28"),
    ("Qwen/Qwen2.5-7B-Instruct", "Apache License 2.0", "通义千问2.5-7B-Instruct", "2024-09-18"),
    ("deepseek-ai/DeepSeek-R1", "MIT", "", "2025-01-20"),
    ("deepseek-ai/DeepSeek-V3", "MIT", "", "2024-12-26"),
    ("ZhipuAI/GLM-4.5", "MIT", "", "2025-07-28"),
    ("moonshotai/Kimi-K2-Instruct", "Other", "", "2025-07-11"),
    ("baichuan-inc/Baichuan2-7B-Chat", "Other", "百川2-7B-对话模型", "2023-09-06"),
]


def seed_demo_sources(emulator) -> dict[str, list[str]]:
    """Fill the emulator's GitHub, arXiv, feeds, ModelScope and daily-papers worlds; what was
    added, per service (repos, papers, feed names, ModelScope ids, daily paper ids)."""
    github, arxiv, feeds, ms, hf = emulator.github, emulator.arxiv, emulator.feeds, emulator.modelscope, emulator.world
    now = hf.clock()

    def at(text: str) -> datetime:
        return min(_d(text), now)

    for full_name, spdx, description, created in DEMO_REPOS:
        github.add_repo(full_name, license_spdx=spdx, description=description, created_at=at(created),
                        stars=1000, topics=["llm"])
    for repo, tag, name, body, prerelease, published in DEMO_RELEASES:
        github.add_release(repo, tag, name=name, body=body, prerelease=prerelease, published_at=at(published))
    for arxiv_id, title, authors, categories, published, abstract, comment in DEMO_PAPERS:
        arxiv.add_paper(arxiv_id, title=title, authors=authors, categories=categories, abstract=abstract,
                        comment=comment, published=at(published))
    feeds.add_feed("deepmind-blog", kind="rss2", title="Google DeepMind Blog", link="https://deepmind.google/discover/blog/",
                   description="Read the latest articles and stories from DeepMind.")
    feeds.add_entry("deepmind-blog", "https://deepmind.google/discover/blog/gemini-25-flash-lite-is-now-ready-for-"
                    "scaled-production-use/", title="Gemini 2.5 Flash-Lite is now ready for scaled production use",
                    link="https://deepmind.google/discover/blog/gemini-25-flash-lite-is-now-ready-for-scaled-"
                    "production-use/", summary="Gemini 2.5 Flash-Lite, previously in preview, is now stable and "
                    "generally available.", published=at("2025-07-22T16:00:00"))
    feeds.add_feed("qwen-blog", kind="atom", title="Qwen", link="https://qwenlm.github.io/blog/")
    feeds.add_entry("qwen-blog", "https://qwenlm.github.io/blog/qwen3/", title="Qwen3: Think Deeper, Act Faster",
                    link="https://qwenlm.github.io/blog/qwen3/", summary="We release Qwen3, the latest addition to "
                    "the Qwen family. Weights: https://huggingface.co/Qwen/Qwen3-235B-A22B", author="Qwen Team",
                    published=at("2025-04-29T00:00:00"))
    feeds.add_feed("golem", kind="rss1", encoding="iso-8859-1", title="Golem.de", link="https://www.golem.de/",
                   description="IT-News fuer Profis")
    feeds.add_entry("golem", "https://www.golem.de/news/digitalministerium-neue-glasfaserfoerderung-mit-schnellkasse-"
                    "2301-171451.html", title="Digitalministerium: Neue Glasfaserförderung mit Schnellkasse",
                    link="https://www.golem.de/news/digitalministerium-neue-glasfaserfoerderung-mit-schnellkasse-"
                    "2301-171451.html", summary="Ab April soll es wieder Förderung für den Ausbau von Glasfaser "
                    "geben.", author="Achim Sawall", published=at("2023-01-25T18:03:02"))
    feeds.add_feed("labo-ouvert", kind="rss2", encoding="iso-8859-1", declared=False, title="Labo ouvert (demo)",
                   link="https://example.org/labo-ouvert/", description="Un blog inventé pour la démo")
    feeds.add_entry("labo-ouvert", "labo-ouvert-1", title="Modèles ouverts : première publication",
                    link="https://example.org/labo-ouvert/1", summary="Les poids sont publiés sous licence "
                    "Apache 2.0 : https://huggingface.co/mistralai/Mistral-Small-3.1-24B-Instruct-2503",
                    published=at("2025-03-17T09:00:00"))
    for model_id, license, chinese_name, created in DEMO_MS_MODELS:
        ms.add_model(model_id, license=license, chinese_name=chinese_name, created_at=at(created),
                     downloads=10_000, stars=100)
    hf.add_daily_paper("2501.12948", title=DEMO_PAPERS[0][1], summary=DEMO_PAPERS[0][5], authors=["DeepSeek-AI"],
                       upvotes=300, date=at("2025-01-23"), organization={"name": "deepseek-ai", "fullname": "DeepSeek"},
                       github_repo="https://github.com/deepseek-ai/DeepSeek-R1")
    hf.add_daily_paper("2412.15115", title=DEMO_PAPERS[1][1], summary=DEMO_PAPERS[1][5], authors=DEMO_PAPERS[1][2],
                       upvotes=120, date=at("2024-12-20"), organization={"name": "Qwen", "fullname": "Qwen"})
    hf.add_daily_paper("2501.00656", title=DEMO_PAPERS[2][1], summary=DEMO_PAPERS[2][5], authors=DEMO_PAPERS[2][2],
                       upvotes=90, date=at("2025-01-01"), organization={"name": "allenai", "fullname": "Ai2"},
                       github_repo="https://github.com/allenai/OLMo")
    return {"github": [r[0] for r in DEMO_REPOS], "arxiv": [p[0] for p in DEMO_PAPERS],
            "feeds": feeds.names(), "modelscope": [m[0] for m in DEMO_MS_MODELS],
            "hf_papers": [p.arxiv_id for p in hf.daily_papers()]}


def apply_demo_source_changes(emulator) -> list[str]:
    """What happens on the other sources between the demo's crawls; one line per change."""
    github, arxiv, feeds, ms, hf = emulator.github, emulator.arxiv, emulator.feeds, emulator.modelscope, emulator.world
    changes = []
    github.add_release("openai/gpt-oss", "v0.0.9", body="## What's Changed\n\n* Reference implementation for "
                       "https://huggingface.co/openai/gpt-oss-20b on one GPU\n(Release notes invented for the demo.)\n")
    changes.append("openai/gpt-oss: release v0.0.9 (names a Hugging Face model)")
    github.relicense_repo("moonshotai/Kimi-K2", "MIT")
    changes.append("moonshotai/Kimi-K2: GitHub licence NOASSERTION -> MIT (demo fiction)")
    github.archive_repo("allenai/OLMo")
    changes.append("allenai/OLMo: archived (demo fiction)")
    arxiv.add_paper("2507.20534", title="Kimi K2: Open Agentic Intelligence", authors=["Kimi Team"],
                    categories=["cs.LG", "cs.AI", "cs.CL"], abstract="We introduce Kimi K2, a Mixture-of-Experts "
                    "large language model. (Abridged.) We release our base and post-trained model checkpoints.",
                    comment="Weights: https://huggingface.co/moonshotai/Kimi-K2-Instruct")
    changes.append("arXiv 2507.20534: new paper (links a Hugging Face model)")
    feeds.add_entry("qwen-blog", "https://qwenlm.github.io/blog/qwen3-next/", title="Qwen3-Next: Towards Ultimate "
                    "Training & Inference Efficiency", link="https://qwenlm.github.io/blog/qwen3-next/",
                    summary="Qwen3-Next-80B-A3B. (Abridged.)", author="Qwen Team")
    changes.append("qwen-blog: new post")
    feeds.edit_entry("deepmind-blog", "https://deepmind.google/discover/blog/gemini-25-flash-lite-is-now-ready-for-"
                     "scaled-production-use/", summary="Gemini 2.5 Flash-Lite is now stable and generally available. "
                     "(Edited.)")
    changes.append("deepmind-blog: a post edited (not new)")
    ms.add_model("Qwen/Qwen3-Next-80B-A3B-Instruct", license="Apache License 2.0")
    changes.append("ModelScope Qwen/Qwen3-Next-80B-A3B-Instruct: new model")
    ms.relicense("baichuan-inc/Baichuan2-7B-Chat", "Apache License 2.0")
    changes.append("ModelScope baichuan-inc/Baichuan2-7B-Chat: licence Other -> Apache License 2.0 (demo fiction)")
    hf.add_daily_paper("2508.06471", title=DEMO_PAPERS[4][1], summary=DEMO_PAPERS[4][5], authors=DEMO_PAPERS[4][2],
                       upvotes=150, organization={"name": "zai-org", "fullname": "Z.ai"},
                       github_repo="https://github.com/zai-org/GLM-4.5")
    changes.append("daily papers: 2508.06471 featured")
    return changes
