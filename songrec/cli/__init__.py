"""songrec's terminal front ends: the `songrec` command (main), `songrec chat` (chat), the Spotify playlist
commands (playlists) and `songrec serve` (serve).

Front ends speak to the core through songrec.service only. serve.py is the composition root: the one module
that imports bot/ and training/, to open the service, start the learning loop and hand both to the bot.
"""
