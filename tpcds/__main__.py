"""``python -m tpcds ...`` is ``lakehouse tpcds ...``."""

import sys

from engine.shell.cli import main

sys.exit(main(["tpcds", *sys.argv[1:]]))
