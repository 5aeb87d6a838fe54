"""Exact decimal numbers for the domain: floats refused, one arithmetic context, fixed-point JSON."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, Overflow
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# Every sum and product in the domain runs in this context rather than the thread's current one:
# a Lambda handler or library could change `decimal.getcontext()`, and 28 digits (the default) can
# silently round a product of two long decimals. 60 significant digits hold any invoice figure
# exactly; overflow and invalid operations raise instead of producing Infinity or NaN.
CONTEXT = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])


def exact(value: object, *, what: str = "value") -> Decimal:
    """`value` as a Decimal, refusing floats (binary fractions cannot hold 0.10 exactly)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a Decimal, int or numeric string, not bool ({value!r})")
    if isinstance(value, float):
        raise TypeError(
            f"{what} must be a Decimal, int or numeric string, not float ({value!r}): "
            "a float cannot hold most decimal fractions exactly; pass a string such as '12.30'"
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what} must be a decimal number, got {value!r}") from None
    else:
        raise TypeError(
            f"{what} must be a Decimal, int or numeric string, not {type(value).__name__} ({value!r})"
        )
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def _validate(value: Any) -> Decimal:
    # pydantic turns ValueError (not TypeError) into a ValidationError that names the field.
    try:
        return exact(value)
    except TypeError as error:
        raise ValueError(str(error)) from None


def fixed_point(value: Decimal) -> str:
    """`value` as a plain decimal string ('1000.50', never '1.0005E+3')."""
    return format(value, "f")


ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_validate),
    PlainSerializer(fixed_point, return_type=str, when_used="json"),
]
"""A Decimal field: accepts Decimal, int or numeric string; refuses float; JSON is a fixed-point string."""
