"""`jiragate check`, `jiragate test` and `jiragate eval`: the policy author's commands.

Only the standard library is imported at module level (cli.py builds every subcommand's parser
on each start); the policy engine is imported inside `run`.

Exit codes:

- check: 0 loaded (warnings allowed), 1 warnings under `--strict`, 2 policy load errors.
- test: prints each failure (with its diff and the rules' explanations), the coverage and a
  summary line; `-v` also lists every case, passing ones included, in a table per file.
  0 every case passed, 1 a case failed (or `--require-coverage` unmet), 2 policy load
  errors, 3 test file load errors, 4 no tests found (no files, or `--filter` matched nothing).
- eval: prints the decision as JSON (`--explain`: a short summary for a person first, then
  the JSON with every rule's explanation). 0 evaluated, whatever the decision; 2 policy
  load errors; 3 the action is refused (unknown action, invalid details or envelope) or its
  file is unreadable or not JSON. The error is printed to stderr as JSON
  (`{"error": code, "message": ...}`).

`eval` exits 0 on allow, deny and require_approval alike: it reports a decision, it does not
enforce one. Scripts read the `decision` field of its JSON output (without `--explain`, the
output is that JSON alone).

Results go to stdout, errors to stderr. Colour only when stdout is a terminal and NO_COLOR is
not set (https://no-color.org: "when present and not an empty string").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jiragate.policy.testing import CaseResult, Coverage, PolicyTestRun

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_POLICY_ERROR = 2
EXIT_TEST_FILE_ERROR = 3
EXIT_INVALID_ACTION = 3  # eval: the action is refused, or its file unreadable / not JSON
EXIT_NO_TESTS = 4


# --------------------------------------------------------------------------- arguments


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "check":
        _directory_argument(parser)
        parser.add_argument(
            "--site",
            type=Path,
            metavar="FILE",
            help="a site snapshot (`jiragate jira snapshot --out FILE`): also check the "
            "priorities, issue types, statuses, resolutions and custom fields the policies name",
        )
        parser.add_argument(
            "--strict", action="store_true", help="exit 1 when the linter has warnings"
        )
    elif name == "test":
        parser.add_argument(
            "directory",
            nargs="?",
            type=Path,
            help="a policy directory (its tests are in DIR/tests/*_test.yaml) or one test file; "
            "default: ./policies if it exists, else the shipped policies",
        )
        parser.add_argument(
            "--filter",
            "-k",
            metavar="PATTERN",
            help="run only cases whose name matches: a glob (*bulk*) or a substring, any case",
        )
        parser.add_argument(
            "--require-coverage",
            action="store_true",
            help="exit 1 unless every rule determines at least one case",
        )
        parser.add_argument(
            "--verbose",
            "-v",
            action="store_true",
            help="also list every case, passing ones included, in a table per file",
        )
        parser.add_argument(
            "--quiet",
            "-q",
            action="store_true",
            help="no table even with -v (failures, coverage and the summary: the default)",
        )
    elif name == "eval":
        parser.add_argument("file", help="a JSON action envelope {action, summary, details}, or -")
        parser.add_argument(
            "--policies",
            type=Path,
            metavar="DIR",
            help="the policy directory (default: ./policies, else the shipped policies)",
        )
        parser.add_argument("--agent", metavar="NAME", help="evaluate as this agent identity")
        parser.add_argument(
            "--explain",
            action="store_true",
            help="start with a short summary (decision, deciding rule, matched rules), and "
            "include why each rule did or did not match in the JSON",
        )
    else:
        raise ValueError(f"jiragate.policy.commands has no command {name!r}")


def _directory_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="the policy directory (default: ./policies if it exists, else the shipped policies)",
    )


def run(args: argparse.Namespace) -> int:
    commands = {"check": run_check, "test": run_test, "eval": run_eval}
    return commands[args.command](args)


def default_policy_dir() -> Path:
    """./policies if it exists, else the policies shipped in the wheel, else the repo's."""
    local = Path("policies")
    if local.is_dir():
        return local
    import jiragate

    package = Path(jiragate.__file__).resolve().parent
    packaged = package / "_data" / "policies"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "policies"


# --------------------------------------------------------------------------- output


class _Out:
    """stdout and stderr, with colour only for a terminal that has not asked for none."""

    _CODES = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}

    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        isatty = getattr(self.stdout, "isatty", lambda: False)
        self.colour = bool(isatty()) and not os.environ.get("NO_COLOR")

    def paint(self, text: str, style: str) -> str:
        if not self.colour:
            return text
        return f"\x1b[{self._CODES[style]}m{text}\x1b[0m"

    def print(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def error(self, text: str) -> None:
        print(text, file=self.stderr)


def _print_issues(out: _Out, issues: list[Any]) -> None:
    for issue in issues:
        out.error(str(issue))


# --------------------------------------------------------------------------- check


def run_check(args: argparse.Namespace) -> int:
    from jiragate.errors import PolicyLoadError
    from jiragate.policy.engine import load_policies
    from jiragate.policy.lint import lint

    out = _Out()
    directory = args.directory or default_policy_dir()
    try:
        policies = load_policies(directory)
    except PolicyLoadError as exc:
        _print_issues(out, exc.issues)
        count = len(exc.issues)
        out.error(out.paint(f"{directory}: {count} error{'s' if count != 1 else ''}", "red"))
        return EXIT_POLICY_ERROR
    if getattr(args, "site", None) is not None:
        problems = _site_problems(out, policies, args.site)
        if problems:
            return EXIT_POLICY_ERROR
    warnings = lint(policies)
    out.print(
        f"{out.paint('ok', 'green')}: {len(policies.rules)} rules, {len(policies.groups)} groups, "
        f"revision {policies.revision}"
    )
    for warning in warnings:
        code = f" [{warning.code}]" if warning.code else ""
        out.print(f"{out.paint('warning', 'yellow')}: {warning}{code}")
    if warnings and args.strict:
        out.error(f"{len(warnings)} warning(s), and --strict makes warnings fail")
        return EXIT_FAILED
    return EXIT_OK


def _site_problems(out: _Out, policies: Any, path: Path) -> int:
    """Print what the policies name that the site does not have; how many."""
    import json

    from jiragate.catalog.site import SiteMetadata
    from jiragate.policy.sitecheck import priority_order_problem, site_problems

    try:
        site = SiteMetadata.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        out.error(f"{path}: not a readable site snapshot: {exc}")
        return 1
    problems = site_problems(policies, site)
    for problem in problems:
        out.error(str(problem))
    if problems:
        count = len(problems)
        out.error(
            out.paint(f"{path}: {count} name{'s' if count != 1 else ''} the site lacks", "red")
        )
    order = priority_order_problem(policies, site)
    if order is not None:
        out.error(out.paint(f"{path}: {order}", "red"))
    return len(problems) + (order is not None)


# --------------------------------------------------------------------------- test


def run_test(args: argparse.Namespace) -> int:
    from jiragate.errors import PolicyLoadError, PolicyTestLoadError
    from jiragate.policy.testing import case_filter, is_suite_file, run_policy_tests

    out = _Out()
    target: Path = args.directory or default_policy_dir()
    files: list[Path] | None = None
    if target.is_file() and is_suite_file(target):
        files = [target]
        policy_dir = target.resolve().parent.parent
    else:
        policy_dir = target
    select = case_filter(args.filter) if args.filter else None
    try:
        report = run_policy_tests(policy_dir, select=select, files=files)
    except PolicyLoadError as exc:
        _print_issues(out, exc.issues)
        out.error(out.paint(f"the policy set in {policy_dir} does not load", "red"))
        return EXIT_POLICY_ERROR
    except PolicyTestLoadError as exc:
        _print_issues(out, exc.issues)
        out.error(out.paint("test files do not load", "red"))
        return EXIT_TEST_FILE_ERROR
    if not report.results:
        if not report.suites:
            out.error(f"no tests found: no *_test.yaml files in {Path(policy_dir) / 'tests'}")
        else:
            out.error(f"no tests found: no case name matches {args.filter!r}")
        return EXIT_NO_TESTS
    if args.verbose and not args.quiet:
        _print_table(out, report)
    _print_failures(out, [r for r in report.results if not r.passed])
    uncovered = _print_coverage(out, report.coverage, filtered=bool(args.filter))
    _print_summary(out, report)
    if report.failed:
        return EXIT_FAILED
    if args.require_coverage and uncovered:
        out.error("--require-coverage: some rules determine no case")
        return EXIT_FAILED
    return EXIT_OK


_MAX_NAME = 72


def _print_table(out: _Out, report: PolicyTestRun) -> None:
    for suite in report.suites:
        if not suite.results:
            continue
        out.print(out.paint(f"{suite.suite.file} — {suite.suite.name}", "bold"))
        rows = [
            (
                _clip(result.case.name),
                result.case.expect.describe(),
                result.outcome.describe(),
                result.passed,
            )
            for result in suite.results
        ]
        name_width = max(len("case"), *(len(row[0]) for row in rows))
        expected_width = max(len("expected"), *(len(row[1]) for row in rows))
        out.print(
            out.paint(
                f"  {'':4}  {'case':<{name_width}}  {'expected':<{expected_width}}  actual", "dim"
            )
        )
        for name, expected, actual, passed in rows:
            status = out.paint("PASS", "green") if passed else out.paint("FAIL", "red")
            out.print(f"  {status}  {name:<{name_width}}  {expected:<{expected_width}}  {actual}")
        out.print()


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 1] + "…"


def _print_failures(out: _Out, failures: list[CaseResult]) -> None:
    from jiragate.policy.testing import format_failure

    if not failures:
        return
    out.print(out.paint(f"{len(failures)} FAILED", "red"))
    for result in failures:
        out.print(f"{out.paint('FAIL', 'red')} {format_failure(result)}")
        out.print()


def _print_coverage(out: _Out, coverage: Coverage, *, filtered: bool) -> tuple[str, ...]:
    total = len(coverage.rules)
    undetermined = coverage.never_determined
    note = " (of the selected cases)" if filtered else ""
    out.print(f"coverage: {total - len(undetermined)}/{total} rules determine a case{note}")
    if coverage.never_matched:
        out.print(f"  rules no case matched: {', '.join(coverage.never_matched)}")
    only_matched = [rule for rule in undetermined if rule not in coverage.never_matched]
    if only_matched:
        out.print(f"  rules that matched but never determined a case: {', '.join(only_matched)}")
    return undetermined


def _print_summary(out: _Out, report: PolicyTestRun) -> None:
    passed = out.paint(f"{report.passed} passed", "green")
    failed = f"{report.failed} failed"
    if report.failed:
        failed = out.paint(failed, "red")
    suites = len(report.suites)
    files = f"{suites} file{'s' if suites != 1 else ''}"
    out.print(f"{passed}, {failed} ({files}, policy revision {report.policies.revision})")


# --------------------------------------------------------------------------- eval


def run_eval(args: argparse.Namespace) -> int:
    from jiragate.errors import ActionError, PolicyLoadError
    from jiragate.policy.engine import load_policies

    out = _Out()
    envelope = _read_envelope(args.file, out)
    if envelope is None:
        return EXIT_INVALID_ACTION
    directory = args.policies or default_policy_dir()
    try:
        policies = load_policies(directory)
    except PolicyLoadError as exc:
        _print_issues(out, exc.issues)
        return EXIT_POLICY_ERROR
    try:
        decision = policies.evaluate(envelope, agent=args.agent, explain=args.explain)
    except ActionError as exc:
        out.error(json.dumps(exc.as_dict(), indent=2))
        return EXIT_INVALID_ACTION
    if args.explain:  # for a person first; the JSON after it is the same as without
        out.print(decision.summary())
        out.print()
    out.print(json.dumps(decision.as_dict(), indent=2))
    return EXIT_OK


def _read_envelope(name: str, out: _Out) -> Any:
    source = "stdin" if name == "-" else name
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        out.error(json.dumps({"error": "unreadable", "message": f"cannot read {source}: {exc}"}))
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        out.error(json.dumps({"error": "invalid_json", "message": message}))
        return None
