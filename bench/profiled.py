"""`python -m bench.profiled OUT.prof module:function [args...]`: run a console entry point under cProfile.

The bot suite's `--profile` runs the gateway's worker this way (`academy_gateway_bot.app:main worker`):
the stats of its main thread (the event loop: aiogram, the handlers, the service clients) are written to
OUT.prof when the process ends, also on SIGTERM (the worker stops gracefully on it).
"""

from __future__ import annotations

import cProfile
import importlib
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, target, *rest = sys.argv[1:]
    module_name, _, function = target.partition(":")
    entry = getattr(importlib.import_module(module_name), function or "main")
    sys.argv = [module_name, *rest]
    profiler = cProfile.Profile()
    profiler.enable()
    code = 0
    try:
        entry()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        profiler.disable()
        profiler.dump_stats(out)
    return code


if __name__ == "__main__":
    sys.exit(main())
