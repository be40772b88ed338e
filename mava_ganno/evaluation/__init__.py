"""Zero-shot evaluation of GANNO policies against handcrafted schedules and optimisers."""
