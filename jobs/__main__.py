"""`python -m jobs`: see jobs/cli.py (`python -m jobs --help` lists the commands)."""

import sys

from jobs.cli import main

if __name__ == "__main__":
    sys.exit(main())
