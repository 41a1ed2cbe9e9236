"""What the verifier's tests share: the deadline of their verifiers and two inputs with a known cost.

The `verifier` fixture (tests/conftest.py) is a `MathVerifier` with two warm workers and this `TIMEOUT_S`.
"""

from __future__ import annotations

TIMEOUT_S = 2.0
SLOW = ("x^2+2x+1", r"\boxed{(x+1)^2}")  # needs math-verify (not decidable by the fast path)
TOWER = r"\boxed{\dfrac{5^{(5^{(5^{(5^5)})}-4)}-5}{16}}"  # math-verify hangs on it (Math-Verify #65)
