import numpy as np
import pytest

from orchestrator.stats.multiplicity import holm


def test_holm_steps_down_and_keeps_the_order_given():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.3, 0.9]) == pytest.approx([0.6, 0.9])


def test_holm_controls_the_family_wise_error_on_independent_nulls():
    rng = np.random.default_rng(0)
    any_rejected = [min(holm(rng.uniform(size=4))) < 0.05 for _ in range(4000)]
    assert np.mean(any_rejected) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000)


def test_holm_refuses_what_is_not_a_p_value():
    with pytest.raises(ValueError, match="p-values"):
        holm([0.2, 1.5])
