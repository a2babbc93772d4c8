"""Deskhand's one validated settings tree, read from the environment and an optional `.env` file.

This is the only module that reads environment variables. Everything else receives plain values
from `bot.wiring`, never the settings object itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.settings_report import env_name
from bot.settings_report import masked as masked  # the CLI's `config` command reads it from here
from bot.settings_report import unknown_variables as report_unknown

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = PACKAGE_ROOT / "knowledge" / "corpus"
DEFAULT_POLICY = PACKAGE_ROOT / "graphs" / "governance" / "policy.yaml"
DEFAULT_CONTACTS = PACKAGE_ROOT / "graphs" / "contacts.yaml"
DEFAULT_SAMPLE_DATA = PACKAGE_ROOT / "tools" / "sample_data"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class Environment(StrEnum):
    development = "development"
    production = "production"


class SlackSettings(_Base):
    """Slack app credentials (the names Slack's own tooling uses)."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", env_file=".env", extra="ignore")

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None and self.signing_secret is not None


class TeamsSettings(_Base):
    """Microsoft Bot Framework credentials (the names the Bot Framework samples use)."""

    model_config = SettingsConfigDict(env_prefix="MICROSOFT_", env_file=".env", extra="ignore")

    app_id: str | None = None
    app_password: SecretStr | None = None
    app_tenant_id: str | None = None
    app_type: str = Field(default="MultiTenant", pattern="^(MultiTenant|SingleTenant|UserAssignedMSI)$")
    insecure_no_auth: bool = Field(default=False, validation_alias=AliasChoices("DESKHAND_TEAMS_INSECURE_NO_AUTH"))

    @property
    def enabled(self) -> bool:
        return bool(self.app_id) or self.insecure_no_auth


class Settings(_Base):
    """The whole configuration. Deskhand's own settings carry the `DESKHAND_` prefix."""

    model_config = SettingsConfigDict(env_prefix="DESKHAND_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    data_dir: Path = Path(".deskhand")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "deskhand")  # derived files only
    # NoDecode: the value is a ':'-separated list of folders, not JSON (split by `_split_paths`).
    knowledge_dir: Annotated[list[Path], NoDecode] = Field(default_factory=lambda: [DEFAULT_CORPUS])
    index_dir: Path | None = None
    sample_data: Path = DEFAULT_SAMPLE_DATA
    policy_file: Path = DEFAULT_POLICY
    contacts_file: Path = DEFAULT_CONTACTS  # per team: whom to contact, where hand-offs are posted

    # Hand-offs opened as tickets (the webhook URL per team is in the contacts file)
    ticket_webhook_token: SecretStr | None = None  # sent as a bearer token, when the receiver needs one
    ticket_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    embedder_backend: str = Field(default="auto", pattern="^(auto|torch|onnx|onnx-int8)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")

    # Answering
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)  # None: the index's own calibration
    source_urls: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict
    )  # source folder name -> base URL of its site
    approval_ttl_minutes: int = Field(default=24 * 60, gt=0, le=60 * 24 * 30)
    # How long a requester's identity and active state may be reused before the directory is asked again:
    # the longest another process's deactivation can go unnoticed here (this process notices at once).
    identity_ttl_s: float = Field(default=30.0, ge=0.0, le=3600.0)

    # Optional LLM (tool calling, grounded answers). Unset = the offline engine.
    llm_model: str | None = Field(default=None, pattern=r"^[a-z_]+:\S+$")  # provider:model
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0, le=300)  # one model call, retries included
    llm_max_retries: int = Field(default=2, ge=0, le=10)  # on 429/5xx/connection errors, jittered backoff
    llm_breaker_failures: int = Field(default=5, ge=1, le=100)  # consecutive failures that open the breaker
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)  # open → half-open probe
    llm_answers: bool = True  # grounded generative answers (False: the model only chooses tools)
    llm_send_unmasked: Annotated[list[str], NoDecode] = Field(
        default_factory=list
    )  # kinds sent as-is: email,phone,iban,account,person
    llm_prices_file: Path | None = None  # USD per million tokens per model (default: evals/prices.yaml)
    llm_team_budgets: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)  # "HR=50,IT=20" USD/month

    # Audit chain key (HMAC); kept outside the database. Required in production; development falls back
    # to a public key, so a dev chain is tamper-evident only against accidents.
    audit_key: SecretStr | None = None
    audit_anchor_file: Path | None = None  # default: $DESKHAND_DATA_DIR/audit-anchor.jsonl
    # How often each `serve` process finishes inbox events that a dead process accepted but never answered.
    sweep_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Work left unfinished longer than this (its process presumably died) is taken over by recovery:
    # an inbox event or a started execution. Keep it above the longest turn or tool call.
    recovery_lease_seconds: float = Field(default=120.0, gt=0, le=86400)
    # An approved request not started after this is re-driven (a live process starts it in milliseconds).
    recovery_grace_seconds: float = Field(default=30.0, gt=0, le=86400)
    # Crash tests only (bench/chaos.py): comma-separated points where work parks so it can be killed there.
    fault_points: str = ""

    # Provisioning directory (SCIM 2.0). Unset = the embedded in-memory SCIM server.
    scim_url: str | None = None
    scim_token: SecretStr | None = None

    # Shared infrastructure under their usual names.
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL"))
    sentry_dsn: SecretStr | None = Field(default=None, validation_alias=AliasChoices("SENTRY_DSN"))
    port: int = Field(default=3000, ge=1, le=65535, validation_alias=AliasChoices("PORT"))

    # Operations: background jobs, logs, metrics (see README "Running in production").
    reminder_before_minutes: int = Field(default=60, ge=0, le=60 * 24 * 7)  # 0 = no reminders
    escalation_group: str | None = None  # its active members become approvers when too few are reachable
    index_build_cron: str | None = None  # e.g. "0 3 * * *"; unset = no scheduled index build
    job_sweep_seconds: int = Field(default=10, ge=1, le=59)  # safety-net sweeps for overdue work
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, le=300)  # a job is stalled after 3 missed beats
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")  # auto: JSON unless a terminal
    metrics_enabled: bool = True
    # OpenTelemetry traces (the `otel` extra) under the standard OTLP variables: on when an endpoint is set.
    otlp_endpoint: str | None = Field(default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"))
    otlp_traces_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )  # used as is; the generic endpoint above gets /v1/traces appended
    otel_service_name: str = Field(default="deskhand", min_length=1, validation_alias=AliasChoices("OTEL_SERVICE_NAME"))
    otel_sdk_disabled: bool = Field(default=False, validation_alias=AliasChoices("OTEL_SDK_DISABLED"))
    trace_export_timeout_seconds: float = Field(default=5.0, gt=0, le=60)  # one export request, retries included

    slack: SlackSettings = Field(default_factory=SlackSettings)
    teams: TeamsSettings = Field(default_factory=TeamsSettings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value  # "info" is as good as "INFO"

    @field_validator("source_urls", mode="before")
    @classmethod
    def _parse_source_urls(cls, value: Any) -> Any:
        if isinstance(value, str):  # "handbook=https://handbook.example.com/,wiki=https://…"
            from knowledge.urls import parse_source_urls

            return parse_source_urls(value)
        return value

    @field_validator("knowledge_dir", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [Path(p) for p in value.split(":") if p]
        return value

    @field_validator("llm_send_unmasked", mode="before")
    @classmethod
    def _split_kinds(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [k.strip().lower() for k in value.split(",") if k.strip()]
        known = {"email", "phone", "iban", "account", "person"}
        if any(k not in known for k in value):
            raise ValueError(f"each entry must be one of {', '.join(sorted(known))}")
        return value

    @field_validator("llm_team_budgets", mode="before")
    @classmethod
    def _parse_budgets(cls, value: Any) -> Any:
        if isinstance(value, str):  # "Accounts Payable=50, IT=20"
            pairs = [p.rsplit("=", 1) for p in value.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("must be TEAM=USD pairs separated by commas")
            return {team.strip(): amount.strip() for team, amount in pairs}
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @field_validator("otlp_endpoint", "otlp_traces_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (Deskhand exports traces over OTLP/HTTP)")
        return value or None

    @field_validator("index_build_cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value:
            from croniter import croniter

            if not croniter.is_valid(value):
                raise ValueError("must be a cron line such as '0 3 * * *'")
        return value or None

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.env is Environment.production and self.teams.insecure_no_auth:
            raise ValueError("DESKHAND_TEAMS_INSECURE_NO_AUTH=true is refused when DESKHAND_ENV=production")
        if self.env is Environment.production and self.audit_key is None:
            raise ValueError(
                "DESKHAND_AUDIT_KEY is required when DESKHAND_ENV=production (a long random secret kept "
                "outside the database, e.g. `openssl rand -hex 32`)"
            )
        if self.env is Environment.production and self.fault_points:
            raise ValueError("DESKHAND_FAULT_POINTS is for crash tests and refused when DESKHAND_ENV=production")
        if self.audit_key is not None and len(self.audit_key.get_secret_value()) < 16:
            raise ValueError("DESKHAND_AUDIT_KEY must be at least 16 characters")
        return self

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
        # The Slack channel is built with its signing secret in HTTP and in Socket Mode alike: without it
        # Slack would silently stay off.
        if self.slack.bot_token is not None and self.slack.signing_secret is None:
            raise ValueError(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: set the signing secret (Basic "
                "Information page of the Slack app; Socket Mode needs it too), or unset the token"
            )
        return self

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir or self.data_dir / "index"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'deskhand.db').resolve()}"

    @property
    def audit_key_bytes(self) -> bytes | None:
        """The audit HMAC key, or None for the development key."""
        return self.audit_key.get_secret_value().encode("utf-8") if self.audit_key else None

    @property
    def resolved_audit_anchor_file(self) -> Path:
        return self.audit_anchor_file or self.data_dir / "audit-anchor.jsonl"

    @property
    def traces_endpoint(self) -> str | None:
        """Where spans go (OTLP/HTTP), or None when tracing is off."""
        if self.otel_sdk_disabled:
            return None
        if self.otlp_traces_endpoint:
            return self.otlp_traces_endpoint
        if self.otlp_endpoint:
            return self.otlp_endpoint.rstrip("/") + "/v1/traces"
        return None

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "checkpoints.sqlite"


def offline_runtime() -> None:
    """Nothing may download models at run time, nor draw progress bars: tell the Hugging Face libraries
    so, process-wide."""
    quiet = (("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TRANSFORMERS_VERBOSITY", "error"))  # no tqdm bars
    offline = (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false"))
    for name, value in (*offline, *quiet):
        os.environ.setdefault(name, value)


class SettingsError(Exception):
    """A setting is missing or invalid; the message names the setting, never its value."""


def known_variables() -> set[str]:
    """Every variable a Deskhand setting reads (derived from the model, so new settings count)."""
    names = {"DESKHAND_TEAMS_INSECURE_NO_AUTH"}
    for name, info in Settings.model_fields.items():
        if name in ("slack", "teams"):
            continue
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice) for choice in alias.choices}
        else:
            names.add("DESKHAND_" + name.upper())
    return names


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each `DESKHAND_*` name no setting reads, naming the closest valid one."""
    return report_unknown(environ, known_variables())


def _dotenv_names() -> dict[str, str]:
    path = Path(".env")
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # python-dotenv: what pydantic-settings reads .env with

    return {k: v or "" for k, v in dotenv_values(path, encoding="utf-8").items()}


_WARNED: set[str] = set()


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise SettingsError naming each bad setting (no values)."""
    try:
        settings = Settings(**overrides)
        names = {**_dotenv_names(), **os.environ}
    except UnicodeDecodeError:
        raise SettingsError(".env is not UTF-8 text: save it as UTF-8 (or remove it)") from None
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False):
            name, message = env_name(tuple(err["loc"])), str(err["msg"]).removeprefix("Value error, ")
            lines.append(message if name == "configuration" else f"{name}: {message}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    for warning in unknown_variables(names):
        if warning not in _WARNED:  # the CLI reads the settings more than once: warn once per process
            _WARNED.add(warning)
            log.warning("%s", warning)
    return settings
