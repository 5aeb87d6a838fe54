"""`python -m shared.domain.schemas [--check] [--allow-breaking]`: regenerate or check the event schemas."""

from __future__ import annotations

import argparse
import sys

from shared.domain.schemas import REGENERATE, SCHEMA_DIR, drift, write


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when the committed schemas match the models (after writing them, unless `--check`)."""
    parser = argparse.ArgumentParser(prog="python -m shared.domain.schemas", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale, missing and extra files")
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="overwrite a committed version even with a breaking change (only before it was ever deployed)",
    )
    args = parser.parse_args(argv)

    if args.check:
        found = drift()
        if found:
            print(f"event schemas in {SCHEMA_DIR} differ from the models; run `{REGENERATE}`:")
            print(found.report())
            return 1
        print("event schemas are up to date")
        return 0

    found = write(allow_breaking=args.allow_breaking)
    if not args.allow_breaking and any(found.stale.values()):
        print("refusing to overwrite committed schema versions with breaking changes:", file=sys.stderr)
        print(found.report(), file=sys.stderr)
        print(
            "add a new schema_version (see shared/domain/events.py) or pass --allow-breaking", file=sys.stderr
        )
        return 1
    print(found.report() if found else "event schemas were already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
