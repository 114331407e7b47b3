"""`songrec audio scan|train|fuse|embed`: the operator's own music, as spectrograms, a model and embeddings.

songrec/cli/main.py hands every `songrec audio ...` here after checking the audio extra is installed.
Exit codes as the rest of songrec: 0 ok, 2 bad input (or the extra missing), 4 no model yet.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from songrec.audio.cache import SpectrogramCache
from songrec.audio.decode import audio_files
from songrec.audio.library import default_library_path, group_of, load_library, save_library, scan
from songrec.audio.models import DEFAULT_PRESET, PRESETS, AudioModelConfig
from songrec.domain import ArtifactError, InvalidInput

EXIT_OK, EXIT_INPUT, EXIT_NO_MODEL = 0, 2, 4
MAX_PROBLEMS_SHOWN = 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="songrec audio", description="Your own audio files in songrec.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("scan", help="read DIR's audio files: tags, spectrograms (cached), catalogue matches")
    p.add_argument("directory", type=Path)
    p.add_argument("--limit", type=int, help="at most this many files")
    p = sub.add_parser("train", help="train the spectrogram CNN on the scanned files; serve it")
    p.add_argument("--preset", choices=PRESETS, default=DEFAULT_PRESET, help=f"default {DEFAULT_PRESET}")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--no-fuse", action="store_true", help="do not fuse into the embedding index")
    sub.add_parser("fuse", help="fuse the current audio model into the current embedding index again")
    p = sub.add_parser("embed", help="write the served audio model's embedding of DIR's files (Parquet)")
    p.add_argument("directory", type=Path)
    p.add_argument("--out", type=Path, required=True, help="FILE.parquet")
    p.add_argument("--limit", type=int, help="at most this many files")
    return parser


def main(
    argv: Sequence[str],
    engine: object = None,
    filters: object = None,
    as_json: object = False,
    out: IO[str] | None = None,
) -> int:
    """`songrec audio ACTION ...`; `recommend-file PATH -k K` is `songrec recommend FILE.ogg` (main.py
    passes the engine and filters it already made)."""
    out = out or sys.stdout
    argv = list(argv)
    if argv[:1] == ["recommend-file"]:
        from songrec.audio.recommend import recommend_file

        return recommend_file(engine, Path(argv[1]), int(argv[3]), filters, bool(as_json), out)
    args = build_parser().parse_args(list(argv))
    if getattr(args, "limit", None) is not None and args.limit < 1:
        raise InvalidInput("--limit must be at least 1.")
    if args.action == "scan":
        return cmd_scan(args.directory, args.limit, out)
    if args.action == "train":
        return cmd_train(args.preset, args.epochs, not args.no_fuse, out)
    if args.action == "fuse":
        return cmd_fuse(out)
    return cmd_embed(args.directory, args.out, args.limit, out)


def _files(directory: Path, limit: int | None) -> list[Path]:
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a folder.")
    files = audio_files(directory, limit)
    if not files:
        raise InvalidInput(f"no audio files (ogg, mp3, flac, wav) under {directory}.")
    return files


def _problems(problems: list[str], out: IO[str]) -> None:
    for line in problems[:MAX_PROBLEMS_SHOWN]:
        print(f"  skipped {line}", file=out)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        print(f"  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more skipped", file=out)


def _matcher():  # -> Callable[[Tags], str | None] | None: the catalogue when a model is trained
    from songrec.audio.match import match_track
    from songrec.content.engine import Engine

    try:
        engine = Engine.load()
    except (ArtifactError, OSError, ValueError):
        return None

    def match(tags):
        row = match_track(engine.titles, tags)
        return engine.track_id(row) if row is not None else None

    return match


def cmd_scan(directory: Path, limit: int | None, out: IO[str]) -> int:
    files = _files(directory, limit)
    matcher = _matcher()
    report = scan(files, SpectrogramCache(), matcher)
    library = save_library(report.entries, default_library_path())
    print(
        f"scanned {len(files)} files: {len(report.entries)} readable, {len(report.problems)} skipped",
        file=out,
    )
    _problems(report.problems, out)
    if matcher is None:
        print("no catalogue model yet (songrec train): every file is kept as a local track", file=out)
    print(
        f"matched {report.matched} to catalogue tracks, {report.unmatched} unmatched (kept as local tracks)",
        file=out,
    )
    print(f"library: {library}", file=out)
    return EXIT_OK


def cmd_train(preset: str, epochs: int, fuse: bool, out: IO[str]) -> int:
    from songrec.audio.artifact import embedding_frame, load_artifact, save_artifact
    from songrec.audio.models import embed_spectrograms
    from songrec.audio.plots import loss_curve_png
    from songrec.audio.train import TrainItem, TrainOptions, train_model

    if not 1 <= epochs <= 1000:
        raise InvalidInput("--epochs must be between 1 and 1000.")
    path = default_library_path()
    if not path.is_file():
        raise InvalidInput("no scanned audio yet: run `songrec audio scan DIR` first.")
    entries = load_library(path)
    cache = SpectrogramCache()
    kept, specs = [], []
    for entry in entries:
        try:
            specs.append(cache.get(Path(entry.path)))
            kept.append(entry)
        except (OSError, InvalidInput) as exc:
            print(f"  skipped {exc}", file=out)
    if len(kept) < 4:
        raise InvalidInput(f"training needs at least 4 readable scanned files; the library has {len(kept)}.")
    items = [TrainItem(s, group_of(e)) for s, e in zip(specs, kept, strict=True)]
    result = train_model(items, AudioModelConfig(preset=preset), TrainOptions(epochs=epochs))
    vectors = embed_spectrograms(result.model, specs)
    png = loss_curve_png(result.train_loss, result.val_loss, f"audio model ({preset})")
    version = save_artifact(result, embedding_frame(kept, vectors), png)
    val = result.val_loss
    print(
        f"audio model {version} ({preset}): {len(kept)} files, {result.seconds:.0f}s on {result.device}, "
        f"validation loss {val[0]:.3f} -> {val[-1]:.3f}"
        + (
            f"; pair classifier on held-out tracks: balanced accuracy {result.val_accuracy:.3f}, "
            f"AUC {result.val_auc:.3f}"
            if result.val_accuracy is not None and result.val_auc is not None
            else ""
        ),
        file=out,
    )
    return _fuse(load_artifact(), out) if fuse else EXIT_OK


def _fuse(audio, out: IO[str]) -> int:  # audio: AudioArtifact
    from songrec.audio.fusion import fuse_into_embedding
    from songrec.content.engine import Engine

    try:
        fused = fuse_into_embedding(audio)
    except ArtifactError:
        print("no catalogue embedding yet (songrec train): nothing to fuse the audio into", file=out)
        return EXIT_OK
    info = Engine.load().manifest.info.get("audio_fusion", {})
    print(
        f"embedding {fused}: the audio block fused into the served index (weight {info.get('weight')}, "
        f"{info.get('rows_with_audio')} tracks with audio)",
        file=out,
    )
    return EXIT_OK


def _served_model():  # -> AudioArtifact | None
    """The promoted audio model, or None after saying in one line how to make one."""
    from songrec.audio.artifact import load_artifact

    try:
        return load_artifact()
    except ArtifactError:
        print(
            "error: no audio model yet: run `songrec audio scan DIR` and `songrec audio train`",
            file=sys.stderr,
        )
        return None


def cmd_fuse(out: IO[str]) -> int:
    audio = _served_model()
    return EXIT_NO_MODEL if audio is None else _fuse(audio, out)


def cmd_embed(directory: Path, target: Path, limit: int | None, out: IO[str]) -> int:
    from songrec.audio.embed import embed_files

    if target.suffix.lower() != ".parquet":
        raise InvalidInput("--out must name a .parquet file.")
    files = _files(directory, limit)
    audio = _served_model()
    if audio is None:
        return EXIT_NO_MODEL
    embedded = embed_files(audio.model, files, SpectrogramCache())
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        embedded.frame().to_parquet(target, index=False)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from exc
    _problems(embedded.problems, out)
    print(
        f"wrote {len(embedded.paths)} embeddings ({embedded.vectors.shape[1]} dims, audio model "
        f"{audio.version}) to {target}",
        file=out,
    )
    return EXIT_OK
