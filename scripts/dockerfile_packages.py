#!/usr/bin/env python3
"""Prints the Debian packages one stage of the Dockerfile installs, one per line.

    scripts/dockerfile_packages.py [--dockerfile PATH] [--stage NAME]

Default stage: the one named rootfs (the stage the final image's files are copied from, with
the runtime packages), or the last one where there is none. The packages are the arguments of
every `apt-get install` in that stage's RUN instructions, options dropped. `make image-check`
installs exactly this list, so the Dockerfile stays the one place it is written.
"""
import argparse
import re
import shlex
import sys


def logical_lines(text):
    """Dockerfile instructions with backslash continuations joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue  # comments (and the syntax directive) are dropped, also inside a continuation
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def stages(text):
    """[(name or None, base image, [instructions])] in order."""
    result = []
    for line in logical_lines(text):
        keyword = line.split(None, 1)[0].upper()
        if keyword == "FROM":
            match = re.match(r"FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
            result.append((match.group(2), match.group(1), []))
        elif result:
            result[-1][2].append(line)
    return result


def apt_packages(instructions):
    packages = []
    for line in instructions:
        if not line.upper().startswith("RUN "):
            continue
        words = shlex.split(line[4:])
        for index, word in enumerate(words):
            if word == "install" and index > 0 and words[index - 1] in ("apt-get", "apt"):
                for argument in words[index + 1:]:
                    if argument in ("&&", ";", "||", "|"):
                        break
                    ends_command = argument.endswith(";")
                    argument = argument.rstrip(";")
                    if argument and not argument.startswith("-"):
                        packages.append(argument)
                    if ends_command:
                        break
    return packages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dockerfile", default="Dockerfile")
    parser.add_argument("--stage", help="stage name (default: rootfs, or the last stage if none is so named)")
    args = parser.parse_args()
    with open(args.dockerfile) as handle:
        all_stages = stages(handle.read())
    chosen = [s for s in all_stages if s[0] == (args.stage or "rootfs")]
    if args.stage and not chosen:
        sys.exit(f"{args.dockerfile}: no stage named {args.stage}")
    stage = chosen[0] if chosen else all_stages[-1]
    packages = apt_packages(stage[2])
    if not packages:
        sys.exit(f"{args.dockerfile}: stage {stage[0] or stage[1]} installs no apt package")
    print("\n".join(packages))


if __name__ == "__main__":
    main()
