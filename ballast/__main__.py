"""Ballast on the command line: run a saved setup without the browser, or check a book.

Usage::

    python -m ballast run my-setup.json --html report.html --xlsx report.xlsx
    python -m ballast check my-setup.json [--var-limit 0.03]

``run`` computes everything the dashboard computes for the setup (``core.pipeline``): the
allocation and every page's results, the walk-forward backtest, the resampled frontier when the
setup shows it and the comparison of the setup's designs (the heavy jobs go to the Dask cluster
of ``BALLAST_DASK_ADDRESS`` when it is set), and writes the same HTML and Excel reports as the
Report page. ``check`` compares the book held now (the
setup's holdings and cash at the latest prices) with the setup's allocation and limits, and
says what needs action. Progress goes to stderr, results to stdout.

Exit codes (:data:`EXIT_CODES`): 0 done / nothing to do; 1 action needed (``check``); 2 bad
input (unreadable or invalid setup file, unknown tickers, bad options); 3 data unavailable
(Yahoo Finance unreachable with nothing cached); 4 the setup cannot be computed (no portfolio
meets its constraints, too little data); 5 an output file cannot be written; 6 the reports were
written but a part the setup asks for could not be computed (named on stderr: no allocation, the
backtest, the resampled frontier or the comparison failed, e.g. the Dask cluster went away);
70 internal error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_ACTION, EXIT_INPUT, EXIT_DATA, EXIT_COMPUTE, EXIT_WRITE = 0, 1, 2, 3, 4, 5
EXIT_PARTIAL = 6
EXIT_BUG = 70  # EX_SOFTWARE of sysexits.h

#: Exit code -> meaning (documented in the README and in ``--help``).
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "done; for check: the book is within its targets and limits",
    EXIT_ACTION: "check: action needed (drift beyond the band, a limit breached)",
    EXIT_INPUT: "bad input: the setup file cannot be read or breaks a rule, unknown tickers, "
    "bad options",
    EXIT_DATA: "the setup's data cannot be had (Yahoo Finance unreachable, nothing cached)",
    EXIT_COMPUTE: "the setup cannot be computed (no portfolio meets its constraints, too "
    "little data, no holdings to check)",
    EXIT_WRITE: "a report file cannot be written",
    EXIT_PARTIAL: "run: reports written without a part the setup asks for (named on stderr: the "
    "allocation, backtest, resampled frontier or comparison could not be computed)",
    EXIT_BUG: "internal error (a bug; the traceback is printed)",
}


class Progress:
    """Timed progress lines on a stream (stderr): ``[ballast] loading the data... 1.2 s``."""

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream, self.quiet = stream, quiet
        self.started = time.perf_counter()

    def say(self, message: str) -> None:
        """One line, with the time since the start."""
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"[ballast {elapsed:6.1f} s] {message}", file=self.stream, flush=True)


def _parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="python -m ballast",
        description="Run a saved Ballast setup (JSON exported from the Report page) without the "
        "browser, or check the book it holds against its targets and limits.",
        epilog=f"exit codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,check}")
    run = sub.add_parser("run", help="compute every result and write the reports",
                         description="Compute every result of the setup and write the HTML "
                         "and Excel reports the Report page builds.",
                         epilog=f"exit codes:\n{codes}",
                         formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    run.add_argument("setup", type=Path, help="setup file (JSON)")
    run.add_argument("--html", type=Path, help="write the HTML report here")
    run.add_argument("--xlsx", type=Path, help="write the Excel workbook here")
    run.add_argument("--no-backtest", action="store_true",
                     help="skip the walk-forward backtest (the slowest step); the report then "
                     "has what the Report page shows before a backtest is run")  # fmt: skip
    run.add_argument("--no-resample", action="store_true",
                     help="skip the resampled frontier even when the setup shows it (Efficient "
                     "Frontier page toggle)")  # fmt: skip
    run.add_argument("--no-compare", action="store_true",
                     help="skip the comparison of the setup's designs (Compare page); the "
                     "report then has what the Report page shows before it is run")  # fmt: skip
    check = sub.add_parser("check", help="is action needed on the book held now?",
                           description="Compare the book held now (the setup's holdings and "
                           "cash at the latest prices) with the setup's allocation and limits: "
                           "drift beyond the drift band, weight and sector bounds, volatility, "
                           "tracking error and VaR limits. Exits 1 when action is needed.",
                           epilog=f"exit codes:\n{codes}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    check.add_argument("setup", type=Path, help="setup file (JSON)")
    check.add_argument("--var-limit", type=float, metavar="DECIMAL",
                       help="largest acceptable historical VaR as a decimal of the book's "
                       "value (0.03 = 3 %%), at the setup's first VaR confidence and horizon")
    for p in (run, check):
        p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return parser


def _load(path: Path, progress: Progress):
    """The setup and its data (the Report page's import checks), or a BallastError."""
    from core.exceptions import SetupError
    from core.setup import Setup
    from core.setups import MAX_SETUP_BYTES

    progress.say(f"reading {path}")
    try:
        size = path.stat().st_size
        if size > MAX_SETUP_BYTES:  # before reading it, as the page does
            raise SetupError(f"The file is {size / 1e6:,.1f} MB; setups are at most "
                             f"{MAX_SETUP_BYTES // (1024 * 1024)} MB.")  # fmt: skip
        content = path.read_bytes()
    except OSError as exc:
        raise SetupError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    setup = Setup.from_json(content)
    from core.pipeline import check_against_data, load_data  # after the file is known good

    progress.say(f"loading the prices ({setup.data_source.kind})")
    data = load_data(setup)
    check_against_data(setup.resolve(data.tickers, data.prices.index[0].date(),
                                     data.as_of.date()), data)  # fmt: skip
    return setup, data


def _where() -> str:
    """Where the heavy jobs run: in this process or on the Dask cluster of the environment."""
    from core.executor import DASK_ADDRESS_VARIABLE

    address = os.environ.get(DASK_ADDRESS_VARIABLE, "").strip()
    return f"on the Dask cluster at {address}" if address else "in this process"


def _counter(progress: Progress, what: str, unit: str):
    """A ``(done, total)`` callback that says every 10 % of a job on the progress stream."""
    shown = [-1]

    def step(done: int, total: int) -> None:
        tenth = int(10 * done / total) if total else 10
        if tenth > shown[0]:
            shown[0] = tenth
            progress.say(f"{what} {done / total if total else 1:4.0%}: {done:,} of "
                         f"{total:,} {unit}")  # fmt: skip

    return step


def _run(args: argparse.Namespace, out: TextIO, progress: Progress) -> int:
    if args.html is None and args.xlsx is None:
        print("Nothing to write: give --html FILE and/or --xlsx FILE.", file=sys.stderr)
        return EXIT_INPUT
    setup, data = _load(args.setup, progress)
    from core.exceptions import BallastError
    from core.pipeline import Pipeline

    p = Pipeline(setup, data)
    failed: list[str] = []  # parts the setup asks for that could not be computed
    progress.say("optimising the allocation")
    try:
        result = p.allocation
    except BallastError as exc:
        print(f"No allocation for this setup: {exc}", file=sys.stderr)
        failed.append("allocation")
        result = None
    if not args.no_backtest:
        shown = [-1]

        def step(fraction: float, message: str) -> None:
            if int(fraction * 10) > shown[0]:  # every 10 %
                shown[0] = int(fraction * 10)
                progress.say(f"backtest {fraction:4.0%}: {message}")

        progress.say("running the walk-forward backtest")
        notes: list[str] = []
        try:
            p.backtest = p.run_backtest(step, notes)
        except BallastError as exc:
            print(f"Backtest not run: {exc}", file=sys.stderr)
            failed.append("backtest")
        for note in notes:
            print(note, file=sys.stderr)
    where = _where()
    if p.ss["frontier_resampled"] and not args.no_resample:
        n = int(p.ss["frontier_resamples"])
        progress.say(f"resampling the frontier ({n:,} resamples, {where})")
        try:
            p.resampled = p.run_resampled_frontier(_counter(progress, "resampled frontier",
                                                            "resamples"))  # fmt: skip
        except BallastError as exc:
            print(f"Resampled frontier not computed: {exc}", file=sys.stderr)
            failed.append("resampled frontier")
    if p.ss["compare_designs"] and not args.no_compare:
        progress.say(f"comparing {len(p.ss['compare_designs'])} designs ({where})")
        notes = []
        try:
            p.comparison = p.run_comparison(_counter(progress, "comparison", "tasks"), notes)
        except BallastError as exc:
            print(f"Comparison not run: {exc}", file=sys.stderr)
            failed.append("comparison")
        for note in notes:
            print(note, file=sys.stderr)
    progress.say("computing the report sections")
    summary, sections, statuses = p.report()
    for s in statuses:
        progress.say(f"  {s.label}: {s.status}" + (f" ({s.message})" if s.message else ""))
    if not sections:
        print("Nothing to report: no section could be computed for this setup.", file=sys.stderr)
        return EXIT_COMPUTE
    written = []
    for path, build, what in ((args.html, p.report_html, "HTML report"),
                              (args.xlsx, p.report_xlsx, "Excel workbook")):  # fmt: skip
        if path is None:
            continue
        progress.say(f"writing the {what}")
        content = build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(content)
            os.replace(tmp, path)  # a reader never sees half a file
        except OSError as exc:
            print(f"Cannot write the {what} to {path}: {exc.strerror or exc}.", file=sys.stderr)
            return EXIT_WRITE
        written.append(f"{what}: {path} ({len(content) / 1e3:,.0f} kB)")
    if result is not None:
        print(f"Allocation ({len(result.weights)} assets): expected return "
              f"{result.expected_return:.2%}, volatility {result.volatility:.2%} (annualised), "
              f"Sharpe ratio {result.sharpe_ratio:.2f}.", file=out)  # fmt: skip
    for line in written:
        print(line, file=out)
    for note in summary.notes:
        print(f"Note: {note}", file=out)
    if failed:
        print(f"The reports lack: {', '.join(failed)} (see the messages above).", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO, progress: Progress) -> int:
    if args.var_limit is not None and not 0 < args.var_limit < 1:
        print(f"--var-limit {args.var_limit:g} is not a decimal between 0 and 1 (0.03 = 3 %).",
              file=sys.stderr)  # fmt: skip
        return EXIT_INPUT
    setup, data = _load(args.setup, progress)
    from core.pipeline import Pipeline

    p = Pipeline(setup, data)
    progress.say("optimising the target allocation and checking the book")
    result = p.check(var_limit=args.var_limit)
    cur = f" {data.currency}" if data.currency else ""
    head = (f"Book worth {result.book_value:,.2f}{cur} at the prices of {result.as_of}; "
            f"drift band {setup.backtest.drift_band:.2%}.")  # fmt: skip
    print(head, file=out)
    if result.action_needed:
        print(f"ACTION NEEDED: {len(result.findings)} finding(s).", file=out)
        for f in result.findings:
            print(f"  - [{f.kind}] {f.message}", file=out)
    else:
        print("OK: the book is within its targets and limits.", file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)
    return EXIT_ACTION if result.action_needed else EXIT_OK


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code (see :data:`EXIT_CODES`).

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.
    out : text stream, optional
        Where results go; default stdout (progress and errors go to stderr).

    Returns
    -------
    int
    """
    out = out or sys.stdout
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for a usage error
        return int(exc.code or 0)
    # Library chatter (solver and yfinance warnings) is not for a scheduler's log.
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    progress = Progress(sys.stderr, args.quiet)
    from core.exceptions import BallastError, DataSourceUnavailableError, SetupError

    command = {"run": _run, "check": _check}[args.command]
    try:
        return command(args, out, progress)
    except SetupError as exc:
        print(f"Bad setup file {args.setup}: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except DataSourceUnavailableError as exc:
        print(f"The setup's data cannot be loaded: {exc}", file=sys.stderr)
        return EXIT_DATA
    except BallastError as exc:
        print(f"The setup cannot be computed: {exc}", file=sys.stderr)
        return EXIT_COMPUTE
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception:
        import traceback

        traceback.print_exc()
        print("Internal error in Ballast (a bug); please report it with the lines above.",
              file=sys.stderr)  # fmt: skip
        return EXIT_BUG


def _entry(*_: Any) -> None:
    sys.exit(main())


if __name__ == "__main__":
    _entry()
