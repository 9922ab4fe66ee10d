"""The base of every Zoom model, and how bad input becomes an error a person can act on."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from prefect_zoom.exceptions import ZoomInputError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ZoomModel(BaseModel):
    """A Zoom object: known fields typed, Zoom's other fields kept as they came."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_zoom(self) -> dict[str, Any]:
        """The JSON body Zoom expects: no unset or empty fields, dates in Zoom's form."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


def input_error(error: ValidationError, *, prefix: str = "") -> ZoomInputError:
    """Turn pydantic's first complaint into a ZoomInputError naming the field and the rule."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()) if part != "__root__")
    field = ".".join(part for part in (prefix, location) if part) or prefix or "input"
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    return ZoomInputError(field, message, "Fix this value; nothing was sent to Zoom.")


def parse_input(model: type[ModelT], data: Any, *, prefix: str = "") -> ModelT:
    """Validate input for a request before it leaves; raise ZoomInputError when it is wrong."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise input_error(error, prefix=prefix) from None
