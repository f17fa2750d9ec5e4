"""``python -m seqdl``: the same as the ``seqdl`` command."""

from .cli import main

if __name__ == "__main__":
    main()
