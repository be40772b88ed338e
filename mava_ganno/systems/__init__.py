"""MARL systems that train GANNO policies (Mava's ``mava/systems`` counterparts)."""
