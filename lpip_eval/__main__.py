"""``python -m lpip_eval``: the same as the ``lpip-eval`` command."""

from lpip_eval.cli.commands import main

if __name__ == "__main__":
    main()
