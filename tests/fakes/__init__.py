"""Fakes of outside services (Spotify, Discord) that speak the real wire format on 127.0.0.1."""
