"""Old module name of the main job: ``python -m mava_ganno.main`` runs ``mava_ganno.main_job``."""

from mava_ganno.main_job import main

if __name__ == "__main__":
    main()
