#!/usr/bin/python3
"""Runs a command under a Docker seccomp profile, without Docker: load-profile.py PROFILE.json CMD [ARG...]

Builds the filter with libseccomp (Debian's python3-seccomp, the library runc uses too): the
profile's default action, each rule with its action and argument conditions, names unknown on this
architecture skipped as Docker skips them. Then loads it (with no_new_privs) and execs CMD, which
runs confined exactly as the container's entrypoint would. Used by scripts/derive-seccomp.ts
--verify and test/container-profiles.test.ts.
"""
import json
import os
import sys

import seccomp

OPS = {
    "SCMP_CMP_EQ": seccomp.EQ,
    "SCMP_CMP_NE": seccomp.NE,
    "SCMP_CMP_LT": seccomp.LT,
    "SCMP_CMP_LE": seccomp.LE,
    "SCMP_CMP_GT": seccomp.GT,
    "SCMP_CMP_GE": seccomp.GE,
    "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ,
}


def action(name, errno):
    if name == "SCMP_ACT_ALLOW":
        return seccomp.ALLOW
    if name == "SCMP_ACT_ERRNO":
        return seccomp.ERRNO(errno)
    raise ValueError("unsupported action " + name)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        profile = json.load(f)
    flt = seccomp.SyscallFilter(defaction=action(profile["defaultAction"], profile.get("defaultErrnoRet", 1)))
    for rule in profile["syscalls"]:
        act = action(rule["action"], rule.get("errnoRet", 1))
        args = [seccomp.Arg(a["index"], OPS[a["op"]], a["value"], a.get("valueTwo", 0)) for a in rule.get("args", [])]
        for name in rule["names"]:
            try:
                flt.add_rule(act, name, *args)
            except (RuntimeError, ValueError):
                pass  # not a syscall of this architecture (an aarch64-only name on x86_64)
    flt.load()
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
