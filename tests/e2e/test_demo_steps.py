"""Each step of `openwatch demo` is ticked by its own event, not by another step's event of
the same type (step 2b relicenses a ModelScope model; step 3's tick is Llama's licence)."""

from __future__ import annotations

import io

import jobs.demo as demo
from crawler.emulator.world import HubWorld


def test_a_step_whose_change_never_happens_is_not_ticked_by_another_steps_event(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(demo, "STEP_TIMEOUT", 20.0)
    relicense = HubWorld.relicense

    def relicense_all_but_step_3(self, model_id, *args, **kwargs):
        if model_id == demo.RELICENSED:
            return None  # step 3's change never happens
        return relicense(self, model_id, *args, **kwargs)

    monkeypatch.setattr(HubWorld, "relicense", relicense_all_but_step_3)
    out = io.StringIO()
    code = demo.run_demo(speed=3.0, out=out)
    text = out.getvalue()
    step_3 = text[text.index("3. Meta relicenses"):text.index("4. Qwen gates")]
    assert "model.license_changed alert delivered: not seen within 20s" in step_3, step_3
    assert "✓ model.license_changed alert delivered" not in step_3
    assert "model.license_changed alert delivered (model:ms/baichuan-inc/Baichuan2-7B-Chat)" in text  # 2b's own
    assert code == 1
