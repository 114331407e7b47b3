"""What tests share: fakes of outside services that speak the real wire format on 127.0.0.1
(discord_server, spotify_server, bot_harness), the in-memory ServiceDouble, and the factories and
environments that build catalogues, artifacts and services (factories, service_env, ranker_env,
spotify_env, hostile_inputs, hostile_check). Import them as `from tests.support.<module> import ...`."""
