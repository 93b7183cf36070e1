"""`python -m gdscope run-member DIR INDEX`: runs one member of a sweep (the command of each
Slurm array task of a sweep launched from Python)."""

import sys

from . import GdscopeError, run_member


def main(argv: list) -> int:
    if len(argv) != 3 or argv[0] != "run-member":
        print("usage: python -m gdscope run-member SWEEP_DIR INDEX", file=sys.stderr)
        return 2
    try:
        status = run_member(argv[1], int(argv[2]))
    except (GdscopeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    reason = f": {status['reason']}" if status.get("reason") else ""
    print(f"member {status['index']} ({status['id']}): {status['state']}{reason}")
    return 0 if status["state"] in ("completed", "diverged") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
