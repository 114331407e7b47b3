"""What a new listener sees for famous seeds across genres: the input to the issue's listening table.

Each seed is asked by a fresh user (no taste), through the real service, as /recommend does. The
scores in the table are a person's judgement of these lists; this script only prints the lists.

    SONGREC_DATA=../shared/data python bench/listening.py [--k 10] [--out reports/listening.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

#: (seed text, genre): the issue's named seeds first, then one or two per genre.
SEEDS: tuple[tuple[str, str], ...] = (
    ("One More Time - Daft Punk", "french house"),
    ("Blinding Lights - The Weeknd", "synth-pop"),
    ("Bohemian Rhapsody - Queen", "classic rock"),
    ("Take Five - The Dave Brubeck Quartet", "jazz"),
    ("Für Elise - Ludwig van Beethoven", "classical"),
    ("Gangnam Style - PSY", "k-pop"),
    ("Ring of Fire - Johnny Cash", "country"),
    ("Gasolina - Daddy Yankee", "reggaeton"),
    ("Enter Sandman - Metallica", "metal"),
    ("Three Little Birds - Bob Marley & The Wailers", "reggae"),
    ("Smells Like Teen Spirit - Nirvana", "grunge"),
    ("Lose Yourself - Eminem", "rap"),
    ("Superstition - Stevie Wonder", "funk"),
    ("Respect - Aretha Franklin", "soul"),
    ("Jolene - Dolly Parton", "country"),
    ("Billie Jean - Michael Jackson", "pop"),
    ("Dancing Queen - ABBA", "disco"),
    ("Despacito - Luis Fonsi", "latin pop"),
    ("Wonderwall - Oasis", "britpop"),
    ("So What - Miles Davis", "jazz"),
    ("Levels - Avicii", "edm"),
    ("Juicy - The Notorious B.I.G.", "hip hop"),
    ("Hotel California - Eagles", "soft rock"),
)


async def run(k: int, out: Path | None) -> int:
    from songrec.domain.errors import SongrecError
    from songrec.service import Service
    from songrec.settings import artifacts_dir

    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        service = await Service.open(db_path=Path(tmp) / "listening.sqlite3", artifacts=artifacts_dir())
        try:
            for number, (seed, genre) in enumerate(SEEDS, start=1):
                lines.append(f"## {number}. {seed} ({genre})")
                try:
                    picks = await service.recommend(900_000 + number, [seed], k=k)
                except SongrecError as exc:
                    lines.append(f"   no answer: {exc}")
                    continue
                for p in picks:
                    t = p.track
                    year = getattr(t, "year_label", None) or t.year or "year unknown"
                    lines.append(f"   {p.rank:>2}. [{p.kind}] {t.name} - {t.artist_line} ({year})")
        finally:
            await service.close()
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10, help="suggestions per seed (default 10)")
    parser.add_argument("--out", type=Path, help="also write the lists to this file")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.k, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
