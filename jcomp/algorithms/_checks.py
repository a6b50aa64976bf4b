"""Argument checks shared by the algorithm factories (run on the host, before any tracing)."""

from __future__ import annotations

from ..compressors._base import Compressor

__all__ = [
    "check_compressor",
    "check_contractive",
    "check_unit_interval",
    "compressor_name",
    "require",
]


def compressor_name(compressor) -> str:
    """A readable name of a compressor (its ``describe()`` when available)."""
    try:
        return repr(compressor.describe())
    except Exception:  # noqa: BLE001 - best effort for error messages only
        return repr(compressor)


def check_compressor(compressor, where: str, *, unbiased: bool = False, name: str = "compressor"):
    """Reject a non-Compressor, and a biased one where the method needs ``U(ω)``."""
    if not isinstance(compressor, Compressor):
        raise TypeError(
            f"{where}{name}={compressor!r} is not allowed: expected a jcomp Compressor "
            "(e.g. jcomp.compressors.rand_k(k))"
        )
    if unbiased and not compressor.unbiased:
        raise ValueError(
            f"{where}{name}={compressor_name(compressor)} is not allowed: this method needs an "
            "unbiased compressor (class U(ω)), e.g. identity(), rand_k(k), perm_k()"
        )
    return compressor


_PROBE_D = 1 << 20


def check_contractive(compressor, where: str, d: int | None = None, name: str = "compressor"):
    """Reject a compressor that is not contractive (no ``B(δ)`` constant ``delta(d)``).

    In a factory (``d`` unknown) the compressor is probed at a large dimension: a class without
    ``delta``, or one whose ``delta`` is ``None`` there (e.g. RandK, scaled SameRandK, a
    composition with a non-identity outer), is rejected before any tracing. With ``d`` (in
    ``init``/``step``/theory, where the problem is known) ``delta(d)`` itself must exist.
    """
    check_compressor(compressor, where, name=name)
    defines_delta = type(compressor).delta is not Compressor.delta
    if not defines_delta:
        delta = None
    else:
        try:
            delta = compressor.delta(_PROBE_D if d is None else d)
        except Exception:  # noqa: BLE001 - a probe that cannot be evaluated defers to init
            delta = None if d is not None else 1.0
    if delta is None:
        dim = f" in dimension d={d}" if d is not None else ""
        raise ValueError(
            f"{where}{name}={compressor_name(compressor)} is not allowed: this method needs a "
            f"contractive compressor (class B(δ), compressor.delta(d) defined){dim}, e.g. "
            "top_k(k), same_rand_k(k, scaled=False) or identity(); an unbiased one becomes "
            "contractive when scaled by 1/(1+ω)"
        )
    return compressor


def check_unit_interval(value, name: str, where: str = "") -> None:
    """Reject a number outside (0, 1] (skipped for traced values)."""
    from ._base import check_probability

    check_probability(value, name=name, where=where)


def require(value, what: str, compressor, where: str) -> float:
    """``float(value)``, or a clear error when a compressor's theory constant is undefined."""
    if value is None:
        raise ValueError(
            f"{where}compressor={compressor_name(compressor)} does not define {what}, "
            "which this theory rule needs"
        )
    return float(value)
