"""Registry, catalog, and bad input: every error names the parameter and its value."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from jcomp import compressors as C

EXPECTED_NAMES = {"identity", "rand_k", "top_k", "same_rand_k", "perm_k", "natural", "compose"}


def test_names():
    assert set(C.names()) >= EXPECTED_NAMES
    assert C.names() == sorted(C.names())


def test_get_builds_the_factories():
    assert C.get("identity") == C.identity()
    assert C.get("rand_k", k=3) == C.rand_k(3)
    assert C.get("top_k", k=2) == C.top_k(2)
    assert C.get("same_rand_k", k=2) == C.same_rand_k(2)
    assert C.get("perm_k") == C.perm_k()
    assert C.get("natural") == C.natural()
    nat_perm = C.compose(C.natural(), C.perm_k())
    assert C.get("compose", outer="natural", inner="perm_k") == nat_perm
    assert C.get("compose", outer=C.natural(), inner={"name": "rand_k", "k": 3}) == C.compose(
        C.natural(), C.rand_k(3)
    )


@pytest.mark.parametrize(
    "comp",
    [
        C.identity(),
        C.rand_k(3),
        C.top_k(2),
        C.same_rand_k(2, scaled=False),
        C.perm_k(),
        C.natural(),
        C.compose(C.natural(), C.rand_k(3)),
        C.compose(C.natural(), C.compose(C.identity(), C.perm_k())),
    ],
    ids=lambda c: c.name,
)
def test_describe_round_trips(comp):
    desc = comp.describe()
    assert desc["name"] == comp.name
    assert C.get(**desc) == comp
    assert hash(C.get(**desc)) == hash(comp)


def test_catalog():
    rows = C.catalog(12, 5)
    labels = [r["label"] for r in rows]
    assert {r["params"]["name"] for r in rows} >= EXPECTED_NAMES
    perm = rows[labels.index("perm_k()")]
    assert perm["omega"] == 4 and perm["theta"] == 0 and perm["ab"] == (1, 1)
    assert perm["class"].startswith("U(4)") and not perm["independent"]
    top = rows[labels.index("top_k(k=2)")]
    assert top["delta"] == pytest.approx(2 / 12) and top["omega"] is None and not top["unbiased"]
    nat_perm = rows[labels.index("natural()∘perm_k()")]
    assert nat_perm["theta"] == pytest.approx(1 / 8)
    assert nat_perm["omega"] == pytest.approx(9 * 5 / 8 - 1)
    small = C.catalog(4, 10, compressors=[C.perm_k()])
    assert small[0]["ab"] == pytest.approx((8 / 18, 8 / 18))
    assert small[0]["expected_cost"] == pytest.approx((32 * 8 / 10, 32 * 8 / 10, 0.8))


# ---- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [C.rand_k, C.top_k, C.same_rand_k])
@pytest.mark.parametrize("k", [0, -1, 2.5, "3"])
def test_bad_k_at_construction(factory, k):
    with pytest.raises(ValueError, match=rf"k={k!r}|k={k}"):
        factory(k)


@pytest.mark.parametrize("factory", [C.rand_k, C.top_k, C.same_rand_k])
def test_k_larger_than_d_at_call(factory):
    X = jnp.ones((2, 300))
    with pytest.raises(ValueError, match=r"k=400 .*\[1, 300\]"):
        factory(400)(jax.random.key(0), X)
    with pytest.raises(ValueError, match="k=400"):
        C.compose(C.natural(), factory(400))(jax.random.key(0), X)


@pytest.mark.parametrize("comp", [C.identity(), C.perm_k(), C.natural(), C.rand_k(1)])
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), ()])
def test_x_must_be_2d(comp, shape):
    with pytest.raises(ValueError, match=r"X must have shape \(n, d\)") as e:
        comp(jax.random.key(0), jnp.ones(shape))
    assert str(shape) in str(e.value)


def test_unknown_name():
    with pytest.raises(ValueError, match=r"name='randk'.*rand_k") as e:
        C.get("randk", k=3)
    for name in EXPECTED_NAMES:
        assert name in str(e.value)


def test_bad_params_via_get():
    with pytest.raises(ValueError, match="'kk'"):
        C.get("rand_k", k=3, kk=1)
    with pytest.raises(ValueError, match="requires parameter 'k'"):
        C.get("top_k")
    with pytest.raises(ValueError, match="float_bits=0"):
        C.get("rand_k", k=3, float_bits=0)


def test_compose_outer_must_be_elementwise():
    with pytest.raises(ValueError, match="outer=rand_k"):
        C.compose(C.rand_k(3), C.natural())
    with pytest.raises(ValueError, match="outer=perm_k"):
        C.get("compose", outer="perm_k", inner="natural")
    with pytest.raises(ValueError, match="inner="):
        C.compose(C.natural(), "rand_k")
    with pytest.raises(ValueError, match="outer="):
        C.get("compose", outer=3, inner="perm_k")


def test_same_rand_k_scaled_must_be_bool():
    with pytest.raises(ValueError, match="scaled='yes'"):
        C.same_rand_k(3, scaled="yes")
