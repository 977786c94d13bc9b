"""Every source says an unreachable host in one line, as Hugging Face's crawls do, never one
raw DNS error per unit: ModelScope's owners all behind one dead endpoint, feeds spread over
hosts of which some are down (one line per dead host, the live feeds read)."""

from __future__ import annotations

from tests.support.cli import CLI, write_config


def problems(proc) -> list[str]:
    """The explained problems under a crawl's result line (indented, on stderr)."""
    return [line.strip() for line in proc.stderr.splitlines() if line.startswith("  ")]


def test_modelscope_behind_an_unreachable_endpoint_is_one_line(tmp_path, emulator):
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url, endpoints={"modelscope": "http://ms.invalid"},
                          watches=[{"name": "ms", "source": "modelscope",
                                    "orgs": ["Qwen", "deepseek-ai", "ZhipuAI", "moonshotai"], "every": "1h"}])
    proc = CLI(config)("crawl", "ms", check=False)
    assert proc.returncode == 1
    assert problems(proc) == [
        "ms.invalid is unreachable (its name does not resolve): every request of the crawl failed; check the "
        "network connection, or [endpoints] modelscope in openwatch.toml"], proc.stderr


def test_feeds_on_unreachable_hosts_are_one_line_per_host(tmp_path, emulator):
    emulator.feeds.add_feed("lab-blog")
    emulator.feeds.add_entry("lab-blog", "post-1", title="We released weights", link="https://lab.example/posts/1")
    urls = ["http://down.invalid/blog/rss.xml", emulator.feed_url("lab-blog"), "http://down.invalid/news/rss.xml",
            "http://gone.invalid/feed.xml"]
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "blogs", "source": "feed", "urls": urls, "every": "1h"}])
    proc = CLI(config)("crawl", "blogs", check=False)
    assert problems(proc) == [
        "down.invalid is unreachable (its name does not resolve); check the network connection, or the URLs of "
        "the watch",
        "gone.invalid is unreachable (its name does not resolve); check the network connection, or the URLs of "
        "the watch"], proc.stderr
    assert "DNS" not in proc.stderr


def test_feeds_all_on_unreachable_hosts_are_still_one_line_per_host(tmp_path, emulator):
    urls = ["http://down.invalid/blog/rss.xml", "http://gone.invalid/feed.xml", "http://down.invalid/news.xml"]
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "blogs", "source": "feed", "urls": urls, "every": "1h"}])
    proc = CLI(config)("crawl", "blogs", check=False)
    assert proc.returncode == 1
    assert problems(proc) == [
        "down.invalid is unreachable (its name does not resolve); check the network connection, or the URLs of "
        "the watch",
        "gone.invalid is unreachable (its name does not resolve); check the network connection, or the URLs of "
        "the watch"], proc.stderr


def test_an_unreachable_hub_is_one_line_for_all_its_orgs(tmp_path, emulator):
    """Eighteen orgs behind a Hub whose name does not resolve (the starter config offline):
    one line under the result, and no warning per org before it."""
    orgs = [f"lab-{i}" for i in range(18)]
    config = write_config(tmp_path / "openwatch.toml", hf="http://hub.invalid",
                          watches=[{"name": "labs", "source": "huggingface", "orgs": orgs, "every": "1h"}])
    proc = CLI(config)("crawl", "labs", check=False)
    assert proc.returncode == 1
    assert problems(proc) == [
        "hub.invalid is unreachable (its name does not resolve): every request of the crawl failed; check the "
        "network connection, or [endpoints] huggingface in openwatch.toml"], proc.stderr
    assert "WARNING" not in proc.stderr and "DNS" not in proc.stderr, proc.stderr
