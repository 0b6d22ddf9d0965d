import time

import pytest

from orchestrator.step_timing import PARTS, PHASES, StepTiming
from workers.phase_clock import PhaseClock


def test_a_phase_is_timed_by_its_block_and_add_sums_blocks_of_one_step():
    timing = StepTiming()
    with timing.phase("sync"):
        time.sleep(0.01)
    with timing.phase("sync", add=True):
        time.sleep(0.01)
    with timing.phase("eval"):
        time.sleep(0.01)
    with timing.phase("eval"):
        pass
    assert timing.phases["sync"] >= 0.02 and timing.phases["eval"] < 0.01
    assert set(timing.phases) == set(PHASES) and set(timing.parts) == set(PARTS)


def test_a_clock_starts_a_phase_at_its_first_block_and_a_raising_block_still_counts():
    clock = PhaseClock()
    with pytest.raises(ValueError), clock.phase("backward", add=True):
        time.sleep(0.01)
        raise ValueError
    assert clock.phases["backward"] >= 0.01


def test_overhead_is_the_step_outside_its_phases():
    timing = StepTiming(step_s=3.0)
    timing.phases["learn"], timing.phases["generate"] = 1.5, 1.0
    assert timing.overhead_s == pytest.approx(0.5)
