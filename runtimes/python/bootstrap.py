"""Lamina runtime bootstrap for Python: the code is in lamina_bootstrap.py."""

import sys

from lamina_bootstrap import main

if __name__ == "__main__":
    sys.exit(main())
