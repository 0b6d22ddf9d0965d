"""What a controller's Optuna study holds: one trial per training step, its evidence as user
attributes. A resumed run re-does the steps after its checkpoint; the trials those steps had
before the crash stay in the study (Optuna never deletes a trial) but are listed as rewound and
are no longer on record, so no controller counts a step twice."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial, TrialState

GROUP_POINTS_ATTR = "group_points"
"""Trial user attribute: [[difficulty, passes, episodes], ...], one entry per group."""
GROUP_BUCKETS_ATTR = "group_buckets"
"""Trial user attribute (`per_scenario`): each group's scenario bucket, in `group_points` order."""
STEP_ATTR = "step"
REWARD_ATTR = "reward_mean"
"""Trial user attribute: the batch's mean reward (`progress` reads its slope)."""
ENTROPY_ATTR = "entropy"
"""Trial user attribute (with `curriculum.entropy_floor` set): the policy entropy the step's
proposal saw, the newest the learner had reported."""
REWOUND_ATTR = "rewound_trials"
"""Study user attribute: numbers of the trials whose steps a resumed run re-did."""


def trials_on_record(study: optuna.Study) -> list[FrozenTrial]:
    """Told trials of steps that count, oldest first."""
    rewound = set(study.user_attrs.get(REWOUND_ATTR, []))
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.number not in rewound]


def rewind(study: optuna.Study, step: int) -> int:
    """Take the trials of steps >= `step` off the record; returns how many were taken off."""
    rewound = set(study.user_attrs.get(REWOUND_ATTR, []))
    later = {t.number for t in study.get_trials(deepcopy=False) if t.user_attrs.get(STEP_ATTR, -1) >= step} - rewound
    if later:
        study.set_user_attr(REWOUND_ATTR, sorted(rewound | later))
    return len(later)
