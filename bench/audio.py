"""Benchmark the audio embedding on real music: same-soundtrack precision@5 on 30-second excerpts.

Real music no one here wrote: Debian's game soundtracks (one composer and style each), installed with
apt-get when missing. Each soundtrack's tracks are split in two (seeded): the models train on one half
only; queries and the searched pool are the other half, so no training track is ever a query. A
soundtrack the models never saw any track of (singularity-music) is added to the pool to check that the
embedding carries over. Compared side by side: the contrastive CNN alone, the served hybrid of its vector
and an MFCC mean+std block (songrec/audio/hybrid.py), the study's `paper` pair network (its tower as the
embedding, and its pair classifier's balanced accuracy on held-out pairs as the study reports), an MFCC
mean+std baseline, and random vectors. The row marked default is the hybrid only when it wins both
columns against the CNN alone and MFCC alone.

    .venv/bin/python bench/audio.py [--epochs 50] [--crops-only] [--out reports/audio.md]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import write_report  # noqa: E402

from songrec.audio.cache import SpectrogramCache  # noqa: E402
from songrec.audio.decode import UnreadableAudio, audio_files  # noqa: E402
from songrec.audio.models import AudioModelConfig, embed_spectrograms, network_vectors  # noqa: E402
from songrec.audio.pairs import balanced_accuracy, roc_auc, sample_pairs  # noqa: E402
from songrec.audio.spectrogram import FRAMES_PER_SECOND  # noqa: E402
from songrec.audio.train import TrainItem, TrainOptions, labels_for, train_model  # noqa: E402
from songrec.settings import home  # noqa: E402

#: soundtrack -> (Debian package, where its audio lies once installed)
SEEN = {
    "wesnoth (orchestral)": ("wesnoth-1.16-music", "/usr/share/games/wesnoth/1.16/data/core/music"),
    "nexuiz (electronic)": ("nexuiz-music", "/usr/share/games/nexuiz/data/music.pk3"),
    "hyperrogue (ambient)": ("hyperrogue-music", "/usr/share/hyperrogue/music"),
    "planetblupi": ("planetblupi-music-ogg", "/usr/share/planetblupi/music"),
}
UNSEEN = {"singularity": ("singularity-music", "/usr/share/games/singularity/music")}
EXCERPT_S = 30.0
K = 5


def ensure(package: str, where: str) -> Path:
    path = Path(where)
    if not path.exists():
        print(f"installing {package} ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, stdout=subprocess.DEVNULL)
    if path.suffix == ".pk3":  # a zip of ogg files: unpack once beside the cache
        target = home() / "bench-audio" / path.stem
        if not target.is_dir():
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    if name.endswith(".ogg"):
                        (target / Path(name).name).parent.mkdir(parents=True, exist_ok=True)
                        with archive.open(name) as src, (target / Path(name).name).open("wb") as dst:
                            shutil.copyfileobj(src, dst)
        return target
    return path


def load(sets: dict[str, tuple[str, str]], cache: SpectrogramCache) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for label, (package, where) in sets.items():
        for path in audio_files(ensure(package, where)):
            try:
                out.append((label, str(path), cache.get(path)))
            except UnreadableAudio as exc:
                print(f"  skipped {exc}")
    return out


def excerpt(spec: np.ndarray) -> np.ndarray:
    """30 s from 15 s in (intros are often silence), or the last 30 s of the first minute if shorter."""
    frames = int(EXCERPT_S * FRAMES_PER_SECOND)
    start = int(min(15 * FRAMES_PER_SECOND, max(spec.shape[1] - frames, 0)))
    return spec[:, start : start + frames]


def mfcc_stats(spec: np.ndarray, coefficients: int = 20) -> np.ndarray:
    from scipy.fft import dct

    mfcc = dct(spec, type=2, axis=0, norm="ortho")[:coefficients]
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)])


def precision_at_k(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, metric: str) -> float:
    if metric == "cosine":
        v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        d = -(v @ v.T)
    else:
        d = ((vectors[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    hits = [(labels[np.argsort(d[q])[:K]] == labels[q]).mean() for q in queries]
    return float(np.mean(hits))


def fusion_weights(
    base: np.ndarray, audio: np.ndarray, labels: np.ndarray, queries: np.ndarray
) -> dict[float, float]:
    """Same-soundtrack precision@5 of [base | weight * sqrt(d_ref) * audio] per audio weight, on the
    held-out tracks, the base standing in for a track's current embedding (what songrec.audio.fusion does)."""
    from songrec.audio.fusion import WEIGHTS, fused_vectors

    d = ((base[:, None, :] - base[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    d_ref = float(np.median(np.sort(d, axis=1)[:, 9]))
    everyone = np.arange(len(base))
    return {
        w: precision_at_k(fused_vectors(base, everyone, audio, w, d_ref), labels, queries, "l2")
        for w in (0.0, *WEIGHTS)
    }


def standardise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(0)) / np.maximum(x.std(0), 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--paper-epochs", type=int, default=30)
    parser.add_argument("--crops-only", action="store_true", help="also train without soundtrack tags")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "audio.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    cache = SpectrogramCache(home() / "bench-audio" / "spectrograms")
    started = time.monotonic()
    seen, unseen = load(SEEN, cache), load(UNSEEN, cache)
    decode_s = time.monotonic() - started
    rng = np.random.default_rng(args.seed)
    train, test = [], []
    for label in SEEN:
        tracks = [t for t in seen if t[0] == label]
        order = rng.permutation(len(tracks))
        half = len(tracks) // 2
        train += [tracks[i] for i in order[:half]]
        test += [tracks[i] for i in order[half:]]
    pool = test + unseen
    labels = np.asarray([t[0] for t in pool])
    seen_queries = np.arange(len(test))
    unseen_queries = np.arange(len(test), len(pool))
    excerpts = [excerpt(t[2]) for t in pool]
    rows: list[tuple[str, float, float, str]] = []

    def score(name: str, vectors: np.ndarray, metric: str, seconds: str) -> None:
        rows.append(
            (
                name,
                precision_at_k(vectors, labels, seen_queries, metric),
                precision_at_k(vectors, labels, unseen_queries, metric),
                seconds,
            )
        )

    timings: dict[str, float] = {}
    runs = [("contrastive", True, args.epochs)]
    if args.paper_epochs > 0:
        runs.append(("paper", True, args.paper_epochs))
    if args.crops_only:
        runs.insert(1, ("contrastive", False, args.epochs))
    for preset, grouped, epochs in runs:
        items = [TrainItem(t[2], t[0] if grouped else None) for t in train]
        t0 = time.monotonic()
        result = train_model(
            items,
            AudioModelConfig(preset=preset),
            TrainOptions(epochs=epochs, seed=args.seed, progress=False),
        )
        took = time.monotonic() - t0
        vectors = network_vectors(result.model, excerpts)
        what = "crops + soundtrack tags" if grouped else "crops only"
        name = f"{preset} CNN alone ({what})"
        if preset == "paper":
            name = "paper preset (the study's pair CNN; tower output)"
            pairs = sample_pairs(
                labels_for(
                    [TrainItem(e, lab) for e, lab in zip(excerpts, labels, strict=True)], seen_queries
                ),
                np.random.default_rng(7),
                per_track=20,
            )
            from songrec.audio.models import paper_picture

            # The classifier judges what it was trained on, as the study did: the first minute's picture.
            pics = torch.as_tensor(np.stack([paper_picture(pool[int(i)][2]) for i in seen_queries]))
            with torch.no_grad():
                logits = result.model(pics[pairs[:, 0]], pics[pairs[:, 1]]).numpy()
            timings["paper_balanced_accuracy"] = balanced_accuracy(logits, pairs[:, 2])
            timings["paper_auc"] = roc_auc(logits, pairs[:, 2])
            timings["paper_positive_share"] = float(pairs[:, 2].mean())
        score(name, vectors, "cosine", f"{took:.0f}")
        timings[name] = took
        if preset == "contrastive" and grouped:
            cnn_row, cnn_vectors = len(rows) - 1, vectors
            served = embed_spectrograms(result.model, excerpts)  # the hybrid, as `songrec audio embed`
            weight = result.config.mfcc_weight
            hybrid_scores = result.hybrid_scores
            score(
                f"hybrid: CNN + MFCC mean+std blocks (MFCC weight {weight:g}, chosen on training tracks)",
                served,
                "cosine",
                f"{took:.0f}",
            )
            hybrid_row = len(rows) - 1
    mfcc = standardise(np.stack([mfcc_stats(e) for e in excerpts]))
    score("MFCC mean+std (20 coefficients, standardised)", mfcc, "l2", "0")
    mfcc_row = len(rows) - 1
    # The default is whatever wins both columns: the hybrid if it beats the CNN alone and MFCC alone.
    wins = all(rows[hybrid_row][c] > max(rows[cnn_row][c], rows[mfcc_row][c]) for c in (1, 2))
    default_row = hybrid_row if wins else cnn_row
    rows[default_row] = (rows[default_row][0] + " — default", *rows[default_row][1:])
    default_vectors = served if wins else cnn_vectors
    weights = fusion_weights(mfcc, default_vectors, labels, seen_queries)
    score("random vectors", np.random.default_rng(1).normal(size=(len(pool), 64)), "l2", "0")
    chance = np.mean([(labels == labels[q]).sum() - 1 for q in seen_queries]) / (len(pool) - 1)

    table = [
        "| embedding (30 s excerpts) | precision@5, held-out tracks of seen soundtracks | "
        "precision@5, unseen soundtrack | training s |",
        "|---|---|---|---|",
    ]
    for name, p_seen, p_unseen, seconds in rows:
        table.append(f"| {name} | {p_seen:.3f} | {p_unseen:.3f} | {seconds} |")
    counts = {label: sum(1 for t in seen if t[0] == label) for label in SEEN}
    counts.update({label: sum(1 for t in unseen if t[0] == label) for label in UNSEEN})
    paper_text = (
        f"""The study's pair classifier (paper preset), on pairs of the held-out query tracks' first-minute
pictures ({timings["paper_positive_share"]:.0%} similar pairs as sampled; balanced accuracy averages both
classes' recall, "similar" = sigmoid above 0.5): **{timings["paper_balanced_accuracy"]:.3f}**, ROC AUC
{timings["paper_auc"]:.3f} (the study reports 0.85 balanced accuracy on its own data)."""
        if "paper_auc" in timings
        else "The paper preset was not trained in this run (--paper-epochs 0)."
    )
    text = f"""# Audio embedding on real soundtracks (`bench/audio.py`)

Soundtracks (tracks): {", ".join(f"{k} {v}" for k, v in counts.items())}. Each seen soundtrack's tracks are
split in half (seed {args.seed}): {len(train)} tracks train the CNNs; the other {len(test)} are the queries
and, with the {len(unseen)} tracks of the soundtrack no model saw (singularity), the pool searched.
Every track is a 30 s excerpt (15-45 s into the file) of the first minute; precision@5 = share of a
query's 5 nearest other pool tracks from the query's soundtrack. Chance for seen queries: {chance:.3f}.

{chr(10).join(table)}

Hybrid (songrec/audio/hybrid.py, what `songrec audio embed` and fusion serve): [CNN vector,
standardised, unit | w x MFCC mean+std vector, standardised, unit], unit length; the statistics come from the training tracks and w from a split inside them (their
validation tracks as queries among all training tracks, same-soundtrack precision@5):
{", ".join(f"{k}: {v:.3f}" for k, v in hybrid_scores.items()) or "no grouped validation tracks"}; chosen
{weight:g}. The default row is the hybrid only when it beats both the CNN alone and MFCC alone in both
columns{"" if wins else " (it did not in this run, so the CNN alone stays the default)"}.

Fusion weight of the audio block (songrec.audio.fusion: [current embedding | weight x sqrt(d_ref) x
default audio vector]), checked here with the MFCC block standing in for the current embedding, same-soundtrack
precision@5 of the held-out tracks: {", ".join(f"{w:g}: {v:.3f}" for w, v in weights.items())};
best {max((w for w in weights if w > 0), key=lambda w: (weights[w], -w)):g}.

{paper_text}

Training: CPU, 2 torch threads on 2 shared cores; contrastive {args.epochs} epochs, paper
{args.paper_epochs} epochs; decoding + spectrograms {decode_s:.0f} s (cached after the first run).
Total {time.monotonic() - started:.0f} s.
"""
    write_report(text, args.out)


if __name__ == "__main__":
    main()
