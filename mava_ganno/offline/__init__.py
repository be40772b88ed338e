"""Offline data for GANNO : demonstrations of handcrafted schedules and behaviour cloning."""

from mava_ganno.offline.bc import behaviour_clone, keep_top_episodes
from mava_ganno.offline.demos import (
    DEMO_SCHEDULES,
    ScheduleFollower,
    generate_demonstrations,
    load_demonstrations,
    save_demonstrations,
    schedule_targets,
)

__all__ = [
    "behaviour_clone",
    "keep_top_episodes",
    "DEMO_SCHEDULES",
    "ScheduleFollower",
    "generate_demonstrations",
    "load_demonstrations",
    "save_demonstrations",
    "schedule_targets",
]
