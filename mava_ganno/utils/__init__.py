"""Training utilities (Mava's ``mava/utils`` counterparts): env construction, config checks,
logging, checkpointing."""
