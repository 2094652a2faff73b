"""The `cxml` command line: argument parsing, error paths, exit codes and messages (no training here;
the end-to-end train/promote/serve path is in tests/tracking/test_harness.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cxml
from cxml._version import __version__
from cxml.cli import EXIT_ERROR, build_parser, main
from cxml.schema import parse_as_of


@pytest.fixture
def events_csv(tmp_path: Path) -> Path:
    frame = pd.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c3", "c3", "c3"],
        "date": ["2024-01-02", "2024-02-03", "2024-01-15", "2024-01-20", "2024-02-01", "2024-03-01"],
        "item_id": ["i1", "i2", "i1", "i3", "i1", "i2"],
        "amount": [10.0, 5.0, 7.5, 3.0, 4.0, 9.0],
    })
    path = tmp_path / "events.csv"
    frame.to_csv(path, index=False)
    return path


def _one_line_error(capsys: pytest.CaptureFixture[str], kind: str) -> str:
    """The captured stderr, asserted to be a single ``cxml: error: <kind>: ...`` line."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one readable line, never a traceback
    assert err.startswith(f"cxml: error: {kind}: "), err
    return err


def _error_name(call: Any) -> str:
    """The cxml error class a call raises (the same one the CLI must report)."""
    with pytest.raises(cxml.CxmlError) as info:
        call()
    return type(info.value).__name__


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cxml {__version__}"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("describe", "sample", "train", "score", "evaluate", "promote", "info"):
        assert command in out


@pytest.mark.parametrize("command", ["score", "evaluate"])
@pytest.mark.parametrize("k", ["0", "-3", "ten", "2.5"])
def test_k_must_be_an_integer_of_at_least_one(command: str, k: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    argv = [command, "--model", str(tmp_path), "--events", "e.csv", "--as-of", "2024-01-01", "--k", k]
    if command == "score":
        argv += ["--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as usage:
        main(argv)
    assert usage.value.code == EXIT_ERROR
    assert f"argument --k: {k!r} is not an integer >= 1" in capsys.readouterr().err


def test_k_parses_to_an_int() -> None:
    args = build_parser().parse_args(["score", "--model", "m", "--events", "e", "--as-of", "2024-01-01",
                                      "--out", "o", "--k", "7", "--chunk-size", "3"])
    assert args.k == 7 and args.chunk_size == 3
    assert main(["sample", "--out", "unused", "--customers", "0"]) == EXIT_ERROR  # refused before writing


def test_missing_required_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["score", "--model", "m"])
    assert usage.value.code == EXIT_ERROR
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["score", "evaluate"])
def test_bad_as_of_is_one_line_before_anything_is_loaded(command: str, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # neither the model nor the events exist: the date is checked first
    argv = [command, "--model", str(tmp_path / "nope"), "--events", str(tmp_path / "nope.csv"),
            "--as-of", "yesterday"]
    if command == "score":
        argv += ["--out", str(tmp_path / "out")]
    assert main(argv) == EXIT_ERROR
    err = _one_line_error(capsys, _error_name(lambda: parse_as_of("yesterday")))
    assert "as_of" in err and "'yesterday'" in err


def test_describe_reads_a_csv_file_and_a_directory_of_parquet_files(
        events_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", str(events_csv), "--column", "timestamp=date"]) == 0
    from_csv = capsys.readouterr().out
    events = cxml.load_events(events_csv, timestamp="date")
    parts = tmp_path / "parts"
    parts.mkdir()
    events.iloc[:3].to_parquet(parts / "part-0.parquet", index=False)
    events.iloc[3:].to_parquet(parts / "part-1.parquet", index=False)
    assert main(["describe", str(parts)]) == 0
    from_dir = capsys.readouterr().out
    assert from_dir == from_csv and "6" in from_csv  # six events either way


def test_missing_events_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", str(tmp_path / "nope.csv")]) == EXIT_ERROR
    assert "nope.csv" in _one_line_error(capsys, "SourceError")


@pytest.mark.parametrize(("pair", "match"), [
    ("timestamp", "must look like canonical=your_column"),
    ("=date", "must look like canonical=your_column"),
    ("ts=date", "'ts' is not a canonical column; expected one of: amount, customer_id"),
])
def test_bad_column_mapping_is_a_parameter_error(pair: str, match: str, events_csv: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["describe", str(events_csv), "--column", pair]) == EXIT_ERROR
    assert match in _one_line_error(capsys, "ParameterError")


def test_debug_shows_the_real_exception(tmp_path: Path) -> None:
    with pytest.raises(cxml.SourceError):
        main(["--debug", "describe", str(tmp_path / "nope.csv")])


def test_info_refuses_a_directory_that_is_not_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("not a bundle")
    assert main(["info", str(tmp_path)]) == EXIT_ERROR
    _one_line_error(capsys, "BundleError")


def test_train_with_a_bad_config_creates_no_run(tmp_path: Path, events_csv: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "mlflow.db"
    cfg = tmp_path / "cxml.toml"
    cfg.write_text(f'[events]\npath = "{events_csv}"\n[recommender]\nmodel = "als"\n'
                   '[recommender.params]\nfactor = 64\n')
    assert main(["train", "--config", str(cfg), "--tracking-uri", f"sqlite:///{db}"]) == EXIT_ERROR
    err = _one_line_error(capsys, "ConfigError")
    assert "'recommender.params.factor' (= 64)" in err and "factors" in err
    assert main(["train", "--config", str(tmp_path / "missing.toml")]) == EXIT_ERROR
    assert "does not exist" in _one_line_error(capsys, "ConfigError")
    cfg.write_text(f'[events]\npath = "{events_csv}"\n')
    assert main(["train", "--config", str(cfg), "--as-of", "someday",
                 "--tracking-uri", f"sqlite:///{db}"]) == EXIT_ERROR
    assert "'train.as_of' = 'someday'" in _one_line_error(capsys, "ConfigError")
    assert not db.exists()


def test_promote_without_a_challenger_is_a_one_line_error(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert main(["promote", "no-such-model", "--tracking-uri", uri]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err  # MLflow's own INFO lines (creating the store) may precede ours
    assert err.splitlines()[-1] == ("cxml: error: ConfigError: registered model 'no-such-model' has no "
                                    "'challenger' alias to promote")


def test_sample_writes_the_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", "--out", str(tmp_path / "s"), "--customers", "30", "--items", "10"]) == 0
    assert f"wrote {tmp_path / 's'}" in capsys.readouterr().out
    events = cxml.load_events(tmp_path / "s" / "events.csv")
    assert events["customer_id"].nunique() <= 30 and len(events) > 0
    (tmp_path / "file").write_text("x")
    assert main(["sample", "--out", str(tmp_path / "file")]) == EXIT_ERROR
    assert "is a file; expected a directory" in _one_line_error(capsys, "ParameterError")


def test_dayfirst_settles_ambiguous_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cxml.tracking._catalog import read_option_names

    if "dayfirst" not in read_option_names():
        pytest.skip("this load_events has no dayfirst= (it arrives with the input round)")
    path = tmp_path / "ambiguous.csv"
    path.write_text("customer_id,timestamp,item_id\nc1,05/01/2024,i1\nc2,06/02/2024,i2\n")
    assert main(["describe", str(path)]) == EXIT_ERROR  # neither order is settled by the values
    assert "dayfirst" in capsys.readouterr().err
    assert main(["describe", str(path), "--dayfirst"]) == 0
    day_first = capsys.readouterr().out
    assert main(["describe", str(path), "--monthfirst"]) == 0
    month_first = capsys.readouterr().out
    assert "2024-01-05" in day_first and "2024-05-01" in month_first
    with pytest.raises(SystemExit):
        main(["describe", str(path), "--dayfirst", "--monthfirst"])
