"""`goldilocks`, one command with verbs (`main.py` assembles them). This file imports nothing, so a
submitted job's entry point (`job_entry.py`) can check the node's Python before typer is imported."""
