"""Type hints of the Rust extension `gdscope._native` (see `gdscope/__init__.py` for the
friendly API built on it)."""

from typing import Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

class GdscopeError(Exception):
    """An error reported by gdscope; the message names the problem and the fix."""

Float64Vector = npt.NDArray[np.float64]
Float64Matrix = npt.NDArray[np.float64]

class Network:
    """A network loss L(w) on a data set with gdscope's exact derivatives
    (`gdscope_nn::NetworkObjective` through the `Objective` trait). Every method takes and
    returns float64 NumPy arrays; `dtype="f32"` computes in single precision inside.

    Args:
        spec: model spec, e.g. ``"mlp:20-64-4:gelu-tanh"`` (see `gdscope probe --help`).
        data: a data spec string as on the command line (``"synthetic-linear:n=200,d=20,k=4"``,
            ``"npz:data.npz"``, ``"cifar10:/data/cifar:n=1000"``) or a pair ``(x, y)``: x of
            shape [n, d] float64, y of shape [n, k] float64 targets or [n] integer labels
            (one-hot encoded).
        loss: ``"mse"`` (½‖f − y‖², averaged) or ``"ce"`` (softmax cross-entropy, averaged).
        dtype: ``"f64"`` (default) or ``"f32"``.
    """

    def __init__(
        self,
        spec: str,
        data: Union[str, Tuple[npt.ArrayLike, npt.ArrayLike]],
        loss: str = "mse",
        dtype: str = "f64",
    ) -> None: ...
    @property
    def dim(self) -> int:
        """Number of parameters P (flat layout: per layer the weight fan_in × fan_out row-major, then the bias)."""
    @property
    def num_examples(self) -> int:
        """Number of examples n."""
    @property
    def spec(self) -> str:
        """The model spec."""
    def init(self, seed: int = 0, scheme: str = "lecun") -> Float64Vector:
        """Seeded initial parameters (``lecun``, ``he`` or ``xavier`` normal; biases zero)."""
    def value(self, w: Float64Vector) -> float:
        """L(w)."""
    def value_grad(self, w: Float64Vector) -> Tuple[float, Float64Vector]:
        """(L(w), ∇L(w))."""
    def hvp(self, w: Float64Vector, v: Float64Vector) -> Float64Vector:
        """∇²L(w)·v."""
    def block_hvp(self, w: Float64Vector, vs: Float64Matrix) -> Float64Matrix:
        """∇²L(w)·V for the columns of V (shape [P, m]), in one stacked pass."""
    def third_order(self, w: Float64Vector, u: Float64Vector, v: Float64Vector) -> Float64Vector:
        """∇_w(uᵀ∇²L(w)v)."""

def train(config_json: str, out: str, overrides: list[str], overwrite: bool, progress: bool) -> str: ...
def fork(
    parent: str, out: str, at_step: Optional[int], overrides: list[str], overwrite: bool, progress: bool
) -> str: ...
def sweep(
    config_json: str,
    out: str,
    overrides: list[str],
    grid: list[str],
    zip: list[str],
    backend: str,
    workers: Optional[int],
    threads_per_worker: Optional[int],
    slurm_json: str,
    dry_run: bool,
    progress: bool,
    member_command: list[str],
    fork_from: Optional[str] = None,
    at_step: Optional[int] = None,
) -> str: ...
def analyze(
    command: str, spec_json: str, out: Optional[str] = None, overwrite: bool = False
) -> str: ...
def run_sweep_member(dir: str, index: int) -> str: ...
def sweep_status_json(dir: str) -> str: ...
def collect_sweep(
    dir: str,
    figures: bool,
    metric: Optional[str] = None,
    summary_field: Optional[str] = None,
    vs: Optional[str] = None,
) -> list[str]: ...
