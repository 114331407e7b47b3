"""The `songrec` command: try the engine, train it, inspect it, and start the front ends.

Training runs as child processes (`python -m training ...`, and `songrec sync` as `python -m bot sync`), so
a crashed training run cannot take anything else down. `songrec serve` runs the bot in this process
through songrec.cli.serve, the composition root: the one place that imports bot/ and training/ together.
Exit codes: 0 ok, 1 unexpected failure, 2 bad input, 3 song not found or ambiguous, 4 no model yet.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from songrec.content.artifacts import ArtifactStore
from songrec.domain import (
    AmbiguousTrack,
    ArtifactError,
    Filters,
    InvalidInput,
    SongrecError,
    TrackInfo,
    TrackNotFound,
)
from songrec.ops.logs import setup_logging
from songrec.settings import artifacts_dir, get_settings

log = logging.getLogger("songrec")

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_NO_MODEL = 0, 1, 2, 3, 4
EXPORT_SUFFIXES = (".parquet", ".csv")
MIN_MAP_SAMPLE = 50  # fewer points than t-SNE's perplexity (30) cannot be projected

#: Famous songs the main job recommends from, to show the engine working end to end.
DEMO_SEEDS = (
    ("Ring of Fire", "Johnny Cash"),
    ("Blinding Lights", "The Weeknd"),
    ("Smells Like Teen Spirit", "Nirvana"),
    ("Bohemian Rhapsody", "Queen"),
)


class NoModel(Exception):
    pass


def load_engine():  # -> Engine (imported lazily: pandas and hnswlib are slow to import)
    from songrec.content.engine import Engine

    try:
        return Engine.load()
    except ArtifactError as exc:
        raise NoModel(str(exc)) from exc


def track_line(rank: int | None, track: TrackInfo) -> str:
    from songrec.cli.songs import track_line as line

    return line(rank, track)


def run_child(module: str, argv: Sequence[str]) -> int:
    """Run `python -m module argv...` with our stdout, so its progress bars show."""
    return subprocess.call([sys.executable, "-m", module, *argv])


def run_training(argv: Sequence[str], verbose: bool = False) -> int:
    """`python -m training argv...`, told to name itself `songrec` in its help and to show INFO logs
    only with -v."""
    return run_child("training", ["--prog", "songrec", *(["--verbose"] if verbose else []), *argv])


# Commands -----------------------------------------------------------------------------------------


def popularity_filters(max_popularity: float | None, min_popularity: float | None = None) -> Filters:
    """Filters from the popularity flags; NaN, out-of-range and crossed limits are refused clearly."""
    for flag, value in (("--max-popularity", max_popularity), ("--min-popularity", min_popularity)):
        if value is not None and not 0 <= value <= 100:  # NaN fails this too
            raise InvalidInput(f"{flag} must be between 0 and 100.")
    if max_popularity is not None and min_popularity is not None and min_popularity > max_popularity:
        raise InvalidInput("--min-popularity is above --max-popularity: nothing could match.")
    return Filters(max_popularity=max_popularity, min_popularity=min_popularity)


def cmd_recommend(args: argparse.Namespace) -> int:
    from songrec.cli import songs

    filters = popularity_filters(args.max_popularity, args.min_popularity)
    engine = load_engine()
    if not 1 <= args.k <= 100:
        raise InvalidInput("-k must be between 1 and 100.")
    if args.song is not None and is_audio_path(args.song):  # an audio file: the tracks that sound like it
        return audio_entry(["recommend-file", args.song, "-k", str(args.k)], engine, filters, args.json)
    seed = songs.resolve_seed(engine, args.song, args.artist, resolve_seed_rows)
    for line in songs.recommend(engine, seed, args.k, filters, args.json):
        print(line)
    return EXIT_OK


def cmd_find(args: argparse.Namespace) -> int:
    """`songrec search TEXT`: the catalogue's songs for a title or an artist, by relevance."""
    from songrec.cli import songs

    for line in songs.search(load_engine(), args.text, args.k, args.json):
        print(line)
    return EXIT_OK


def resolve_seed_rows(engine, song: str, artist: str | None) -> list[int]:  # engine: Engine (lazy import)
    """Catalogue rows for a song argument. A Spotify link the catalogue lacks (a track, album, playlist or
    artist) is looked up on Spotify when SPOTIFY_CLIENT_ID/SECRET are set, else explained."""
    from songrec.domain import MalformedSpotifyLink
    from songrec.spotify.links import parse_spotify_ref

    try:
        return [engine.resolve(song, artist)]
    except TrackNotFound as exc:
        if exc.spotify_id is None:
            raise
    except InvalidInput:
        try:
            ref = parse_spotify_ref(song)
        except MalformedSpotifyLink:
            ref = None
        if artist is not None or ref is None or ref.kind == "track":
            raise
    from songrec.cli.playlists import resolve_song

    return resolve_song(engine, song)


def split_seed(text: str) -> tuple[str, str | None]:
    """ "Blinding Lights,The Weeknd" -> title and artist; a link or plain title has no artist."""
    if "," in text and "spotify" not in text:
        title, _, artist = text.rpartition(",")
        return title.strip(), artist.strip() or None
    return text.strip(), None


def cmd_playlist(args: argparse.Namespace) -> int:
    from songrec.cli.playlists import playlist_lines

    song, artist = args.song, args.artist
    if args.seed is not None:
        if song is not None:
            raise InvalidInput("Give the song once: as SONG or as --seed, not both.")
        song, seed_artist = split_seed(args.seed)
        artist = artist or seed_artist
    filters = popularity_filters(args.max_popularity)
    if not 1 <= args.length <= 200:
        raise InvalidInput("--length must be between 1 and 200.")
    for line in playlist_lines(load_engine(), song, artist, args.length, filters, resolve_seed_rows):
        print(line)
    return EXIT_OK


def cmd_export_embeddings(args: argparse.Namespace) -> int:
    """Every track's embedding as Parquet, or as CSV when --out ends in .csv."""
    import pandas as pd

    from songrec.cli.outputs import output_file, write_error

    out = output_file(args.out, "--out", default=Path("embeddings.parquet"), suffixes=EXPORT_SUFFIXES)
    engine = load_engine()
    vectors = engine.embeddings
    frame = pd.DataFrame(vectors, columns=[f"e{i}" for i in range(vectors.shape[1])])
    frame.insert(0, "track_id", engine.catalog["track_id"].astype(str).to_numpy())
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
    except OSError as exc:
        raise write_error(out, "--out", exc) from exc
    kind = "CSV" if out.suffix.lower() == ".csv" else "Parquet"
    print(
        f"wrote {len(frame):,} embeddings ({vectors.shape[1]} dims, version {engine.version}) "
        f"as {kind} to {out}"
    )
    return EXIT_OK


def cmd_map(args: argparse.Namespace) -> int:
    from songrec.cli.outputs import output_file, write_error
    from songrec.content.plots import embedding_map
    from songrec.settings import home

    if args.sample < MIN_MAP_SAMPLE:
        raise InvalidInput(f"--sample must be at least {MIN_MAP_SAMPLE} (how many tracks to draw).")
    default = home() / "reports" / "embedding_map.png"
    out = output_file(args.out, "--out", default=default, suffixes=(".png",))
    engine = load_engine()
    try:
        path = embedding_map(engine, out, sample=args.sample, method=args.method)
    except OSError as exc:
        raise write_error(out, "--out", exc) from exc
    print(f"wrote {path}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Every artifact kind (versions, what is served and why), then the database and its training runs."""
    from songrec.ops import status as status
    from songrec.settings import database_location

    root = artifacts_dir()
    print(f"artifacts: {root}")
    code = EXIT_OK
    for kind in status.artifact_kinds(root) or ["embedding"]:
        report = status.artifact_status(root, kind)
        for line in status.format_artifact(report):
            print(line)
        if kind == "embedding" and report.serving is None:
            code = EXIT_NO_MODEL
    for line in status.format_database(status.database_status(database_location())):
        print(line)
    return code


def cmd_catalog(args: argparse.Namespace) -> int:
    from songrec.catalog import load_default_catalogue
    from songrec.domain import CatalogError

    try:
        build = load_default_catalogue(args.catalog, strict=args.strict)
    except CatalogError as exc:
        raise InvalidInput(str(exc)) from exc
    frame = build.frame
    print(f"{len(frame):,} unique tracks, content hash {build.content_hash[:12]}")
    print(f"sources: {frame['sources'].str.split(',').explode().value_counts().to_dict()}")
    print(f"{len(build.issues)} invalid rows skipped")
    for issue in build.issues[: args.show]:
        print(f"  {issue}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace, extra: list[str]) -> int:
    """`songrec train [embedding options]`, `songrec train ranker|--ranker [...]` (the learning loop's
    ranker), `songrec train --schedule [...]` (the retraining worker)."""
    verbose = bool(getattr(args, "verbose", False))
    if extra[:1] == ["ranker"] or "--ranker" in extra:
        rest = [a for a in (extra[1:] if extra[:1] == ["ranker"] else extra) if a != "--ranker"]
        return run_training(["ranker", *rest], verbose)
    if extra[:1] == ["schedule"] or "--schedule" in extra:
        rest = [a for a in (extra[1:] if extra[:1] == ["schedule"] else extra) if a != "--schedule"]
        return run_training(["schedule", *rest], verbose)
    return run_training(["embedding", *extra], verbose)


def cmd_sweep(args: argparse.Namespace, extra: list[str]) -> int:
    return run_training(["sweep", *extra], bool(getattr(args, "verbose", False)))


def ensure_model(retrain: bool = False) -> int:
    """Train the default model when there is none yet (a fresh install or an empty volume)."""
    if ArtifactStore(artifacts_dir(), "embedding").current_version() is None or retrain:
        print("No trained model yet: building the catalogue, training the autoencoder and the index...")
        return run_training(["embedding"])
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace, extra: list[str]) -> int:
    return run_training(["evaluate", *extra], bool(getattr(args, "verbose", False)))


def cmd_arch_search(args: argparse.Namespace, extra: list[str]) -> int:
    return run_training(["search", *extra], bool(getattr(args, "verbose", False)))


AUDIO_SUFFIXES = (".ogg", ".oga", ".mp3", ".flac", ".wav")


def is_audio_path(text: str) -> bool:
    return Path(text).suffix.lower() in AUDIO_SUFFIXES and Path(text).is_file()


def audio_entry(argv: list[str], *context: object) -> int:
    """`songrec audio ...` (and an audio file as a seed), only when the audio extra is installed."""
    from songrec.audio import ENABLE_HINT, missing_modules

    if missing_modules():
        print(f"error: {ENABLE_HINT}", file=sys.stderr)
        return EXIT_INPUT
    from songrec.audio.cli import main as audio_main

    return audio_main(argv, *context)


def cmd_audio(args: argparse.Namespace, extra: list[str]) -> int:
    try:
        setup_logging(logging.DEBUG if args.verbose else get_settings().log_level or logging.WARNING)
        return audio_entry(extra)
    except SongrecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT


def cmd_demo(args: argparse.Namespace) -> int:
    """The main job: build what is missing, show suggestions, then serve if a token is set."""
    from songrec.service.reasons import seed_reason

    code = ensure_model(args.retrain)
    if code != EXIT_OK:
        return code
    engine = load_engine()
    print(f"\nsongrec {engine.version}: {engine.size:,} tracks\n")
    for title, artist in DEMO_SEEDS:
        try:
            seed = engine.resolve(title, artist)
        except SongrecError as exc:
            print(f"{title}: {exc}\n")
            continue
        print(f"Songs like {track_line(None, engine.info(seed))}")
        for i, cand in enumerate(engine.similar([seed], 5, max_per_artist=engine.MAX_PER_ARTIST), 1):
            print(track_line(i, engine.info(cand.row)))
            print(f"    {seed_reason(engine, cand.anchor, cand.row)}")
        print()
    if get_settings().discord_token:
        return cmd_serve(args)
    print("Set DISCORD_TOKEN to start the Discord bot, or try `songrec chat` in this terminal.")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """The service, the learning loop and the Discord bot, wired together by songrec.cli.serve."""
    from songrec.cli.serve import main as serve_main

    if get_settings().discord_token:
        code = ensure_model()
        if code != EXIT_OK:
            return code
    return serve_main()


def cmd_chat(args: argparse.Namespace) -> int:
    from songrec.cli.chat import main as chat_main

    return chat_main(args.user)


def cmd_taste(args: argparse.Namespace) -> int:
    from songrec.cli.taste import run

    return run(args.user, Path(args.out), sys.stdout)


def cmd_spotify_login(args: argparse.Namespace) -> int:
    from songrec.spotify.login import spotify_login_main

    return spotify_login_main()


def cmd_import_playlist(args: argparse.Namespace) -> int:
    from songrec.cli.playlists import run

    if not 1 <= args.k <= 50:
        raise InvalidInput("-k must be between 1 and 50.")
    return run("import", sys.stdout, url=args.url, user=args.user, k=args.k)


def cmd_export_playlist(args: argparse.Namespace) -> int:
    from songrec.cli.playlists import run

    return run(
        "export", sys.stdout, user=args.user, count=args.count, name=args.name, public=not args.private
    )


def cmd_sync(args: argparse.Namespace) -> int:
    return run_child("bot", ["sync", *(["--guild", str(args.guild)] if args.guild else [])])


# Parser ---------------------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="songrec", description="Music suggestions from a real catalogue.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logs on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the main job: train if needed, show suggestions, serve if DISCORD_TOKEN")
    p.add_argument("--retrain", action="store_true", help="train a new model even if one exists")
    p.set_defaults(func=cmd_demo)

    sub.add_parser(
        "train",
        help="train the embedding model and index; `train ranker` the taste ranker, `train --schedule` the "
        "retraining worker",
        add_help=False,
    )
    sub.add_parser("sweep", help="the CAE paper's hyper-parameter tables", add_help=False)
    sub.add_parser("evaluate", help="embedding quality on real playlists", add_help=False)
    sub.add_parser("audio", help="your own audio files: scan DIR, train, embed", add_help=False)
    sub.add_parser(
        "arch-search", help="architecture search judged by quality (reports/search.md)", add_help=False
    )

    p = sub.add_parser("recommend", help="songs like a given song, or like an artist (--artist alone)")
    p.add_argument(
        "song",
        nargs="?",
        help='title, "title - artist", Spotify link/URI, track id, an audio file, or an artist\'s name',
    )
    p.add_argument("--artist", help="narrow the title to this artist; without a song, songs like the artist")
    p.add_argument("-k", type=int, default=10, help="how many (1-100, default 10)")
    p.add_argument("--max-popularity", type=float, help="only tracks at most this popular (0-100)")
    p.add_argument("--min-popularity", type=float, help="only tracks at least this popular (0-100)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("search", help="look for songs in the catalogue by title or artist")
    p.add_argument("text", help="part of a title, an artist's name, or both")
    p.add_argument("-k", type=int, default=10, help="how many songs (1-100, default 10)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_find)

    p = sub.add_parser("playlist", help="a playlist that flows from a song or an artist")
    p.add_argument("song", nargs="?", help='title, "title - artist", Spotify link/URI or track id')
    p.add_argument("--seed", help='the song as "Title,Artist" (the older spelling of SONG --artist)')
    p.add_argument("--artist", help="narrow the song to this artist; alone: songs like this artist's")
    p.add_argument("--length", type=int, default=20, help="how many songs (1-200, default 20)")
    p.add_argument("--max-popularity", type=float, help="only tracks at most this popular (0-100)")
    p.set_defaults(func=cmd_playlist)

    p = sub.add_parser("export-embeddings", help="write every track's embedding to Parquet or CSV")
    p.add_argument(
        "--out", required=True, help="file to write: .parquet, or .csv for CSV (a name without one: .parquet)"
    )
    p.set_defaults(func=cmd_export_embeddings)

    p = sub.add_parser("map", help="2-D picture of the embedding space, coloured by genre (PNG)")
    p.add_argument(
        "--out", help="PNG file or folder to write (default: reports/embedding_map.png under SONGREC_HOME)"
    )
    p.add_argument("--sample", type=int, default=15000, help="tracks to draw (default 15000)")
    p.add_argument("--method", choices=["pca", "tsne"], default="pca", help="2-D projection (default pca)")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("catalog", help="build and validate the catalogue, list invalid rows")
    p.add_argument("--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)")
    p.add_argument("--strict", action="store_true", help="fail on any invalid row")
    p.add_argument("--show", type=int, default=20, help="invalid rows to list")
    p.set_defaults(func=cmd_catalog)

    p = sub.add_parser("status", help="model versions and metrics")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("chat", help="the bot's commands in this terminal (no Discord needed)")
    p.add_argument("--user", help="your name or id (default: your OS user name); same name, same history")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("taste", help="a listener's taste card as a PNG (what /taste posts)")
    p.add_argument("--user", help="your name or id, as in `songrec chat --user` (default: your OS user)")
    p.add_argument("--out", default="taste.png", help="where to write the PNG (default taste.png)")
    p.set_defaults(func=cmd_taste)

    p = sub.add_parser("spotify-login", help="authorize songrec to create playlists in your Spotify account")
    p.set_defaults(func=cmd_spotify_login)

    p = sub.add_parser("import-playlist", help="a Spotify playlist's (or album's) songs as seeds, and picks")
    p.add_argument("url", help="Spotify playlist or album link, URI or id")
    p.add_argument("--user", help="your name or id, as in `songrec chat --user` (default: your OS user)")
    p.add_argument("-k", type=int, default=10, help="how many suggestions (1-50, default 10)")
    p.set_defaults(func=cmd_import_playlist)

    p = sub.add_parser("export-playlist", help="save your recent suggestions as a Spotify playlist")
    p.add_argument("--user", help="your name or id, as in `songrec chat --user` (default: your OS user)")
    p.add_argument("--count", type=int, help="how many of the latest suggestions (default 20)")
    p.add_argument("--name", help="playlist name (default: songrec suggestions <date>)")
    p.add_argument("--private", action="store_true", help="make the playlist private")
    p.set_defaults(func=cmd_export_playlist)

    p = sub.add_parser("serve", help="run the Discord bot (needs DISCORD_TOKEN)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("sync", help="register slash commands with Discord (explicit, not on every start)")
    p.add_argument("--guild", type=int, help="sync to one guild (instant; for development)")
    p.set_defaults(func=cmd_sync)

    from songrec.cli import db as db_cli  # `songrec db copy`

    db_cli.add_parser(sub)
    return parser


PASSTHROUGH: dict[str, Callable[[argparse.Namespace, list[str]], int]] = {
    "train": cmd_train,
    "sweep": cmd_sweep,
    "evaluate": cmd_evaluate,
    "audio": cmd_audio,
    "arch-search": cmd_arch_search,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = argv[:1] in (["-v"], ["--verbose"])
    rest = argv[1:] if verbose else argv
    if rest and rest[0] in PASSTHROUGH:
        return PASSTHROUGH[rest[0]](argparse.Namespace(verbose=verbose), rest[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:  # inside: a bad variable (SettingsError) is one line, not a traceback
        setup_logging(logging.DEBUG if args.verbose else get_settings().log_level or logging.WARNING)
        return int(args.func(args))
    except NoModel as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_MODEL
    except (TrackNotFound, AmbiguousTrack) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except SongrecError as exc:
        hint = getattr(exc, "operator_hint", "")  # this terminal's user runs songrec: tell them the fix
        print(f"error: {exc}" + (f" (for whoever runs songrec: {hint})" if hint else ""), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
