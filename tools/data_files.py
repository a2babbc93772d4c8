"""Reading the documented YAML data files (sample directory and ledger) into validated models."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, EmailStr, ValidationError

from tools.yaml_text import parse_yaml

ModelT = TypeVar("ModelT", bound=BaseModel)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# A directory e-mail: validated as SCIM servers validate User.emails (pydantic EmailStr), lower-cased.
WorkEmail = Annotated[EmailStr, AfterValidator(str.lower)]


class SampleDataError(Exception):
    """A data file is missing or invalid; the message names the file and the field at fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse `path` as YAML and validate it against `model`, with errors that point into the file."""
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SampleDataError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SampleDataError(f"{path}: not valid YAML{where}") from None
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False)[:10]:
            loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"  {loc.replace('.[', '[')}: {message}" if loc else f"  {message}")
        raise SampleDataError(f"{path}: invalid data\n" + "\n".join(lines)) from None


def file_digest(path: Path) -> str:
    """A short content digest, so a store can tell which data file it was seeded from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
