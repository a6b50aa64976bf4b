"""Name → factory registry: ``get("rand_k", k=3)``, ``names()``, and a ``catalog(d, n)`` of
class constants for ``jcomp list compressors``."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping

from ._base import Compressor
from ._basic import identity, rand_k
from ._combinators import compose, induced, scaled
from ._correlated import cq, iq
from ._iscc import iscc
from ._natural import natural
from ._permk import perm_k
from ._permk_cq import perm_k_cq
from ._projections import core, sketch
from ._quantizers import bernoulli, dithering, natural_dithering, ternary
from ._rotations import drive
from ._smoothness_aware import block_quant, rand_tau, varying_step
from ._sparsifiers import same_rand_k, top_k

__all__ = ["catalog", "example_compressors", "get", "names", "register_factory"]

_FACTORIES: dict[str, Callable[..., Compressor]] = {}


def register_factory(name: str, factory: Callable[..., Compressor] | None = None):
    """Register ``factory`` under ``name`` (usable as a decorator). Re-registering replaces."""

    def deco(f):
        _FACTORIES[name] = f
        return f

    return deco(factory) if factory is not None else deco


def names() -> list[str]:
    """The registered compressor names, sorted."""
    return sorted(_FACTORIES)


def _resolve(pname: str, spec) -> Compressor:
    """A compressor given as an object, a name, or a dict ``{"name": ..., **params}``."""
    if isinstance(spec, Compressor):
        return spec
    if isinstance(spec, str):
        return get(spec)
    if isinstance(spec, Mapping) and "name" in spec:
        params = dict(spec)
        return get(params.pop("name"), **params)
    raise ValueError(
        f"{pname}={spec!r} is not allowed: expected a Compressor, a registered name "
        f"({', '.join(names())}) or a dict with a 'name' key"
    )


def _compose(outer, inner) -> Compressor:
    return compose(_resolve("outer", outer), _resolve("inner", inner))


def get(name: str, **params) -> Compressor:
    """The compressor registered as ``name``, built with ``params``.

    ``compose`` takes ``outer`` and ``inner`` as compressors, names or dicts
    (``{"name": "rand_k", "k": 3}``), so ``get(**c.describe()) == c`` for every compressor ``c``.
    ``float_bits`` (bits per float, default 32) is accepted by every compressor.
    """
    if name not in _FACTORIES:
        raise ValueError(
            f"get: name={name!r} is not a known compressor; known names: {', '.join(names())}"
        )
    factory = _FACTORIES[name]
    float_bits = params.pop("float_bits", None)
    sig = inspect.signature(factory)
    allowed = [p for p in sig.parameters if p != "self"]
    unknown = [p for p in params if p not in sig.parameters]
    if unknown:
        raise ValueError(
            f"get: parameter {unknown[0]!r} is not accepted by compressor {name!r}; "
            f"allowed parameters: {', '.join(allowed + ['float_bits']) or '(none)'}"
        )
    missing = [
        p.name
        for p in sig.parameters.values()
        if p.default is inspect.Parameter.empty and p.name not in params
    ]
    if missing:
        raise ValueError(f"get: compressor {name!r} requires parameter {missing[0]!r}")
    comp = factory(**params)
    if float_bits is not None and float_bits != comp.float_bits:
        if isinstance(float_bits, bool) or not isinstance(float_bits, int) or float_bits < 1:
            raise ValueError(
                f"get: float_bits={float_bits!r} is not allowed: expected a positive integer"
            )
        comp = dataclasses.replace(comp, float_bits=float_bits)
    return comp


register_factory("identity", identity)
register_factory("rand_k", rand_k)
register_factory("top_k", top_k)
register_factory("same_rand_k", same_rand_k)
register_factory("perm_k", perm_k)
register_factory("natural", natural)
register_factory("compose", _compose)
register_factory("bernoulli", bernoulli)
register_factory("dithering", dithering)
register_factory("ternary", ternary)
register_factory("natural_dithering", natural_dithering)
register_factory("iq", iq)
register_factory("cq", cq)

register_factory("perm_k_cq", perm_k_cq)


@register_factory("induced")
def _induced(C, Q) -> Compressor:
    return induced(_resolve("C", C), _resolve("Q", Q))


@register_factory("scaled")
def _scaled(C, omega=None) -> Compressor:
    return scaled(_resolve("C", C), omega)


@register_factory("iscc")
def _iscc(base, weights=None, tau=1) -> Compressor:
    return iscc(_resolve("base", base), weights, tau)


register_factory("drive", drive)
register_factory("core", core)
register_factory("sketch", sketch)
register_factory("varying_step", varying_step)
register_factory("block_quant", block_quant)
register_factory("rand_tau", rand_tau)


def _catalog_params(name: str, d: int, n: int, k: int) -> dict:
    """Parameters the catalog shows for compressors that need some."""
    blocks = max(1, min(n, d))
    return {
        "bernoulli": {"p": 0.5},
        "dithering": {"s": 4},
        "natural_dithering": {"s": 4},
        "varying_step": {"h": (d**-0.5,) * d},
        "block_quant": {"h_blocks": (1.0,) * blocks, "blocks": blocks},
        "rand_tau": {"probs": (k / d,) * d},
        "core": {"m": k},
        "sketch": {"p": k},
    }.get(name, {})


def _class_label(c: Compressor, d: int, n: int) -> str:
    parts = []
    w, dl = c.omega(d, n), c.delta(d)
    if w is not None:
        parts.append(f"U({w:.6g})")
    if dl is not None:
        parts.append(f"B({dl:.6g})")
    th = c.theta(d, n)
    if th is not None:
        parts.append(f"P({th:.6g})")
    ab = c.ab(d, n)
    if ab is not None:
        parts.append(f"AB({ab[0]:.6g}, {ab[1]:.6g})")
    return " ∩ ".join(parts) if parts else "-"


def example_compressors(d: int, n: int, k: int | None = None) -> list[Compressor]:
    """One instance of every registered compressor for a catalog: ``k = max(1, ⌊d/n⌋)``
    (seed 004's K for PermK comparisons) unless given; compose is shown as PermK∘C_nat and
    RandK∘C_nat (``compose(natural(), X)``)."""
    k = max(1, d // n) if k is None else k
    out = []
    for name in names():
        if name in ("rand_k", "top_k", "same_rand_k"):
            out.append(get(name, k=k))
        elif name == "induced":
            out.append(get("induced", C={"name": "top_k", "k": k}, Q={"name": "rand_k", "k": k}))
        elif name == "scaled":
            out.append(get("scaled", C={"name": "rand_k", "k": k}))
        elif name == "iscc":
            out.append(get("iscc", base="natural"))
        elif name == "drive":  # both rotations
            out.extend(get("drive", rotation=r) for r in ("hadamard", "haar"))
        elif name == "sketch":  # contractive and unbiased forms
            out.extend(get("sketch", p=k, unbiased=u) for u in (False, True))
        elif name == "bernoulli":  # biased and unbiased
            out.extend(get("bernoulli", p=0.5, unbiased=u) for u in (False, True))
        elif name == "compose":
            out.append(get("compose", outer="natural", inner="perm_k"))
            out.append(get("compose", outer="natural", inner={"name": "rand_k", "k": k}))
        else:
            try:
                out.append(get(name, **_catalog_params(name, d, n, k)))
            except ValueError:  # needs parameters this catalog does not know how to choose
                continue
    return out


def _short(v) -> str:
    """A parameter for a label: long tuples (per-coordinate steps, probabilities) summarized."""
    if isinstance(v, Mapping) and "name" in v:  # a nested compressor's describe()
        inner = [f"{k}={_short(x)}" for k, x in v.items() if k not in ("name", "float_bits")]
        return f"{v['name']}({', '.join(inner)})"
    if isinstance(v, tuple) and len(v) > 4:
        lo, hi = min(v), max(v)
        return f"[{len(v)} values {lo:.3g}]" if lo == hi else f"[{len(v)} in {lo:.3g}..{hi:.3g}]"
    return str(v)


def _label(c: Compressor) -> str:
    desc = c.describe()
    if desc["name"] == "compose":
        return f"{_label(c.outer)}∘{_label(c.inner)}"  # type: ignore[attr-defined]
    params = [f"{k}={_short(v)}" for k, v in desc.items() if k not in ("name", "float_bits")]
    return f"{desc['name']}({', '.join(params)})"


def catalog(
    d: int, n: int, compressors: Iterable[Compressor] | None = None, k: int | None = None
) -> list[dict]:
    """Class constants of each compressor for dimension ``d`` and ``n`` workers.

    One dict per compressor (default: :func:`example_compressors`) with ``label``, ``params``
    (``describe()``), ``class`` (e.g. ``"U(3) ∩ P(1) ∩ AB(1, 0)"``), ``unbiased``,
    ``independent``, ``omega``, ``delta``, ``theta``, ``ab`` and ``expected_cost``
    ``(bits, bits_noidx, coords)`` per worker message; ``None`` where a class does not apply.
    """
    comps = example_compressors(d, n, k) if compressors is None else list(compressors)
    rows = []
    for c in comps:
        c.validate(d, n)
        rows.append(
            {
                "label": _label(c),
                "params": c.describe(),
                "class": _class_label(c, d, n),
                "unbiased": bool(c.unbiased),
                "independent": bool(c.independent),
                "omega": c.omega(d, n),
                "delta": c.delta(d),
                "theta": c.theta(d, n),
                "ab": c.ab(d, n),
                "expected_cost": _expected_cost(c, d, n),
            }
        )
    return rows


def _expected_cost(c: Compressor, d: int, n: int) -> tuple[float, float, float] | None:
    """Expected (bits, bits_noidx, coords) per message; None where data dependent."""
    try:
        return tuple(float(v) for v in c.expected_cost(d, n))
    except NotImplementedError:
        return None
