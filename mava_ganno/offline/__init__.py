"""Offline data for GANNO (issue 11): demonstrations of handcrafted schedules."""

from mava_ganno.offline.demos import (
    DEMO_SCHEDULES,
    ScheduleFollower,
    generate_demonstrations,
    load_demonstrations,
    save_demonstrations,
    schedule_targets,
)

__all__ = [
    "DEMO_SCHEDULES",
    "ScheduleFollower",
    "generate_demonstrations",
    "load_demonstrations",
    "save_demonstrations",
    "schedule_targets",
]
