"""Turning what a user pasted or typed into catalogue tracks, asking Spotify only for what songrec lacks.

A catalogue track link never leaves the process; anything else is looked up on Spotify and split into the
tracks songrec can recommend from and the ones it does not know yet. Spotify has one id per release
(single, album, remaster), so a missing track is swapped for the catalogue's release of the same song,
"same song" meaning the same `songrec.content.songkey.title_key` the catalogue itself uses.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from songrec.content.songkey import base_title, title_key
from songrec.domain import SpotifyError, SpotifyNotConfigured, SpotifyNotFound
from songrec.spotify.client import SEARCH_LIMIT_MAX, SpotifyClient
from songrec.spotify.links import SpotifyRef, parse_spotify_ref
from songrec.spotify.tracks import SpotifyTrack


@dataclass(frozen=True)
class Resolution:
    """What a user's link or song name turned into.

    `catalogue_ids` are tracks songrec can recommend from right away; `missing` are Spotify tracks it does
    not know yet, so the caller can offer the nearest catalogue tracks by the same artist or name.
    """

    source: str  # "track", "album", "playlist", "artist" or "search"
    query: str
    ref: SpotifyRef | None
    catalogue_ids: tuple[str, ...]
    tracks: tuple[SpotifyTrack, ...] = ()
    missing: tuple[SpotifyTrack, ...] = ()
    title: str | None = None
    artist: str | None = None
    note: str | None = None

    @property
    def not_in_catalogue(self) -> bool:
        """True when nothing resolved is in the catalogue yet: offer nearest matches instead."""
        return not self.catalogue_ids


CatalogueLookup = Callable[[str], "bool | Awaitable[bool]"]


async def _in_catalogue(lookup: CatalogueLookup, track_id: str) -> bool:
    result = lookup(track_id)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def resolve_track_ref(
    ref: SpotifyRef | str, catalogue_lookup: CatalogueLookup, client: SpotifyClient | None
) -> Resolution:
    """Turn a link, URI, id or song name into catalogue tracks plus Spotify metadata.

    Raises MalformedSpotifyLink for broken links and SpotifyError subclasses (all with a message for the
    user) when Spotify can't help; never returns an empty Resolution.
    """
    query = ref.url if isinstance(ref, SpotifyRef) else str(ref).strip()
    parsed = ref if isinstance(ref, SpotifyRef) else parse_spotify_ref(query)
    if parsed is not None and parsed.kind == "track" and await _in_catalogue(catalogue_lookup, parsed.id):
        return Resolution("track", query, parsed, (parsed.id,))
    if client is None:
        raise SpotifyNotConfigured(
            "Spotify isn't set up, so I can only use tracks already in my catalogue: set SPOTIFY_CLIENT_ID "
            "and SPOTIFY_CLIENT_SECRET to look up other links."
        )
    if parsed is None:
        if not query:
            raise SpotifyNotFound("Tell me a song name or paste a Spotify link.")
        hits = await client.search_tracks(query, limit=SEARCH_LIMIT_MAX)
        if not hits:
            raise SpotifyNotFound(f"Spotify found nothing for “{query}”.")
        resolution = await _split("search", query, None, hits[:1], catalogue_lookup)
        return await _prefer_catalogue_version(resolution, hits, catalogue_lookup, client)
    if parsed.kind == "track":
        track = await client.track(parsed.id)
        resolution = await _split("track", query, parsed, [track], catalogue_lookup)
        return await _prefer_catalogue_version(resolution, None, catalogue_lookup, client)
    if parsed.kind == "artist":
        name = await client.artist_name(parsed.id)
        if not name:
            raise SpotifyNotFound("Spotify couldn't find that artist; check the link.")
        return Resolution(
            "artist",
            query,
            parsed,
            (),
            artist=name,
            note=f"That's an artist link: I'll use songs by {name} from the catalogue.",
        )
    collection = await (client.album(parsed.id) if parsed.kind == "album" else client.playlist(parsed.id))
    if not collection.tracks:
        raise SpotifyNotFound(f"That {parsed.kind} has no tracks songrec can use.")
    return await _split(
        parsed.kind, query, parsed, list(collection.tracks), catalogue_lookup, collection.name
    )


async def _split(
    source: str,
    query: str,
    ref: SpotifyRef | None,
    tracks: list[SpotifyTrack],
    lookup: CatalogueLookup,
    title: str | None = None,
) -> Resolution:
    known: list[str] = []
    missing: list[SpotifyTrack] = []
    for track in tracks:
        if await _in_catalogue(lookup, track.id):
            known.append(track.id)
        else:
            missing.append(track)
    note = None
    if not known:
        what = f"“{tracks[0].label}”" if len(tracks) == 1 else f"any of these {len(tracks)} tracks"
        note = f"I don't have {what} in my catalogue yet; here are the closest songs I know."
    return Resolution(
        source,
        query,
        ref,
        tuple(dict.fromkeys(known)),
        tuple(tracks),
        tuple(missing),
        title=title,
        artist=tracks[0].artist if len(tracks) == 1 else None,
        note=note,
    )


async def _prefer_catalogue_version(
    resolution: Resolution,
    hits: list[SpotifyTrack] | None,
    lookup: CatalogueLookup,
    client: SpotifyClient,
) -> Resolution:
    """Spotify has several ids per song (single, album, remaster); use the one the catalogue knows."""
    if not resolution.not_in_catalogue or not resolution.tracks:
        return resolution
    wanted = resolution.tracks[0]
    if hits is None:
        try:
            hits = await client.search_tracks(f'track:"{base_title(wanted.name)}" artist:"{wanted.artist}"')
        except SpotifyError:
            return resolution  # best effort: the caller still gets the Spotify metadata
    key = title_key(wanted.name, wanted.artists)
    for hit in hits:
        if (
            hit.id != wanted.id
            and title_key(hit.name, hit.artists) == key
            and await _in_catalogue(lookup, hit.id)
        ):
            return Resolution(
                resolution.source,
                resolution.query,
                resolution.ref,
                (hit.id,),
                resolution.tracks,
                (),
                title=resolution.title,
                artist=resolution.artist,
                note=f"Using the catalogue's version of “{wanted.label}”.",
            )
    return resolution
