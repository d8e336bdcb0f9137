"""Every setting of the application, declared once with its default and a one-line help.

The README's configuration table is generated from ``SETTINGS`` and a test keeps them in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One configuration key: its environment variable, default and help."""

    name: str
    default: Any
    help: str
    env: str | None = None  # environment variable read besides FLASK_<name>

    @property
    def env_names(self) -> list[str]:
        names = [f"FLASK_{self.name}"]
        if self.env:
            names.insert(0, self.env)
        return names


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SECRET_KEY",
        None,
        "Key that signs sessions and forms; required unless DEVELOPMENT or TESTING is on.",
    ),
    Setting(
        "SECRET_KEY_FALLBACKS",
        (),
        "Former secret keys, comma-separated, still accepted for sessions signed before a "
        "rotation (new sessions are signed with SECRET_KEY); drop them once those have expired.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the database; empty means the SQLite file instance/estado.sqlite3. "
        "Use postgresql+psycopg://user:pass@host/db for PostgreSQL.",
        env="DATABASE_URL",
    ),
    Setting("DEVELOPMENT", False, "Development mode: allows a missing SECRET_KEY."),
    Setting("BABEL_DEFAULT_LOCALE", "es", "Default interface language."),
    Setting("LANGUAGES", ("es", "en"), "Interface languages offered, default first."),
    Setting(
        "TIMEZONE",
        "America/Mexico_City",
        "Time zone in which pages, feeds and the history show the time of a change (times "
        "are stored in UTC).",
    ),
    Setting(
        "MAP_TILE_URL",
        "",
        "Tile URL template for the base map; empty means no tiles (works offline).",
    ),
    Setting("MAP_TILE_ATTRIBUTION", "", "Attribution shown with the tiles of MAP_TILE_URL."),
    Setting("PAGE_SIZE", 50, "Rows per page in paginated lists."),
    Setting(
        "IMPORT_MAX_BYTES",
        104857600,
        "Largest file `flask metric import` reads, in bytes (default 100 MB); a larger file "
        "is refused before reading.",
    ),
    Setting(
        "EVIDENCE_MAX_BYTES",
        20000000,
        "Largest file an editor may upload as evidence or with a progress report, in bytes "
        "(default 20 MB); a larger one is refused with a message naming the limit.",
    ),
    Setting(
        "EVIDENCE_FILES_DIR",
        "",
        "Folder where uploaded evidence files are kept, each named by the SHA-256 of its "
        "content; empty means instance/evidence-files. Back it up with the database "
        "(`flask export` copies the files into the package).",
    ),
    Setting(
        "LOGIN_RATE_LIMIT",
        "10 per 15 minutes",
        "Failed sign-ins allowed per client address and, separately, per account from one "
        "address (Flask-Limiter notation); more are refused with 429 and a page that says how "
        "long to wait. Someone else's failures, from another address, never block an account.",
    ),
    Setting(
        "LOGIN_ACCOUNT_RATE_LIMIT",
        "50 per hour",
        "Failed sign-ins allowed per account from every address together: a slower ceiling "
        "against guessing from many addresses.",
    ),
    Setting(
        "SESSION_IDLE_MINUTES",
        120,
        "A session unused for this many minutes ends (sign in again).",
    ),
    Setting(
        "SESSION_LIFETIME_MINUTES",
        720,
        "A session ends this many minutes after its sign-in, however active.",
    ),
    Setting(
        "PASSWORD_RESET_HOURS",
        24,
        "How long a password reset link (issued on /admin/users or by `flask users "
        "reset-password`) works; it works once, and not after the password changed.",
    ),
    Setting(
        "DOWNLOAD_CACHE_DIR",
        "",
        "Folder where /data/<table>.csv|xlsx|json files are kept once built, one per table, "
        "format and data revision; empty means instance/downloads (and, under TESTING, no "
        "disk cache).",
    ),
    Setting(
        "RATELIMIT_STORAGE_URI",
        "memory://",
        "Where the sign-in rate limits are counted (Flask-Limiter storage URI); memory:// is "
        "per process, use redis://host:6379 when several processes serve the site.",
    ),
    Setting(
        "REQUEST_LOG",
        True,
        "Write one JSON line per request (method, path, status, duration, bytes, cache outcome) "
        "to standard error.",
    ),
    Setting(
        "SHARED_CACHE_SECONDS",
        1,
        "Seconds a shared cache (nginx in front of the app hosts, deploy/nginx.conf) may answer "
        "a public page or API response without asking the app again (Cache-Control s-maxage; "
        "browsers always ask: max-age=0). It bounds how long a write takes to show through "
        "nginx (README, Caches).",
    ),
    Setting(
        "TRUSTED_PROXIES",
        0,
        "How many reverse proxies stand in front of the app; with 1 or more, the client's "
        "address, scheme and host are read from their X-Forwarded-* headers (werkzeug's "
        "ProxyFix), so per-address sign-in limits count each client, not the proxy.",
    ),
    Setting(
        "SITE_URL",
        "http://127.0.0.1:5000",
        "Public address of the site (scheme, host and port, no path); absolute links such as "
        "the Atom feeds' ids are built from it, never from the request's Host header.",
    ),
)


def _coerce(raw: str, default: Any) -> Any:
    """Turn an environment string into the type of the default."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load_settings(instance_path: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the settings from defaults, then the environment."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        value = setting.default
        for env_name in setting.env_names:
            if environ.get(env_name):
                value = _coerce(environ[env_name], setting.default)
                break
        values[setting.name] = value
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "estado.sqlite3")
    return values


def settings_markdown_table() -> str:
    """Render the settings as the README's Markdown table."""
    lines = ["| Setting | Environment | Default | Meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = ", ".join(s.default) if isinstance(s.default, tuple) else s.default
        default = "" if default in (None, "") else f"`{default}`"
        envs = " or ".join(f"`{name}`" for name in s.env_names)
        lines.append(f"| `{s.name}` | {envs} | {default} | {s.help} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_markdown_table())
