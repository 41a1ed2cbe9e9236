"""Settings as pydantic models, and the one way their validation errors are told to a user.

A command's options, a run's settings and a file's records are validated by pydantic; `describe_errors` turns
a `ValidationError` into one line that names each bad field (as a ``--flag`` for command-line options) and
what is accepted. `Settings` is the base of every options model: unknown fields are errors, values are frozen,
and `Settings.parse` raises a `ConfigError` worded for the command line.

Example:
    >>> from pydantic import Field
    >>> class Options(Settings):
    ...     samples: int = Field(default=1, ge=1, description="completions per problem")
    >>> Options.parse(samples=0)
    Traceback (most recent call last):
    ...
    permix_plugins.errors.ConfigError: invalid option --samples: Input should be greater than or equal to 1 (got 0)
    >>> Options.parse(sample=2)
    Traceback (most recent call last):
    ...
    permix_plugins.errors.ConfigError: unknown option --sample
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from permix_plugins.errors import ConfigError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Settings", "describe_errors", "flag_name", "optional_field", "reworded"]

_MAX_INPUT = 80  # characters of a bad value quoted in a message


class Settings(BaseModel):
    """Base of the options models: unknown fields are errors and a validated object does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def default_text(cls, name: str) -> str | None:
        """How help texts show the default of field `name` (None: nothing to show).

        Example:
            >>> class Options(Settings):
            ...     samples: int = 1
            >>> Options.default_text("samples")
            'default 1'
        """
        default = cls.model_fields[name].default
        if default is None or default is PydanticUndefined or isinstance(default, bool):
            return None
        return f"default {default}"

    @classmethod
    def parse(cls, **options: Any) -> Self:
        """Validate `options`; a bad one raises `ConfigError` naming its ``--flag`` and what is accepted."""
        try:
            return cls(**options)
        except ValidationError as exc:
            raise ConfigError(describe_errors(exc, style="flag")) from None


def reworded(field: FieldInfo, description: str) -> Any:
    """`field` (its default and constraints) with the help text `description`, for an option that tells the same
    setting in its command's words.

    Example:
        >>> from pydantic import Field
        >>> reworded(Field(1, ge=1, description="copies"), "copies of the data").metadata
        [Ge(ge=1)]
    """
    return FieldInfo.merge_field_infos(field, description=description)


def optional_field(field: FieldInfo, *, description: str | None = None) -> Any:
    """`field` (its constraints, and its text unless `description` is given) with the default None: a setting
    that, unset, follows another value (``--test-personas`` follows ``--personas``).

    Example:
        >>> from pydantic import Field
        >>> class Mixing(Settings):
        ...     share: float = Field(0.5, ge=0, le=1, description="persona share")
        >>> class Options(Settings):
        ...     test_share: float | None = optional_field(Mixing.model_fields["share"], description="test share")
        >>> Options.parse().test_share is None
        True
        >>> Options.parse(test_share=2)
        Traceback (most recent call last):
        ...
        permix_plugins.errors.ConfigError: invalid option --test-share: Input should be less than or equal to 1 (got 2)
    """
    return FieldInfo.merge_field_infos(field, default=None, description=description or field.description)


def flag_name(field: str) -> str:
    """The command-line flag of a settings field.

    Example:
        >>> flag_name("max_new_tokens")
        '--max-new-tokens'
    """
    return "--" + field.replace("_", "-")


def describe_errors(
    exc: ValidationError,
    *,
    style: Literal["field", "flag"] = "field",
    where: str = "",
    model: type[BaseModel] | None = None,
    names: Mapping[str, str] | None = None,
    limit: int = 5,
) -> str:
    """The problems of `exc`, ``; ``-separated, each naming its field and what is accepted.

    A field is named by its path under `where` (``data.permix.seed``), by its ``--flag`` with the ``flag`` style,
    or as `names` says (``environment variable PERMIX_VERIFY_TIMEOUT``). A field of `model` whose
    ``json_schema_extra`` has ``accepted`` is told as "<name> must be <accepted>, got <value>"; an unknown field
    lists the fields `model` accepts there; a rule about several fields together gives its own message.

    Example:
        >>> from pydantic import TypeAdapter
        >>> try:
        ...     TypeAdapter(dict[str, int]).validate_python({"a": "x"})
        ... except ValidationError as exc:
        ...     print(describe_errors(exc, where="data"))
        data.a='x': Input should be a valid integer, unable to parse string as an integer
    """
    problems = [_describe_error(error, style, where, model, names or {}) for error in exc.errors()[:limit]]
    if exc.error_count() > limit:
        problems.append(f"and {exc.error_count() - limit} more problem(s)")
    return "; ".join(problems)


def _describe_error(
    error: Mapping[str, Any], style: str, where: str, model: type[BaseModel] | None, names: Mapping[str, str]
) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    loc = [str(part) for part in error["loc"]]
    flags = style == "flag"
    if not loc:  # a model validator: about the fields together, its message names them
        return f"invalid options: {message}" if flags else (f"{where}: {message}" if where else message)
    name = flag_name(loc[0]) if flags else names.get(loc[0]) or ".".join(filter(None, [where, *loc]))
    if error["type"] == "extra_forbidden":
        if flags:
            return f"unknown option {name}"
        accepted = f"; accepted: {', '.join(_model_at(model, loc[:-1]).model_fields)}" if model else ""
        return f"{name}: unknown setting{accepted}"
    field = model.model_fields.get(loc[0]) if model is not None and len(loc) == 1 else None
    extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
    if "accepted" in extra:
        return f"{name} must be {extra['accepted']}, got {_short(error['input'])}"
    if flags:
        name = f"invalid option {name}"
        if error["type"] == "literal_error":
            return f"{name}: {_short(error['input'])} is not one of {error['ctx']['expected']}"
        if error["type"] in ("missing", "value_error"):
            return f"{name}: {message}"
        return f"{name}: {message} (got {_short(error['input'])})"
    if error["type"] == "missing" or isinstance(error["input"], Mapping):  # a nested model's own rule
        return f"{name}: {message}"
    return f"{name}={_short(error['input'])}: {message}"


def _model_at(model: type[BaseModel], path: Sequence[str]) -> type[BaseModel]:
    """The (nested) model at `path` of `model`, for the list of accepted names."""
    for part in path:
        field = model.model_fields.get(part)
        kinds = (field.annotation, *get_args(field.annotation)) if field else ()
        model = next((k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)), model)
    return model


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT else text[: _MAX_INPUT - 3] + "..."
